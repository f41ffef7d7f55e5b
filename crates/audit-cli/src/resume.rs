//! A resumed run asks for a window and a mode again: what it may change, and what it may not.
//!
//! The state file records the window as the user gave it ([`RecordedWindow`]) and the
//! checkpoint records it resolved. A resumed run
//! - with the same `--since` text (`30d` again, days later), or a later `--since`, continues
//!   the recorded window: its start stays where the output's records start;
//! - with an earlier `--since` is refused: the records before the recorded start are not in
//!   the output, and an export adds records only at its moving end;
//! - without `--until`, or with a later one, extends the window and continues from the
//!   checkpoint; with `--follow` it follows;
//! - with an earlier `--until` than recorded, or a closed window where the recorded one was
//!   open, is refused: records past it may already be in the output.

use audit_core::genesys::realtime::REALTIME_DAYS;
use audit_core::{Checkpoint, Position, StreamKind};
use chrono::{DateTime, TimeDelta, Utc};

use crate::errors::CliError;
use crate::state::RecordedWindow;
use crate::time_arg::TimeArg;

/// How far inside its 14 days the realtime stream starts when given an older start (the
/// stream clamps to 14 days back plus this margin, so the vendor's moving boundary cannot
/// shift its pages): a start older than that would silently lose the records in between.
const REALTIME_MARGIN: TimeDelta = TimeDelta::minutes(5);

/// Adjusts `checkpoint`'s window to what this run asks for (`requested`, resolved as
/// `since`/`until`), or refuses; returns the window to record. `recorded` is what the state
/// file holds (`None` for entries of version 1); `doing` names the export in messages.
pub fn reconcile(
    checkpoint: &mut Checkpoint,
    recorded: Option<&RecordedWindow>,
    requested: &RecordedWindow,
    (since, until): (DateTime<Utc>, Option<DateTime<Utc>>),
    doing: &str,
) -> Result<RecordedWindow, CliError> {
    let same = |recorded: Option<&str>, requested: Option<&str>| {
        let parse = |text: Option<&str>| text.and_then(|t| t.parse::<TimeArg>().ok());
        recorded.is_some() && parse(recorded) == parse(requested)
    };
    let window = &mut checkpoint.window;
    let recorded_since = recorded.map(|r| r.since.as_str());
    if !same(recorded_since, Some(&requested.since)) && since < window.since {
        return Err(CliError::usage(
            format!(
                "--since {} starts before {doing}, which started at {}: the output holds its \
                 records from then on",
                requested.since,
                show(window.since)
            ),
            Some(format!(
                "to continue it, give --since {} (or later); to export from {}, start a new \
                 export with another --out",
                recorded_since.map_or_else(|| show(window.since), str::to_string),
                requested.since
            )),
        ));
    }
    match (until, window.until) {
        (None, _) => window.until = None,
        (Some(_), _)
            if same(
                recorded.and_then(|r| r.until.as_deref()),
                requested.until.as_deref(),
            ) => {}
        (Some(until), Some(recorded_until)) if until >= recorded_until => {
            window.until = Some(until)
        }
        (Some(until), Some(recorded_until)) => {
            return Err(CliError::usage(
                format!(
                    "--until {} ends before {doing}, which runs until {}: the output may hold \
                     records after {}",
                    show(until),
                    show(recorded_until),
                    show(until)
                ),
                Some(format!(
                    "to continue it, give --until {} or later (or no --until); to export a \
                     shorter window, start a new export with another --out",
                    show(recorded_until)
                )),
            ));
        }
        (Some(until), None) => {
            return Err(CliError::usage(
                format!(
                    "--until {} closes {doing}, which was started without --until: the output \
                     may hold records after it",
                    show(until)
                ),
                Some(
                    "to continue it, drop --until; to export a closed window, start a new \
                     export with another --out"
                        .to_string(),
                ),
            ));
        }
    }
    if let Some(recorded) = recorded
        && recorded.filter != requested.filter
    {
        let show = |filter: &Option<String>| {
            filter
                .as_deref()
                .map_or_else(|| "no filter".to_string(), |f| format!("the filters {f}"))
        };
        return Err(CliError::usage(
            format!(
                "{} would resume {doing}, which was started with {}: the output would mix two \
                 selections of records",
                show(&requested.filter),
                show(&recorded.filter)
            ),
            Some(
                "give the filters it was started with to continue it; to export another \
                 selection, start a new export with another --out"
                    .to_string(),
            ),
        ));
    }
    Ok(RecordedWindow {
        since: recorded.map_or_else(|| requested.since.clone(), |r| r.since.clone()),
        until: requested.until.clone(),
        follow: requested.follow,
        filter: requested.filter.clone(),
    })
}

/// Refuses a `genesys-realtime` export that starts (or resumes) further back than realtime
/// queries reach.
pub fn check_realtime_reach(
    stream: StreamKind,
    since: DateTime<Utc>,
    resume: Option<&Checkpoint>,
    now: DateTime<Utc>,
) -> Result<(), CliError> {
    if stream != StreamKind::GenesysRealtime {
        return Ok(());
    }
    let (start, what) = match resume.map(|c| &c.position) {
        Some(Position::HighWater { at, .. }) => (*at, "resumes from"),
        Some(_) => (resume.expect("matched").window.since, "starts at"),
        None => (since, "starts at"),
    };
    let reach = now - TimeDelta::days(REALTIME_DAYS) + REALTIME_MARGIN;
    if start >= reach {
        return Ok(());
    }
    Err(CliError::usage(
        format!(
            "the genesys-realtime export {what} {}, but realtime queries reach back \
             {REALTIME_DAYS} days only (to {})",
            show(start),
            show(reach)
        ),
        Some(format!(
            "export older records with the genesys-audits stream (any window), or give \
             genesys-realtime a --since within the last {} days",
            REALTIME_DAYS - 1
        )),
    ))
}

fn show(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use audit_core::{Source, Window};
    use chrono::TimeZone;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, day, 0, 0, 0).unwrap()
    }

    fn checkpoint(window: Window) -> Checkpoint {
        Checkpoint::new(
            Source::new(StreamKind::ZendeskAuditLogs, "acme"),
            window,
            Position::Start,
        )
    }

    fn given(since: &str, until: Option<&str>) -> RecordedWindow {
        RecordedWindow {
            since: since.into(),
            until: until.map(str::to_string),
            follow: false,
            filter: None,
        }
    }

    #[test]
    fn a_later_or_open_until_extends_the_window() {
        let recorded = given("2024-05-01T00:00:00Z", Some("2024-05-03T00:00:00Z"));
        let mut c = checkpoint(Window::between(t(1), t(3)).unwrap());
        let later = given("2024-05-01T00:00:00Z", Some("2024-05-05T00:00:00Z"));
        reconcile(&mut c, Some(&recorded), &later, (t(1), Some(t(5))), "x").unwrap();
        assert_eq!(c.window.until, Some(t(5)));
        let open = given("2024-05-01T00:00:00Z", None);
        let kept = reconcile(&mut c, Some(&recorded), &open, (t(1), None), "x").unwrap();
        assert_eq!(c.window.until, None);
        assert_eq!(kept, open);
    }

    #[test]
    fn the_same_relative_since_is_the_same_window() {
        let recorded = given("30d", None);
        let mut c = checkpoint(Window::since(t(1)));
        // Given again a day later, `30d` resolves a day later: the window stays.
        reconcile(
            &mut c,
            Some(&recorded),
            &given("30d", None),
            (t(2), None),
            "x",
        )
        .unwrap();
        assert_eq!(c.window.since, t(1));
        let error = reconcile(
            &mut c,
            Some(&recorded),
            &given("40d", None),
            (t(1) - TimeDelta::days(9), None),
            "x",
        )
        .unwrap_err();
        assert!(
            error.message.contains("--since 40d starts before x"),
            "{error}"
        );
        assert!(error.hint.unwrap().contains("--since 30d"));
    }

    #[test]
    fn an_earlier_until_or_closing_an_open_window_is_refused() {
        let recorded = given("2024-05-01T00:00:00Z", Some("2024-05-03T00:00:00Z"));
        let mut c = checkpoint(Window::between(t(1), t(3)).unwrap());
        let earlier = given("2024-05-01T00:00:00Z", Some("2024-05-02T00:00:00Z"));
        let error =
            reconcile(&mut c, Some(&recorded), &earlier, (t(1), Some(t(2))), "x").unwrap_err();
        assert!(error.message.contains("ends before x"), "{error}");
        let mut open = checkpoint(Window::since(t(1)));
        let error = reconcile(
            &mut open,
            Some(&given("2024-05-01T00:00:00Z", None)),
            &earlier,
            (t(1), Some(t(2))),
            "x",
        )
        .unwrap_err();
        assert!(error.message.contains("started without --until"), "{error}");
    }

    #[test]
    fn realtime_refuses_a_start_older_than_it_reaches() {
        let now = t(20);
        let old = now - TimeDelta::days(15);
        let error = check_realtime_reach(StreamKind::GenesysRealtime, old, None, now).unwrap_err();
        assert!(error.hint.unwrap().contains("genesys-audits"));
        assert!(check_realtime_reach(StreamKind::GenesysAudits, old, None, now).is_ok());
        assert!(
            check_realtime_reach(
                StreamKind::GenesysRealtime,
                now - TimeDelta::days(13),
                None,
                now
            )
            .is_ok()
        );
    }
}
