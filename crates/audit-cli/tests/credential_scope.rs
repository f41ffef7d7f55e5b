//! Where credentials may go (issue 7, item 5), through the `trail` binary: a vendor answer
//! that points `links.next` or a redirect at another origin makes trail stop with a clear
//! error and that origin receives nothing; plain `http` base URLs off loopback are refused
//! before anything is sent. (The library-level suite, `tests/credential_scope.rs` at the
//! workspace root, covers every kind of link, redirect and download; trail does not ask for
//! Genesys downloads.)

mod common;

use common::*;
use serde_json::json;
use trail_tests::net::{Proxy, Recorder, Reply};

/// Runs a `zendesk-audit-logs` export through a proxy that points every `links.next` at
/// another origin (keeping its path and query) and, with `strip_cursors`, takes the cursor
/// out of the page (`meta.after_cursor`, the link's `page[after]`), so the link is all that
/// says where the next page is.
async fn export_with_foreign_links(
    strip_cursors: bool,
) -> (std::process::Output, Recorder, Proxy, tempfile::TempDir) {
    let sim = start(config(300, 10)).await;
    let recorder = Recorder::start(Reply::json(200, &json!({"audit_logs": []}))).await;
    let other = recorder.url();
    let proxy = Proxy::start(sim.zendesk_url(), move |_, _, reply| {
        reply.edit_json(|body| {
            if let Some(next) = body["links"]["next"].as_str() {
                let path = &next[next.find("/api/").unwrap()..];
                let path = if strip_cursors {
                    path.split('?').next().unwrap().to_string() + "?page=2"
                } else {
                    path.to_string()
                };
                body["links"]["next"] = json!(format!("{other}{path}"));
                if strip_cursors {
                    body["meta"]["after_cursor"] = json!(null);
                }
            }
        });
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = zendesk_env(&sim);
    env.retain(|(name, _)| *name != "ZENDESK_BASE_URL");
    env.push(("ZENDESK_BASE_URL", proxy.url()));
    let window = window_args();
    let mut args = vec![
        "export",
        "zendesk-audit-logs",
        "--out",
        "out.ndjson",
        "--state",
        "state.json",
    ];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &env, dir.path()).await;
    (output, recorder, proxy, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn trail_refuses_a_next_page_link_to_another_origin() {
    let (output, recorder, proxy, dir) = export_with_foreign_links(true).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&recorder.url()), "{stderr}");
    assert!(recorder.hits().is_empty(), "{:?}", recorder.hits());
    assert!(proxy.foreign_hits().is_empty());
    // The first page was written and committed; the export can be resumed once fixed.
    assert_eq!(exported_ids(&dir.path().join("out.ndjson")).len(), 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_link_with_a_cursor_is_not_needed_the_next_page_is_asked_for_at_home() {
    // Each next request is built from the cursor and the original filters on the configured
    // host: the link (here pointing elsewhere) is never requested.
    let (output, recorder, proxy, dir) = export_with_foreign_links(false).await;
    assert!(output.status.success(), "{output:?}");
    assert!(recorder.hits().is_empty(), "{:?}", recorder.hits());
    assert!(proxy.foreign_hits().is_empty());
    assert_eq!(exported_ids(&dir.path().join("out.ndjson")).len(), 300);
}

#[tokio::test(flavor = "multi_thread")]
async fn trail_does_not_follow_a_login_redirect_with_the_client_secret() {
    let sim = start(config(10, 10)).await;
    let recorder = Recorder::start(Reply::json(200, &json!({"access_token": "stolen"}))).await;
    let other = recorder.url();
    let login = Proxy::start(sim.genesys_login_url(), move |_, hit, reply| {
        *reply = Reply {
            status: 307,
            headers: vec![("location".into(), format!("{other}{}", hit.target))],
            body: Vec::new(),
        };
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = genesys_env(&sim);
    env.retain(|(name, _)| *name != "GENESYS_LOGIN_BASE_URL");
    env.push(("GENESYS_LOGIN_BASE_URL", login.url()));
    let window = window_args();
    let mut args = vec!["export", "genesys-audits", "--out", "out.ndjson"];
    args.extend(window.iter().map(String::as_str));
    let output = run_trail(&args, &env, dir.path()).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(recorder.hits().is_empty(), "{:?}", recorder.hits());
    assert!(login.foreign_hits().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn trail_refuses_plain_http_off_loopback_before_sending_anything() {
    let sim = start(config(10, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "http://example.com",
        "http://10.1.2.3:8080",
        "http://acme.zendesk.com",
    ] {
        let mut env = zendesk_env(&sim);
        env.retain(|(name, _)| *name != "ZENDESK_BASE_URL");
        env.push(("ZENDESK_BASE_URL", url.to_string()));
        for args in [
            &["export", "zendesk-audit-logs", "--since", "1d"][..],
            &["count", "1"],
            &["make-private", "1", "2"],
        ] {
            let output = run_trail(args, &env, dir.path()).await;
            assert_eq!(
                output.status.code(),
                Some(2),
                "{args:?} with {url}: {output:?}"
            );
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains("https"), "{stderr}");
        }
        for variable in ["GENESYS_API_BASE_URL", "GENESYS_LOGIN_BASE_URL"] {
            let mut env = genesys_env(&sim);
            env.retain(|(name, _)| *name != variable);
            env.push((variable, url.to_string()));
            let output = run_trail(
                &["export", "genesys-audits", "--since", "1d"],
                &env,
                dir.path(),
            )
            .await;
            assert_eq!(
                output.status.code(),
                Some(2),
                "{variable}={url}: {output:?}"
            );
        }
        let config = format!(
            "[zendesk.acme]\nbase_url = \"{url}\"\nsubdomain = \"acme\"\nemail = \"a@b.c\"\n\
             api_token_env = \"T\"\n\n[[export]]\nstream = \"zendesk-audit-logs\"\n\
             account = \"acme\"\nout = \"x.ndjson\"\n"
        );
        std::fs::write(dir.path().join("trail.toml"), config).unwrap();
        let output = run_trail(
            &["export", "--all", "--config", "trail.toml"],
            &[("T", "secret".to_string())],
            dir.path(),
        )
        .await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "trail.toml with {url}: {output:?}"
        );
    }
    assert_eq!(sim.stats().requests.values().sum::<u64>(), 0);
}
