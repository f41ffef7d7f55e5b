//! Secrets (issue 7, item 4): every `trail` command, at the most verbose log level (`-vv`, and
//! separately `TRAIL_LOG=trace`, which turns on every crate's trace logs, HTTP stack
//! included), against the simulator configured with distinctive secrets. No secret — the
//! Zendesk API token, the Zendesk OAuth token, the Genesys client secret, the Genesys access
//! tokens the simulator issued, a wrong secret of a failing run — appears in stdout, stderr,
//! the state file or any output file, neither as it is nor in the Basic-auth encodings
//! (`{email}/token:{token}`, `{client id}:{secret}`) nor base64-encoded on its own.
//!
//! The access tokens are learnt honestly: trail's token requests go through a recording proxy
//! in front of the simulator's login host, which reads them in the answers.

mod common;

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

use audit_sim::config::SimConfig;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::*;
use trail_tests::net::Proxy;

const API_TOKEN: &str = "ZdApiTok3n-S3CR3T-4f9a1c0e";
const OAUTH_TOKEN: &str = "ZdOAuthTok3n-S3CR3T-77b2e0d1";
const CLIENT_SECRET: &str = "GcClientS3CR3T-9d8e7f6a5b";
const WRONG_SECRET: &str = "WrongS3CR3T-0c0c0c0c0c";
const EMAIL: &str = "secops@acme.example";

/// `env` with the variable `name` set to `value` instead.
fn with_var(
    env: &[(&'static str, String)],
    name: &str,
    value: &str,
) -> Vec<(&'static str, String)> {
    let mut env = env.to_vec();
    for (variable, old) in &mut env {
        if *variable == name {
            *old = value.to_string();
        }
    }
    env
}

/// The two verbose settings every command runs under.
const VERBOSE: [(&str, Option<&str>); 2] = [("-vv", None), ("", Some("trace"))];

fn sim_config() -> SimConfig {
    let mut config = config(400, 400);
    let tenant = &mut config.tenants[0];
    tenant.zendesk.email = EMAIL.into();
    tenant.zendesk.api_token = API_TOKEN.into();
    tenant.zendesk.oauth_token = OAUTH_TOKEN.into();
    tenant.genesys.client_secret = CLIENT_SECRET.into();
    config
}

/// The forms a secret could leak in: itself, a 12-character piece of it, and base64 of it on
/// its own (at the three alignments) and inside each Basic-auth credential it is part of.
fn leak_forms(secret: &str, basic: &[String]) -> Vec<String> {
    let mut forms = vec![secret.to_string(), secret[..12].to_string()];
    for pad in ["", "x", "xx"] {
        let encoded = STANDARD.encode(format!("{pad}{secret}"));
        // Skip the characters that depend on the padding prefix.
        let skip = match pad.len() {
            0 => 0,
            1 => 2,
            _ => 3,
        };
        forms.push(encoded[skip..encoded.len().saturating_sub(4)].to_string());
    }
    for credential in basic {
        forms.push(STANDARD.encode(credential));
        forms.push(URL_SAFE_NO_PAD.encode(credential));
    }
    forms.retain(|form| form.len() >= 8);
    forms
}

struct Secrets {
    /// (what, form).
    forms: Vec<(String, String)>,
}

impl Secrets {
    fn new(client_id: &str) -> Self {
        let mut forms = Vec::new();
        for (what, secret, basic) in [
            (
                "the Zendesk API token",
                API_TOKEN,
                vec![format!("{EMAIL}/token:{API_TOKEN}")],
            ),
            ("the Zendesk OAuth token", OAUTH_TOKEN, vec![]),
            (
                "the Genesys client secret",
                CLIENT_SECRET,
                vec![format!("{client_id}:{CLIENT_SECRET}")],
            ),
            (
                "a wrong secret",
                WRONG_SECRET,
                vec![
                    format!("{EMAIL}/token:{WRONG_SECRET}"),
                    format!("{client_id}:{WRONG_SECRET}"),
                ],
            ),
        ] {
            for form in leak_forms(secret, &basic) {
                forms.push((what.to_string(), form));
            }
        }
        Secrets { forms }
    }

    fn with_tokens(&self, tokens: &[String]) -> Vec<(String, String)> {
        let mut forms = self.forms.clone();
        for token in tokens {
            forms.push(("a Genesys access token".into(), token.clone()));
            forms.push(("a Genesys access token".into(), token[..16].to_string()));
        }
        forms
    }
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Fails if any form of any secret is in the run's stdout, stderr or any file of `dir`.
fn assert_no_secret(what: &str, output: &Output, dir: &Path, forms: &[(String, String)]) {
    let mut places: Vec<(String, String)> = vec![
        (
            "stdout".into(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        ),
        (
            "stderr".into(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ),
    ];
    for file in files(dir) {
        let bytes = std::fs::read(&file).unwrap();
        places.push((
            file.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    for (place, text) in &places {
        for (secret, form) in forms {
            if let Some(at) = text.find(form.as_str()) {
                let start = text[..at]
                    .char_indices()
                    .rev()
                    .nth(80)
                    .map_or(0, |(i, _)| i);
                let end = (at + form.len() + 80).min(text.len());
                let end = (end..=text.len())
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap();
                panic!(
                    "{what}: {secret} ({form:?}) is in {place}:\n…{}…",
                    &text[start..end]
                );
            }
        }
    }
}

/// Runs `args` under both verbose settings in a fresh directory each, checks the outcome with
/// `check`, and that no secret leaked. Returns the combined stderr (for checks that the logs
/// did run at trace level).
async fn run_everywhere(
    what: &str,
    args: &[&str],
    env: &[(&'static str, String)],
    forms: impl Fn() -> Vec<(String, String)>,
    setup: impl Fn(&Path),
    check: impl Fn(&Output),
) -> String {
    let mut all_stderr = String::new();
    for (flag, trail_log) in VERBOSE {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let mut full: Vec<&str> = Vec::new();
        if !flag.is_empty() {
            full.push(flag);
        }
        full.extend_from_slice(args);
        let mut env = env.to_vec();
        if let Some(level) = trail_log {
            env.push(("TRAIL_LOG", level.to_string()));
        }
        let output = run_trail(&full, &env, dir.path()).await;
        let label = format!(
            "{what} ({})",
            trail_log.map_or(flag.to_string(), |l| format!("TRAIL_LOG={l}"))
        );
        check(&output);
        assert_no_secret(&label, &output, dir.path(), &forms());
        all_stderr.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    all_stderr
}

fn succeeded(output: &Output) {
    assert_success(output);
}

fn failed(output: &Output) {
    assert!(
        !output.status.success(),
        "the run should fail:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn export_args<'a>(stream: &'a str, window: &'a [String]) -> Vec<&'a str> {
    let mut args = vec![
        "export",
        stream,
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
    ];
    args.extend(window.iter().map(String::as_str));
    args
}

/// A proxy in front of the simulator's login host that keeps every access token it sees.
async fn token_catcher(sim: &audit_sim::SimHandle) -> (Proxy, Arc<Mutex<Vec<String>>>) {
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&tokens);
    let proxy = Proxy::start(sim.genesys_login_url(), move |_, _, reply| {
        if let Ok(body) = serde_json::from_slice::<serde_json::Value>(&reply.body)
            && let Some(token) = body["access_token"].as_str()
        {
            seen.lock().unwrap().push(token.to_string());
        }
    })
    .await;
    (proxy, tokens)
}

#[tokio::test(flavor = "multi_thread")]
async fn no_command_shows_a_secret_at_any_log_level() {
    let sim = start(sim_config()).await;
    let credentials = sim.tenant_credentials("acme").unwrap();
    let secrets = Secrets::new(&credentials.genesys_client_id);
    let (login, tokens) = token_catcher(&sim).await;
    let forms = || secrets.with_tokens(&tokens.lock().unwrap());

    let zendesk = zendesk_env(&sim);
    let mut genesys = genesys_env(&sim);
    for (name, value) in &mut genesys {
        if *name == "GENESYS_LOGIN_BASE_URL" {
            *value = login.url();
        }
    }
    let mut both = zendesk.clone();
    both.extend(genesys.clone());
    let window = window_args();

    // Every export, one stream at a time.
    let mut stderr = String::new();
    for (stream, env) in [
        ("zendesk-audit-logs", &zendesk),
        ("zendesk-ticket-audits", &zendesk),
        ("genesys-audits", &genesys),
    ] {
        stderr += &run_everywhere(
            stream,
            &export_args(stream, &window),
            env,
            &forms,
            |_| {},
            succeeded,
        )
        .await;
    }
    let realtime_window = ["--since".to_string(), "12d".to_string()];
    stderr += &run_everywhere(
        "genesys-realtime",
        &export_args("genesys-realtime", &realtime_window),
        &genesys,
        &forms,
        |_| {},
        |output| {
            // The fixed span is older than the realtime reach: an empty, successful export.
            assert_success(output);
        },
    )
    .await;

    // `export --all` from a config file naming the variables that hold the secrets.
    let config = format!(
        r#"
        [zendesk.acme]
        base_url = "{zendesk}"
        subdomain = "acme"
        email = "{EMAIL}"
        api_token_env = "ACME_ZENDESK_TOKEN"

        [genesys.acme]
        api_base_url = "{api}"
        login_base_url = "{login}"
        client_id = "{client_id}"
        client_secret_env = "ACME_GENESYS_SECRET"
        tenant = "acme"

        [[export]]
        stream = "zendesk-audit-logs"
        account = "acme"
        out = "logs.ndjson"

        [[export]]
        stream = "zendesk-ticket-audits"
        account = "acme"
        out = "audits.ocsf"
        format = "ocsf"

        [[export]]
        stream = "genesys-audits"
        account = "acme"
        out = "genesys.ndjson"
        "#,
        zendesk = sim.zendesk_url(),
        api = sim.genesys_api_url(),
        login = login.url(),
        client_id = credentials.genesys_client_id,
    );
    let mut all_args = vec![
        "export",
        "--all",
        "--config",
        "trail.toml",
        "--state",
        "state.json",
    ];
    all_args.extend(window.iter().map(String::as_str));
    let all_env = vec![
        ("ACME_ZENDESK_TOKEN", API_TOKEN.to_string()),
        ("ACME_GENESYS_SECRET", CLIENT_SECRET.to_string()),
    ];
    stderr += &run_everywhere(
        "export --all",
        &all_args,
        &all_env,
        &forms,
        |dir| std::fs::write(dir.join("trail.toml"), &config).unwrap(),
        succeeded,
    )
    .await;

    // count and make-private.
    let (ticket, audits) = a_ticket(&sim);
    let ticket = ticket.to_string();
    stderr += &run_everywhere(
        "count",
        &["count", &ticket],
        &zendesk,
        &forms,
        |_| {},
        succeeded,
    )
    .await;
    stderr += &run_everywhere(
        "make-private",
        &["make-private", &ticket, &audits[0]],
        &zendesk,
        &forms,
        |_| {},
        succeeded,
    )
    .await;

    // The same Zendesk commands with an OAuth token.
    let mut oauth = zendesk.clone();
    oauth.retain(|(name, _)| *name != "ZENDESK_API_TOKEN");
    oauth.push(("ZENDESK_OAUTH_TOKEN", OAUTH_TOKEN.to_string()));
    stderr += &run_everywhere(
        "zendesk-audit-logs (OAuth)",
        &export_args("zendesk-audit-logs", &window),
        &oauth,
        &forms,
        |_| {},
        succeeded,
    )
    .await;
    stderr += &run_everywhere(
        "count (OAuth)",
        &["count", &ticket],
        &oauth,
        &forms,
        |_| {},
        succeeded,
    )
    .await;
    stderr += &run_everywhere(
        "make-private (OAuth)",
        &["make-private", &ticket, &audits[0]],
        &oauth,
        &forms,
        |_| {},
        succeeded,
    )
    .await;

    // Commands without credentials; the secrets sit in the environment all the same.
    for args in [&["schema"][..], &["schema", "--ocsf"], &["regions"]] {
        stderr += &run_everywhere(&args.join(" "), args, &both, &forms, |_| {}, succeeded).await;
    }

    // Failing runs: a wrong secret for each vendor, and secrets that are refused.
    let wrong_zendesk = with_var(&zendesk, "ZENDESK_API_TOKEN", WRONG_SECRET);
    stderr += &run_everywhere(
        "a wrong Zendesk token",
        &export_args("zendesk-audit-logs", &window),
        &wrong_zendesk,
        &forms,
        |_| {},
        failed,
    )
    .await;
    let wrong_genesys = with_var(&genesys, "GENESYS_CLIENT_SECRET", WRONG_SECRET);
    stderr += &run_everywhere(
        "a wrong Genesys secret",
        &export_args("genesys-audits", &window),
        &wrong_genesys,
        &forms,
        |_| {},
        failed,
    )
    .await;
    let wrong_oauth = with_var(&oauth, "ZENDESK_OAUTH_TOKEN", WRONG_SECRET);
    stderr += &run_everywhere(
        "a wrong OAuth token",
        &["count", &ticket],
        &wrong_oauth,
        &forms,
        |_| {},
        failed,
    )
    .await;

    // The runs did log at trace level, and the proxy did see the tokens.
    assert!(
        stderr.contains("TRACE"),
        "no trace-level log line was written"
    );
    assert!(
        stderr.contains("http.request"),
        "the HTTP spans were not logged"
    );
    let tokens = tokens.lock().unwrap().clone();
    assert!(
        tokens.len() >= 4,
        "the Genesys runs fetched tokens: {tokens:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_shows_none_of_its_simulated_secrets_at_any_log_level() {
    // The demo's simulator is inside trail: its credentials are those of the tenant `acme`
    // the demo configures; its access tokens are 64 URL-safe base64 characters.
    let tenant = audit_sim::config::TenantConfig::named("acme", 7);
    let mut forms = Vec::new();
    for (what, secret, basic) in [
        (
            "the demo's Zendesk API token",
            tenant.zendesk.api_token.clone(),
            vec![format!(
                "{}/token:{}",
                tenant.zendesk.email, tenant.zendesk.api_token
            )],
        ),
        (
            "the demo's Zendesk OAuth token",
            tenant.zendesk.oauth_token.clone(),
            vec![],
        ),
        (
            "the demo's Genesys secret",
            tenant.genesys.client_secret.clone(),
            vec![format!(
                "{}:{}",
                tenant.genesys.client_id, tenant.genesys.client_secret
            )],
        ),
    ] {
        for form in leak_forms(&secret, &basic) {
            forms.push((what.to_string(), form));
        }
    }
    let token_like =
        regex::Regex::new(r"(?:^|[^A-Za-z0-9_-])([A-Za-z0-9_-]{64})(?:$|[^A-Za-z0-9_-])").unwrap();
    for (flag, trail_log) in VERBOSE {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["demo", "--records", "300", "--dir", "out"];
        if !flag.is_empty() {
            args.insert(0, flag);
        }
        let env: Vec<(&str, String)> = trail_log
            .map(|l| vec![("TRAIL_LOG", l.to_string())])
            .unwrap_or_default();
        let output = run_trail(&args, &env, dir.path()).await;
        assert_success(&output);
        assert_no_secret("demo", &output, dir.path(), &forms);
        for (place, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            let text = String::from_utf8_lossy(text);
            if let Some(found) = token_like.captures(&text) {
                panic!(
                    "demo: something like an access token is in {place}: {}",
                    &found[1]
                );
            }
        }
    }
}
