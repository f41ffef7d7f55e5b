//! The CLI's own words: one name per setting (old flag spellings still accepted, with a note),
//! times as users write them, and errors that name the CLI's settings, not library calls.

mod common;

use audit_sim::Stream;
use common::*;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// No library vocabulary (`.tenant(..)`, `RetryPolicy::…`) in a message meant for CLI users.
fn assert_cli_words(text: &str) {
    assert!(
        !text.contains("(..)") && !text.contains("::"),
        "a library call in a CLI message:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_old_genesys_flag_spellings_still_work_with_a_note() {
    let sim = start(config(40, 2)).await;
    let credentials = sim.tenant_credentials("acme").unwrap();
    let env = [
        ("GENESYS_CLIENT_ID", credentials.genesys_client_id),
        ("GENESYS_CLIENT_SECRET", credentials.genesys_client_secret),
        ("GENESYS_TENANT", "acme".to_string()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let window = window_args();
    let mut args = vec![
        "export",
        "genesys-audits",
        "--out",
        "out.ndjson",
        "--genesys-base-url",
        sim.genesys_api_url(),
        "--genesys-login-url",
        sim.genesys_login_url(),
    ];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &env, dir.path()).await;
    assert_success(&output);
    let text = stderr(&output);
    assert!(
        text.contains("--genesys-base-url is now called --genesys-api-base-url"),
        "{text}"
    );
    assert!(
        text.contains("--genesys-login-url is now called --genesys-login-base-url"),
        "{text}"
    );
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")),
        ground_truth(&sim, Stream::GenesysAudits { service: None })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_date_is_midnight_utc_and_zero_is_now() {
    let sim = start(config(40, 2)).await;
    let dir = tempfile::tempdir().unwrap();
    // The fixed span is 2024-05-01 to 2024-05-08, midnight to midnight.
    let args = [
        "export",
        "zendesk-audit-logs",
        "--since",
        "2024-05-01",
        "--until",
        "2024-05-08",
        "--out",
        "dates.ndjson",
    ];
    let output = run_trail(&args, &zendesk_env(&sim), dir.path()).await;
    assert_success(&output);
    assert_eq!(
        exported_ids(&dir.path().join("dates.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
    let args = [
        "export",
        "zendesk-audit-logs",
        "--since",
        "0d",
        "--out",
        "now.ndjson",
    ];
    let output = run_trail(&args, &zendesk_env(&sim), dir.path()).await;
    assert_success(&output);
    assert_eq!(
        std::fs::read(dir.path().join("now.ndjson")).unwrap().len(),
        0,
        "nothing is newer than now"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn config_without_all_is_refused_rather_than_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_trail(
        &["export", "zendesk-audit-logs", "--config", "other.toml"],
        &[("ZENDESK_SUBDOMAIN", "acme".to_string())],
        dir.path(),
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("--config other.toml is only read with --all"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn host_settings_errors_name_the_cli_settings() {
    let dir = tempfile::tempdir().unwrap();
    // Arguments, environment, and the setting the message must name.
    type Case = (
        &'static [&'static str],
        Vec<(&'static str, String)>,
        &'static str,
    );
    let cases: [Case; 3] = [
        (
            &["export", "zendesk-audit-logs"],
            vec![
                ("ZENDESK_BASE_URL", "http://127.0.0.1:9".into()),
                ("ZENDESK_OAUTH_TOKEN", "t".into()),
            ],
            "ZENDESK_SUBDOMAIN",
        ),
        (
            &["export", "genesys-audits"],
            vec![
                ("GENESYS_REGION", "mars".into()),
                ("GENESYS_CLIENT_ID", "id".into()),
                ("GENESYS_CLIENT_SECRET", "secret".into()),
            ],
            "trail regions",
        ),
        (
            &["export", "genesys-audits"],
            vec![
                ("GENESYS_API_BASE_URL", "http://127.0.0.1:9".into()),
                ("GENESYS_CLIENT_ID", "id".into()),
                ("GENESYS_CLIENT_SECRET", "secret".into()),
            ],
            "GENESYS_LOGIN_BASE_URL",
        ),
    ];
    for (args, env, names) in cases {
        let output = run_trail(args, &env, dir.path()).await;
        assert_eq!(output.status.code(), Some(2));
        let text = stderr(&output);
        assert!(text.contains(names), "{text}");
        assert_cli_words(&text);
    }
}

/// A server certificate that trail does not trust ends the export at once (asking again gets
/// the same certificate), in words that say how to trust it; trusted, the same export runs.
#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_server_certificate_ends_at_once_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(300, 10);
    let trust = serve_https(&mut config, dir.path());
    let sim = start(config).await;
    let mut args = vec!["export", "zendesk-audit-logs", "--out", "out.ndjson"];
    let window = window_args();
    args.extend(window.iter().map(String::as_str));
    let mut env = zendesk_env(&sim);

    let output = run_trail(&args, &env, dir.path()).await;
    let text = stderr(&output);
    assert_ne!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("certificate was refused") && text.contains("SSL_CERT_FILE"),
        "{text}"
    );
    assert_cli_words(&text);
    assert_eq!(
        sim.stats().zendesk_connections,
        1,
        "a refused certificate is not asked for again:\n{text}"
    );
    assert!(!dir.path().join("out.ndjson").exists(), "{text}");

    env.push(trust);
    assert_success(&run_trail(&args, &env, dir.path()).await);
    assert_eq!(
        exported_ids(&dir.path().join("out.ndjson")),
        ground_truth(&sim, Stream::ZendeskAuditLogs)
    );
}
