//! The simulator as its own process (`target/release/audit-sim --config FILE`), so its CPU is
//! not counted against the clients; its base URLs from what it prints; its control endpoints.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use audit_sim::{SimConfig, TenantConfig};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A running `audit-sim`.
pub struct Sim {
    child: Child,
    /// Zendesk API base URL.
    pub zendesk: String,
    /// Genesys API base URL.
    pub genesys_api: String,
    /// Genesys login base URL.
    pub genesys_login: String,
    /// The config it runs.
    pub config: SimConfig,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Sim {
    /// Writes `config` to `dir/<name>.toml` and starts `bin` on it.
    pub fn start(bin: &Path, dir: &Path, name: &str, config: SimConfig) -> Result<Sim> {
        config.validate().map_err(anyhow::Error::msg)?;
        let file = dir.join(format!("{name}.sim.toml"));
        std::fs::write(&file, config.to_toml())?;
        let mut child = Command::new(bin)
            .arg("--config")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let (mut zendesk, mut genesys_api, mut genesys_login) = (None, None, None);
        for line in lines.by_ref() {
            let line = line?;
            let url = || line.split_whitespace().nth(2).map(str::to_string);
            let t = line.trim_start();
            if t.starts_with("zendesk api") {
                zendesk = url();
            } else if t.starts_with("genesys api") {
                genesys_api = url();
            } else if t.starts_with("genesys login") {
                genesys_login = url();
            } else if t.starts_with("press Ctrl-C") {
                break;
            }
        }
        // Keep draining its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let (Some(zendesk), Some(genesys_api), Some(genesys_login)) =
            (zendesk, genesys_api, genesys_login)
        else {
            let _ = child.kill();
            bail!("audit-sim did not print its URLs");
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let http = control_client(&config)?;
        Ok(Sim {
            child,
            zendesk,
            genesys_api,
            genesys_login,
            config,
            rt,
            http,
        })
    }

    /// The environment a client needs to trust the simulator: `SSL_CERT_FILE` when it
    /// serves HTTPS.
    pub fn trust_env(&self) -> Option<(&'static str, &Path)> {
        Some(("SSL_CERT_FILE", self.config.tls_ca_file.as_deref()?))
    }

    /// The simulator's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU seconds the simulator has used so far.
    pub fn cpu_s(&self) -> f64 {
        crate::measure::cpu_seconds_of(self.pid()).unwrap_or(0.0)
    }

    /// A tenant of the config, by name.
    pub fn tenant(&self, name: &str) -> &TenantConfig {
        self.config
            .tenants
            .iter()
            .find(|t| t.name == name)
            .expect("a tenant of the config")
    }

    fn get(&self, path_and_query: &str) -> Result<Value> {
        let url = format!("{}{path_and_query}", self.zendesk);
        let once = || {
            self.rt.block_on(async {
                let r = self.http.get(&url).send().await?;
                let status = r.status();
                let body: Value = r.json().await?;
                if !status.is_success() {
                    bail!("{url}: {status} {body}");
                }
                Ok(body)
            })
        };
        // A control call is rare and must not fail a benchmark on a dropped connection.
        let mut attempt = 1;
        loop {
            match once() {
                Ok(body) => return Ok(body),
                Err(e) if attempt < 3 => {
                    eprintln!("audit-bench: {url}: {e:#}; trying again");
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `GET /_sim/stats`.
    pub fn stats(&self) -> Result<Value> {
        self.get("/_sim/stats")
    }

    /// `GET /_sim/ground-truth`: the native ids of a window, in stream order.
    pub fn ground_truth(
        &self,
        tenant: &str,
        stream: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let q = format!(
            "/_sim/ground-truth?tenant={tenant}&stream={stream}&since={}&until={}",
            enc(&rfc3339(since)),
            enc(&rfc3339(until))
        );
        let v = self.get(&q)?;
        let ids = v["ids"].as_array().context("ground truth without ids")?;
        Ok(ids
            .iter()
            .map(|id| match id {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect())
    }

    /// Stops it (SIGINT: graceful) and waits.
    pub fn stop(self) {
        drop(self);
    }
}

/// A benchmark that fails half-way (a contender's bad exit, a full disk) must not leave its
/// simulator running beside the next benchmarks.
impl Drop for Sim {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// RFC 3339 with milliseconds, `Z`.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Percent-encodes the characters of a timestamp that a query string cannot hold as such.
pub fn enc(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

/// A tenant with fixed data: `logs` Zendesk audit logs, `audits` Genesys audits, a small
/// ticket-audit set, over `[start, end]`.
pub fn tenant(
    name: &str,
    seed: u64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    logs: u64,
    audits: u64,
) -> TenantConfig {
    let mut t = TenantConfig::named(name, seed);
    t.start = audit_sim::TimeSpec::At(start);
    t.end = audit_sim::TimeSpec::At(end);
    t.zendesk.audit_logs = logs;
    t.genesys.audits = audits;
    t
}

/// A config of these tenants, no limits, no faults, Genesys queries done at once.
pub fn config(tenants: Vec<TenantConfig>) -> SimConfig {
    let mut c = SimConfig {
        tenants,
        ..SimConfig::default()
    };
    c.genesys.query_queued_ms = 0;
    c.genesys.query_running_ms = 0;
    c
}

/// The client of the control calls: a fresh connection per call (nothing idles between
/// them), trusting the simulator's certificate authority when it serves HTTPS.
fn control_client(config: &SimConfig) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .pool_max_idle_per_host(0);
    if let Some(ca) = &config.tls_ca_file {
        let pem = std::fs::read(ca).with_context(|| format!("{}", ca.display()))?;
        builder = builder.tls_certs_merge([reqwest::Certificate::from_pem(&pem)?]);
    }
    Ok(builder.build()?)
}
