//! `--since` / `--until` values: an RFC 3339 instant, a date (midnight UTC), or a duration back
//! from now (`7d`, `12h`, `0s` for now).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

/// A point in time as the user wrote it; resolved against "now" once per run, so every stream
/// of an `--all` export uses the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeArg {
    /// An absolute instant.
    At(DateTime<Utc>),
    /// This long before now.
    Ago(Duration),
}

impl TimeArg {
    /// The instant, with `now` as the reference for relative values.
    pub fn resolve(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            TimeArg::At(at) => at,
            TimeArg::Ago(ago) => now - ago,
        }
    }
}

/// The argument as it can be given again: an RFC 3339 instant, or the duration in its largest
/// whole unit (`30d`, `36h`).
impl fmt::Display for TimeArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeArg::At(at) => {
                f.write_str(&at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }
            TimeArg::Ago(ago) => {
                let ms = ago.num_milliseconds();
                let units = [
                    ("w", 604_800_000),
                    ("d", 86_400_000),
                    ("h", 3_600_000),
                    ("m", 60_000),
                    ("s", 1_000),
                ];
                match units.iter().find(|(_, size)| ms % size == 0) {
                    Some((unit, size)) if ms != 0 => write!(f, "{}{unit}", ms / size),
                    Some(_) => f.write_str("0s"),
                    None => write!(f, "{ms}ms"),
                }
            }
        }
    }
}

/// Why a time argument was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeArgError(String);

impl fmt::Display for TimeArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is neither an RFC 3339 time (2024-05-01T00:00:00Z), a date (2024-05-01, \
             midnight UTC) nor a duration back from now such as 30m, 12h, 7d or 2w",
            self.0
        )
    }
}

impl std::error::Error for TimeArgError {}

impl FromStr for TimeArg {
    type Err = TimeArgError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Ok(TimeArg::At(at.with_timezone(&Utc)));
        }
        if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(TimeArg::At(date.and_time(chrono::NaiveTime::MIN).and_utc()));
        }
        parse_duration(text)
            .map(TimeArg::Ago)
            .ok_or_else(|| TimeArgError(text.to_string()))
    }
}

/// Parses `<n><unit>` with unit `ms`, `s`, `m`/`min`, `h`, `d` or `w` (`90s`, `12h`, `7d`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .filter(|&i| i > 0)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok()?;
    match unit {
        "ms" => Duration::try_milliseconds(n),
        "s" => Duration::try_seconds(n),
        "m" | "min" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
}

/// A `--poll-interval`-style duration (`30s`, `5m`).
pub fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    parse_duration(text.trim())
        .and_then(|d| d.to_std().ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{text}` is not a duration such as 30s, 5m or 1h"))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn durations_count_back_from_now() {
        let now = Utc.with_ymd_and_hms(2024, 5, 10, 12, 0, 0).unwrap();
        let cases = [
            ("7d", Utc.with_ymd_and_hms(2024, 5, 3, 12, 0, 0).unwrap()),
            ("12h", Utc.with_ymd_and_hms(2024, 5, 10, 0, 0, 0).unwrap()),
            ("30m", Utc.with_ymd_and_hms(2024, 5, 10, 11, 30, 0).unwrap()),
            ("2w", Utc.with_ymd_and_hms(2024, 4, 26, 12, 0, 0).unwrap()),
            (
                "90s",
                Utc.with_ymd_and_hms(2024, 5, 10, 11, 58, 30).unwrap(),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                text.parse::<TimeArg>().unwrap().resolve(now),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn rfc3339_instants_are_taken_as_given_in_utc() {
        let arg: TimeArg = "2024-05-01T02:00:00+02:00".parse().unwrap();
        assert_eq!(
            arg.resolve(Utc::now()),
            Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn arguments_display_as_text_that_parses_to_them_again() {
        for text in [
            "30d",
            "2w",
            "36h",
            "90m",
            "45s",
            "1500ms",
            "2024-05-01T00:00:00Z",
        ] {
            let arg: TimeArg = text.parse().unwrap();
            assert_eq!(arg.to_string(), text);
            assert_eq!(arg.to_string().parse::<TimeArg>().unwrap(), arg);
        }
        assert_eq!("14d".parse::<TimeArg>().unwrap().to_string(), "2w");
    }

    #[test]
    fn a_date_is_midnight_utc() {
        let arg: TimeArg = "2026-11-01".parse().unwrap();
        assert_eq!(
            arg.resolve(Utc::now()),
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(arg.to_string(), "2026-11-01T00:00:00Z");
    }

    #[test]
    fn zero_is_now() {
        let now = Utc::now();
        for text in ["0d", "0s", "0ms"] {
            let arg: TimeArg = text.parse().unwrap();
            assert_eq!(arg.resolve(now), now, "{text}");
            assert_eq!(arg.to_string(), "0s");
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_accepted_forms() {
        for bad in [
            "",
            "yesterday",
            "7",
            "d",
            "7y",
            "2024-13-01",
            "2024-5-1x",
            "-3d",
        ] {
            let error = bad.parse::<TimeArg>().unwrap_err().to_string();
            assert!(error.contains("RFC 3339"), "{bad}: {error}");
            assert!(error.contains("7d"), "{bad}: {error}");
        }
    }
}
