//! The rate budget of an account: `--max-rate N/min` and `--rate-share P%` (`max_rate`,
//! `rate_share` in an account's table of `trail.toml`). Every stream of the account spends
//! one budget (`--all` gives the account's clients one pacer), paced evenly; with both set,
//! the smaller wins. See [`audit_core::PacingConfig::with_rate_share`].

use std::fmt;
use std::str::FromStr;

use audit_core::PacingConfig;

use crate::errors::CliError;

/// A fixed cap: requests a minute (`700/min`, `700/m`, `12/s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxRate(u32);

impl MaxRate {
    /// Requests a minute.
    pub fn per_minute(self) -> u32 {
        self.0
    }
}

impl FromStr for MaxRate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let not_a_rate = || {
            format!(
                "`{text}` is not a rate: give requests per minute or per second, such as \
                 700/min or 12/s"
            )
        };
        let (count, unit) = text.split_once('/').ok_or_else(not_a_rate)?;
        let count: u32 = count.trim().parse().map_err(|_| not_a_rate())?;
        let per_minute = match unit.trim().to_ascii_lowercase().as_str() {
            "min" | "m" | "minute" => Some(count),
            "s" | "sec" | "second" => count.checked_mul(60),
            _ => return Err(not_a_rate()),
        }
        .ok_or_else(|| format!("`{text}` is more requests a minute than trail can count"))?;
        if per_minute == 0 {
            return Err(format!(
                "`{text}` allows no request at all: give at least 1/min, or leave the cap out"
            ));
        }
        Ok(MaxRate(per_minute))
    }
}

impl fmt::Display for MaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/min", self.0)
    }
}

/// A share of the limit the vendor's headers report: `50%` or `0.5`, more than 0 and at most
/// 100%.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateShare(f64);

impl RateShare {
    /// The share as a fraction (0 < share ≤ 1).
    pub fn fraction(self) -> f64 {
        self.0
    }
}

impl FromStr for RateShare {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (number, percent) = match text.strip_suffix('%') {
            Some(number) => (number.trim(), true),
            None => (text, false),
        };
        let value: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a share: give a percentage such as 50% (or a fraction \
                     such as 0.5)"
                )
            })?;
        let fraction = if percent { value / 100.0 } else { value };
        if fraction <= 0.0 {
            return Err(format!(
                "`{text}` leaves trail no request at all: give more than 0%, at most 100%"
            ));
        }
        if fraction > 1.0 {
            let hint = if percent {
                String::new()
            } else {
                format!(" (for {value}%, write the % sign)")
            };
            return Err(format!(
                "`{text}` is more than the whole limit: give at most 100%{hint}"
            ));
        }
        Ok(RateShare(fraction))
    }
}

impl fmt::Display for RateShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0 * 100.0)
    }
}

/// What one account may spend.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateBudget {
    /// The fixed cap.
    pub max_rate: Option<MaxRate>,
    /// The share of the vendor's limit.
    pub share: Option<RateShare>,
}

impl RateBudget {
    /// The flags' budget, else the account's keys (`at` names its table in messages).
    pub fn for_account(
        flags: RateBudget,
        at: &str,
        max_rate: Option<&str>,
        rate_share: Option<&str>,
    ) -> Result<RateBudget, CliError> {
        let key = |name: &str, error: String| {
            CliError::usage(
                format!("`{name}` of {at} in the config file: {error}"),
                Some(format!(
                    "write it as {}, or leave it out",
                    if name == "max_rate" {
                        "max_rate = \"700/min\""
                    } else {
                        "rate_share = \"50%\""
                    }
                )),
            )
        };
        let max_rate = match flags.max_rate {
            Some(rate) => Some(rate),
            None => max_rate
                .map(|text| text.parse().map_err(|e| key("max_rate", e)))
                .transpose()?,
        };
        let share = match flags.share {
            Some(share) => Some(share),
            None => rate_share
                .map(|text| text.parse().map_err(|e| key("rate_share", e)))
                .transpose()?,
        };
        Ok(RateBudget { max_rate, share })
    }

    /// The client's pacing: the vendor's headers as always, with the cap and the share.
    pub fn pacing(self) -> PacingConfig {
        let mut pacing = PacingConfig::default();
        if let Some(rate) = self.max_rate {
            pacing = pacing.with_requests_per_minute(rate.per_minute());
        }
        if let Some(share) = self.share {
            pacing = pacing
                .with_rate_share(share.fraction())
                .expect("RateShare is checked to be in (0, 1]");
        }
        pacing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_per_minute_and_per_second() {
        for (text, rpm) in [
            ("700/min", 700),
            ("700/m", 700),
            (" 700 / minute ", 700),
            ("12/s", 720),
            ("1/sec", 60),
        ] {
            assert_eq!(text.parse::<MaxRate>().unwrap().per_minute(), rpm, "{text}");
        }
        assert_eq!(MaxRate(700).to_string(), "700/min");
    }

    #[test]
    fn a_rate_without_unit_or_of_nothing_is_refused_in_words() {
        let error = "700".parse::<MaxRate>().unwrap_err();
        assert!(
            error.contains("give requests per minute or per second"),
            "{error}"
        );
        assert!("700/h".parse::<MaxRate>().is_err());
        assert!("-5/min".parse::<MaxRate>().is_err());
        let error = "0/min".parse::<MaxRate>().unwrap_err();
        assert!(error.contains("allows no request at all"), "{error}");
        let error = "100000000/s".parse::<MaxRate>().unwrap_err();
        assert!(error.contains("more requests a minute"), "{error}");
    }

    #[test]
    fn shares_as_percentages_or_fractions() {
        for (text, fraction) in [("50%", 0.5), ("0.5", 0.5), ("100%", 1.0), ("12.5 %", 0.125)] {
            assert_eq!(
                text.parse::<RateShare>().unwrap().fraction(),
                fraction,
                "{text}"
            );
        }
        assert_eq!(RateShare(0.5).to_string(), "50%");
    }

    #[test]
    fn a_share_of_nothing_or_more_than_everything_is_refused_in_words() {
        for text in ["0%", "0", "-10%"] {
            let error = text.parse::<RateShare>().unwrap_err();
            assert!(error.contains("no request at all"), "{text}: {error}");
        }
        let error = "150%".parse::<RateShare>().unwrap_err();
        assert!(error.contains("at most 100%"), "{error}");
        let error = "50".parse::<RateShare>().unwrap_err();
        assert!(error.contains("write the % sign"), "{error}");
        assert!("half".parse::<RateShare>().is_err());
    }

    #[test]
    fn flags_win_over_the_account_keys() {
        let flags = RateBudget {
            max_rate: Some(MaxRate(100)),
            share: None,
        };
        let budget =
            RateBudget::for_account(flags, "[zendesk.acme]", Some("700/min"), Some("50%")).unwrap();
        assert_eq!(budget.max_rate, Some(MaxRate(100)));
        assert_eq!(budget.share, Some(RateShare(0.5)));
        let error =
            RateBudget::for_account(RateBudget::default(), "[zendesk.acme]", Some("lots"), None)
                .unwrap_err();
        assert!(
            error.message.contains("`max_rate` of [zendesk.acme]"),
            "{}",
            error.message
        );
    }
}
