//! How long the vendors keep what trail exports, and the warning for a period not yet
//! exported that is about to age out (see docs/evidence.md, "Retention").

use audit_core::StreamKind;
use chrono::{DateTime, TimeDelta, Utc};

/// How long a vendor keeps a stream's records, as the vendor documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Records older than this may no longer be readable.
    pub days: i64,
    /// What the vendor says.
    pub fact: &'static str,
    /// Where it says it.
    pub source: &'static str,
}

/// Warn this long before a period ages out (a quarter of the retention when that is
/// shorter: a week's notice for a 14-day reach would always be due).
pub const WARN_AHEAD: TimeDelta = TimeDelta::days(30);

/// What the vendor documents about how long `stream`'s records can be read; `None` when they
/// are kept indefinitely.
pub fn retention(stream: StreamKind) -> Option<Retention> {
    match stream {
        StreamKind::GenesysAudits => Some(Retention {
            days: 365,
            fact: "Genesys Cloud: \"Audit trail data is available, at a minimum, for data that is \
                   less than one year old\"",
            source: "https://help.mypurecloud.com/?p=278459",
        }),
        StreamKind::GenesysRealtime => Some(Retention {
            days: 14,
            fact: "Genesys Cloud realtime audit queries reach 14 days back (older records: \
                   export genesys-audits)",
            source: "Platform API, POST /api/v2/audits/query/realtime",
        }),
        StreamKind::ZendeskTicketAudits => Some(Retention {
            days: 120,
            fact: "Zendesk archives tickets 120 days after they are closed, and \"archived \
                   tickets are not included\" in the ticket audits list",
            source: "https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/ \
                     and https://support.zendesk.com/hc/en-us/articles/203657756",
        }),
        // "Audit logs are kept indefinitely" (support.zendesk.com/hc/en-us/articles/4408828001434).
        StreamKind::ZendeskAuditLogs => None,
        // The incremental export starts at any `start_time` and includes archived tickets;
        // Zendesk documents no horizon for it.
        StreamKind::ZendeskTicketEvents => None,
        // A stream this version of trail does not know the vendor's retention of.
        _ => None,
    }
}

/// A warning when records of `stream` from `from` on, not yet exported, age out of the
/// vendor within [`WARN_AHEAD`] (or a quarter of the retention) of `now`, or already may have.
///
/// ```
/// use audit_core::StreamKind;
/// use chrono::{TimeDelta, Utc};
/// use audit_cli::evidence::retention::ageing_out;
/// let now = Utc::now();
/// let warning = ageing_out(StreamKind::GenesysAudits, now - TimeDelta::days(350), now).unwrap();
/// assert!(warning.contains("age out"), "{warning}");
/// assert!(ageing_out(StreamKind::GenesysAudits, now - TimeDelta::days(10), now).is_none());
/// assert!(ageing_out(StreamKind::ZendeskAuditLogs, now - TimeDelta::days(900), now).is_none());
/// ```
pub fn ageing_out(stream: StreamKind, from: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
    let retention = retention(stream)?;
    let ages_out = from + TimeDelta::days(retention.days);
    if ages_out - now > WARN_AHEAD.min(TimeDelta::days(retention.days) / 4) {
        return None;
    }
    let when = if ages_out <= now {
        format!("may have aged out since {}", show(ages_out))
    } else {
        format!("age out from {}", show(ages_out))
    };
    Some(format!(
        "{stream}: records from {} on are not exported yet and {when} ({}; {}): export them now",
        show(from),
        retention.fact,
        retention.source
    ))
}

fn show(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
