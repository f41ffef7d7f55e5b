//! A vendor taken down and brought back at runtime (`/_sim/outage`), so a test can put a
//! long-running client through an outage in seconds.
//!
//! `GET /_sim/outage?vendor=zendesk&mode=reset` takes Zendesk down (`vendor=genesys`: the
//! Genesys API, login and download hosts; no `vendor`: both); `mode=off` brings it back. While
//! down, every request of that vendor (control paths excepted) gets the mode's answer:
//!
//! | mode | answer |
//! |---|---|
//! | `reset` | the connection is dropped without an answer (a stopped vendor, a refused connection as the client sees it) |
//! | `error` | `500` with a JSON error (a 5xx storm) |
//! | `hang` | nothing: the request is held until the outage ends (a server that accepts and never answers) |
//! | `html` | `200` with an HTML page (a captive portal, a wrong base URL) |
//!
//! The outage is not a fault: it is not drawn from the seed and no request gets through until
//! it is lifted.

use std::sync::Mutex;

/// What a vendor that is down answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageMode {
    /// The connection is dropped.
    Reset,
    /// `500` with a JSON error body.
    Error,
    /// No answer until the outage ends.
    Hang,
    /// `200` with an HTML page.
    Html,
}

impl std::str::FromStr for OutageMode {
    type Err = String;

    fn from_str(mode: &str) -> Result<Self, String> {
        match mode {
            "reset" => Ok(OutageMode::Reset),
            "error" => Ok(OutageMode::Error),
            "hang" => Ok(OutageMode::Hang),
            "html" => Ok(OutageMode::Html),
            other => Err(format!(
                "unknown outage mode `{other}`; expected reset, error, hang, html or off"
            )),
        }
    }
}

/// The outage of each vendor (`zendesk`, `genesys`), if any.
#[derive(Debug, Default)]
pub(crate) struct Outages {
    zendesk: Mutex<Option<OutageMode>>,
    genesys: Mutex<Option<OutageMode>>,
}

impl Outages {
    /// Sets (or with `None` lifts) the outage of `vendor` (`None`: both vendors).
    pub(crate) fn set(&self, vendor: Option<&str>, mode: Option<OutageMode>) -> Result<(), String> {
        match vendor {
            Some("zendesk") => *self.zendesk.lock().unwrap() = mode,
            Some("genesys") => *self.genesys.lock().unwrap() = mode,
            None => {
                *self.zendesk.lock().unwrap() = mode;
                *self.genesys.lock().unwrap() = mode;
            }
            Some(other) => {
                return Err(format!(
                    "unknown vendor `{other}`; expected zendesk or genesys"
                ));
            }
        }
        Ok(())
    }

    /// The outage of a vendor (`genesys`: `true`), if it is down.
    pub(crate) fn of(&self, genesys: bool) -> Option<OutageMode> {
        let vendor = if genesys {
            &self.genesys
        } else {
            &self.zendesk
        };
        *vendor.lock().unwrap()
    }
}
