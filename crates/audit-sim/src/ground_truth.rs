//! Ground truth: the native ids a window of a stream holds, in the order the stream yields
//! them, with the bounds the API applies.
//!
//! | stream | order | bounds |
//! |---|---|---|
//! | [`Stream::ZendeskAuditLogs`] | `(created_at, id)` ascending (`sort=created_at`) | `since <= created_at <= until` (both `filter[created_at][]` bounds inclusive) |
//! | [`Stream::ZendeskTicketAudits`] | `(created_at, id)` descending, archived tickets left out (`/ticket_audits`) | both inclusive |
//! | [`Stream::ZendeskTicketAuditsOfTicket`] | ascending, one ticket (archived or not) | both inclusive |
//! | [`Stream::ZendeskTicketEvents`] | `(created_at, id)` ascending, archived tickets included (the incremental export) | both inclusive; not the last `zendesk.incremental_holdback_secs` before now |
//! | [`Stream::GenesysAudits`] | `(eventDate, id)` ascending | `since <= eventDate < until` (interval start inclusive, end exclusive) |
//! | [`Stream::GenesysRealtime`] | ascending, realtime services only, not older than `realtime_days` | as above |
//!
//! Only records visible at the time of the call (timestamp not after now) are included.
//!
//! No fault changes the ground truth: a record without a timestamp, out of order, huge or
//! undecodable is still in it, where the vendor keeps it. The one difference is the id of a
//! Zendesk record hit by `big_id`: it is named as the vendor writes it, the id plus 2^65 in
//! decimal (see [`crate::anomalies::native_id`]).

use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::anomalies::{RecordType, native_id};
use crate::genesys::{QuerySpec, matches};
use crate::paging::Selection;
use crate::server::Sim;

/// A stream whose ground truth can be asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    /// Zendesk audit logs.
    ZendeskAuditLogs,
    /// Zendesk ticket audits of the whole account (`/api/v2/ticket_audits`).
    ZendeskTicketAudits,
    /// The audits of one ticket (`/api/v2/tickets/{id}/audits`).
    ZendeskTicketAuditsOfTicket(i64),
    /// Every ticket update, archived tickets included (`/api/v2/incremental/ticket_events`).
    ZendeskTicketEvents,
    /// Genesys records of the asynchronous query, optionally of one service.
    GenesysAudits {
        /// `serviceName`, if any.
        service: Option<String>,
    },
    /// Genesys records of the realtime query, optionally of one service.
    GenesysRealtime {
        /// `serviceName`, if any.
        service: Option<String>,
    },
}

impl FromStr for Stream {
    type Err = String;

    /// `zendesk-audit-logs`, `zendesk-ticket-audits`, `zendesk-ticket:ID`,
    /// `genesys-audits[:SERVICE]`, `genesys-realtime[:SERVICE]`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, arg) = match s.split_once(':') {
            Some((a, b)) => (a, Some(b.to_string())),
            None => (s, None),
        };
        match (name, arg) {
            ("zendesk-audit-logs", None) => Ok(Stream::ZendeskAuditLogs),
            ("zendesk-ticket-audits", None) => Ok(Stream::ZendeskTicketAudits),
            ("zendesk-ticket-events", None) => Ok(Stream::ZendeskTicketEvents),
            ("zendesk-ticket", Some(id)) => id
                .parse()
                .map(Stream::ZendeskTicketAuditsOfTicket)
                .map_err(|_| format!("bad ticket id in {s:?}")),
            ("genesys-audits", service) => Ok(Stream::GenesysAudits { service }),
            ("genesys-realtime", service) => Ok(Stream::GenesysRealtime { service }),
            _ => Err(format!("unknown stream {s:?}")),
        }
    }
}

/// Why no ground truth could be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroundTruthError {
    /// No tenant of that name.
    UnknownTenant(String),
    /// No ticket of that id.
    UnknownTicket(i64),
}

impl std::fmt::Display for GroundTruthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroundTruthError::UnknownTenant(t) => write!(f, "unknown tenant {t:?}"),
            GroundTruthError::UnknownTicket(t) => write!(f, "unknown ticket {t}"),
        }
    }
}

impl std::error::Error for GroundTruthError {}

/// The ids of a window, as of `now`.
pub fn ground_truth(
    sim: &Sim,
    tenant: &str,
    stream: &Stream,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, GroundTruthError> {
    let t = sim
        .tenant_index(tenant)
        .map(|i| &sim.tenants[i])
        .ok_or_else(|| GroundTruthError::UnknownTenant(tenant.to_string()))?;
    let z = &t.zendesk;
    let g = &t.genesys;
    let (s, u) = (since.timestamp(), until.timestamp());
    let ids = match stream {
        Stream::ZendeskAuditLogs => {
            let lo = z.logs().first_at_or_after(s);
            let hi = z
                .logs()
                .first_after(u)
                .min(z.logs().first_after(now.timestamp()))
                .max(lo);
            (lo..hi)
                .map(|i| native_id(sim, RecordType::ZendeskLog, z.log_id(i)))
                .collect()
        }
        Stream::ZendeskTicketAudits => {
            let lo = z.audits().first_at_or_after(s);
            let hi = z
                .audits()
                .first_after(u)
                .min(z.audits().first_after(now.timestamp()))
                .max(lo);
            (lo..hi)
                .rev()
                .filter(|&i| !crate::zendesk::archived_at(sim, z, i, now.timestamp()))
                .map(|i| native_id(sim, RecordType::ZendeskAudit, z.audit_id(i)))
                .collect()
        }
        Stream::ZendeskTicketEvents => {
            let shown = now.timestamp() - sim.config.zendesk.incremental_holdback_secs as i64;
            let lo = z.audits().first_at_or_after(s);
            let hi = z
                .audits()
                .first_after(u)
                .min(z.audits().first_after(shown))
                .max(lo);
            (lo..hi)
                .map(|i| native_id(sim, RecordType::ZendeskAudit, z.audit_id(i)))
                .collect()
        }
        Stream::ZendeskTicketAuditsOfTicket(id) => {
            let k = z
                .ticket_k(*id)
                .ok_or(GroundTruthError::UnknownTicket(*id))?;
            let visible = z.ticket_audits_before(k, z.audits().first_after(now.timestamp()));
            (0..visible)
                .map(|m| z.audit_index(k, m))
                .filter(|&i| (s..=u).contains(&z.audit_time(i)))
                .map(|i| native_id(sim, RecordType::ZendeskAudit, z.audit_id(i)))
                .collect()
        }
        Stream::GenesysAudits { service } | Stream::GenesysRealtime { service } => {
            let realtime = matches!(stream, Stream::GenesysRealtime { .. });
            let (sm, um, nm) = (
                since.timestamp_millis(),
                until.timestamp_millis(),
                now.timestamp_millis(),
            );
            let (lo, hi) = if realtime {
                crate::genesys::realtime::realtime_range(sim, g, sm, um, nm)
            } else {
                let tl = g.timeline();
                let lo = tl.first_at_or_after(sm);
                (lo, tl.first_at_or_after(um).min(tl.first_after(nm)).max(lo))
            };
            let spec = QuerySpec {
                start_ms: sm,
                end_ms: um,
                service: service.clone(),
                filters: vec![],
                desc: false,
                interval_echo: String::new(),
                filters_echo: serde_json::Value::Null,
                sort_echo: serde_json::Value::Null,
            };
            let pred = |i: u64| matches(g, &spec, realtime, i);
            let sel = Selection {
                lo,
                hi,
                desc: false,
                pred: Some(&pred),
            };
            sel.skip_take(0, usize::MAX)
                .into_iter()
                .map(|i| g.record_id(i))
                .collect()
        }
    };
    Ok(ids)
}

/// The tickets of a tenant that have at least one visible audit: `(ticket id, archived)`.
pub fn tickets(
    sim: &Sim,
    tenant: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, bool)>, GroundTruthError> {
    let t = sim
        .tenant_index(tenant)
        .map(|i| &sim.tenants[i])
        .ok_or_else(|| GroundTruthError::UnknownTenant(tenant.to_string()))?;
    let z = &t.zendesk;
    let visible = z.audits().first_after(now.timestamp());
    Ok((0..z.ticket_slots())
        .filter(|&k| z.ticket_audits_before(k, visible) > 0)
        .map(|k| {
            (
                z.ticket_id(k),
                crate::zendesk::ticket_archived_at(sim, z, k, now.timestamp()),
            )
        })
        .collect())
}
