//! Where credentials may go (issue 7, item 5), end to end through the real clients and the
//! simulator: a proxy in front of the simulator plays the vendor and points its answers —
//! `links.next`, `before_url`/`after_url`, a 30x `Location`, a Genesys `downloadUrl` — at
//! another port (a recording listener), another host name (`localhost` for `127.0.0.1`), or
//! another scheme (`https` on the same host and port). Nothing but the presigned download
//! reaches another origin, and the download carries no `Authorization`; plain `http` to a
//! non-loopback host is refused by every builder.

use std::time::Duration;

use audit_core::genesys::{GenesysClient, PollPolicy};
use audit_core::zendesk::ZendeskClient;
use audit_core::{Error, RetryPolicy, StreamKind, StreamOptions, Window};
use audit_sim::config::{SimConfig, TenantConfig, TimeSpec};
use audit_sim::{SimHandle, Stream};
use chrono::{DateTime, TimeZone, Utc};
use futures::TryStreamExt;
use serde_json::json;
use trail_tests::net::{Hit, Proxy, Recorder, Reply};

fn span() -> (DateTime<Utc>, DateTime<Utc>) {
    (
        Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2024, 5, 3, 0, 0, 0).unwrap(),
    )
}

fn window() -> Window {
    let (start, end) = span();
    Window::between(start, end).unwrap()
}

async fn simulator() -> SimHandle {
    let (start, end) = span();
    let mut tenant = TenantConfig::named("acme", 3);
    tenant.start = TimeSpec::At(start);
    tenant.end = TimeSpec::At(end);
    tenant.zendesk.audit_logs = 250;
    tenant.zendesk.ticket_audits = 250;
    tenant.zendesk.archived_fraction = 0.0;
    tenant.genesys.audits = 250;
    let mut config = SimConfig {
        tenants: vec![tenant],
        ..SimConfig::default()
    };
    config.genesys.query_queued_ms = 10;
    config.genesys.query_running_ms = 10;
    config.genesys.redirect_threshold = 20;
    audit_sim::start(config).await.unwrap()
}

fn retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(2)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

fn zendesk(sim: &SimHandle, base: &str) -> ZendeskClient {
    let credentials = sim.tenant_credentials("acme").unwrap();
    ZendeskClient::builder()
        .base_url(base)
        .tenant("acme")
        .api_token(credentials.zendesk_email, credentials.zendesk_api_token)
        .retry_policy(retries())
        .build()
        .unwrap()
}

fn genesys(sim: &SimHandle, api: &str, login: &str) -> GenesysClient {
    let credentials = sim.tenant_credentials("acme").unwrap();
    GenesysClient::builder()
        .api_base_url(api)
        .login_base_url(login)
        .client_credentials(
            credentials.genesys_client_id,
            credentials.genesys_client_secret,
        )
        .tenant("acme")
        .retry_policy(retries())
        .query_polling(
            PollPolicy::default().with_delays(Duration::from_millis(10), Duration::from_millis(50)),
        )
        .build()
        .unwrap()
}

/// The other origins a vendor answer may name; [`origin_elsewhere`] gives each one's base URL.
const ELSEWHERE: [&str; 5] = [
    "another port",
    "another host name",
    "another scheme",
    "another host name and port",
    "another scheme and port",
];

/// The base URL of `what` (one of [`ELSEWHERE`]) for a proxy on `proxy` and a recorder on
/// `recorder`: it reaches either the recorder or the proxy under a name that is not its own
/// origin.
fn origin_elsewhere(what: &str, proxy: u16, recorder: u16) -> String {
    match what {
        "another port" => format!("http://127.0.0.1:{recorder}"),
        "another host name" => format!("http://localhost:{proxy}"),
        "another scheme" => format!("https://127.0.0.1:{proxy}"),
        "another host name and port" => format!("http://localhost:{recorder}"),
        "another scheme and port" => format!("https://127.0.0.1:{recorder}"),
        other => unreachable!("not one of ELSEWHERE: {other}"),
    }
}

/// `url` with its scheme, host and port replaced by `origin`.
fn moved(url: &str, origin: &str) -> String {
    let parsed = url::Url::parse(url).expect("an absolute URL");
    let mut path = parsed.path().to_string();
    if let Some(query) = parsed.query() {
        path = format!("{path}?{query}");
    }
    format!("{origin}{path}")
}

/// No request reached another origin: the recorder saw nothing, the proxy saw only requests
/// addressed to its own origin.
fn assert_nothing_elsewhere(what: &str, proxy: &Proxy, recorder: &Recorder) {
    let hits: Vec<Hit> = recorder.hits();
    assert!(hits.is_empty(), "{what}: the other host received {hits:?}");
    let foreign = proxy.foreign_hits();
    assert!(
        foreign.is_empty(),
        "{what}: requests by another name reached the proxy: {foreign:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zendesk_links_next_to_another_origin_is_refused_and_gets_nothing() {
    let sim = simulator().await;
    let recorder = Recorder::start(Reply::json(200, &json!({"audit_logs": []}))).await;
    let (start, end) = span();
    let truth = sim
        .ground_truth("acme", Stream::ZendeskAuditLogs, start, end)
        .unwrap();
    for what in ELSEWHERE {
        // With a cursor (`meta.after_cursor`, or `page[after]` in the link) the next request
        // is built at home from it and the original filters: the link is not needed and the
        // walk ends complete. Without one, the link is all there is, and it is refused.
        for drop_cursor in [false, true] {
            let recorder_port = recorder.port();
            let what = what.to_string();
            let variant = what.clone();
            let proxy = Proxy::start(sim.zendesk_url(), move |info, _, reply| {
                let origin = origin_elsewhere(&variant, info.port, recorder_port);
                reply.edit_json(|body| {
                    if let Some(next) = body["links"]["next"].as_str() {
                        let mut next = moved(next, &origin);
                        if drop_cursor {
                            next = next.split('?').next().unwrap().to_string() + "?page=2";
                            body["meta"]["after_cursor"] = json!(null);
                        }
                        body["links"]["next"] = json!(next);
                    }
                });
            })
            .await;
            let client = zendesk(&sim, &proxy.url());
            let result = client
                .event_pages(StreamKind::ZendeskAuditLogs, StreamOptions::new(window()))
                .unwrap()
                .try_collect::<Vec<_>>()
                .await;
            match (drop_cursor, result) {
                (false, Ok(pages)) => {
                    let ids: Vec<String> = pages
                        .into_iter()
                        .flat_map(|p| p.events)
                        .map(|e| e.native_id)
                        .collect();
                    assert_eq!(ids, truth, "{what}");
                }
                (true, Err(Error::ForeignUrl { .. })) => {
                    let sent: Vec<Hit> = proxy.hits();
                    assert_eq!(sent.len(), 1, "{what}: the first page only");
                }
                (_, other) => panic!("{what}, without cursor {drop_cursor}: {other:?}"),
            }
            assert_nothing_elsewhere(&what, &proxy, &recorder);
            assert!(
                proxy.hits().iter().all(|hit| hit.authorization.is_some()),
                "the vendor's own origin gets the credentials"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_ticket_audit_links_to_another_origin_get_nothing() {
    let sim = simulator().await;
    let recorder = Recorder::start(Reply::json(200, &json!({"audits": []}))).await;
    let (start, end) = span();
    let truth = sim
        .ground_truth("acme", Stream::ZendeskTicketAudits, start, end)
        .unwrap();
    for what in ELSEWHERE {
        let recorder_port = recorder.port();
        let variant = what.to_string();
        // With the cursors left in place the links are not needed: the walk goes on by cursor
        // and ends complete. Without a cursor, the foreign `links.next` stops it.
        for drop_cursor in [false, true] {
            let variant = variant.clone();
            let proxy = Proxy::start(sim.zendesk_url(), move |info, _, reply| {
                let origin = origin_elsewhere(&variant, info.port, recorder_port);
                reply.edit_json(|body| {
                    for key in ["next", "prev"] {
                        if let Some(url) = body["links"][key].as_str() {
                            body["links"][key] = json!(moved(url, &origin));
                        }
                    }
                    if drop_cursor && let Some(next) = body["links"]["next"].as_str() {
                        let next = next.split('?').next().unwrap().to_string() + "?page=2";
                        body["links"]["next"] = json!(next);
                        body["meta"]["after_cursor"] = json!(null);
                    }
                });
            })
            .await;
            let client = zendesk(&sim, &proxy.url());
            let result = client
                .event_pages(
                    StreamKind::ZendeskTicketAudits,
                    StreamOptions::new(window()),
                )
                .unwrap()
                .try_collect::<Vec<_>>()
                .await;
            match (drop_cursor, result) {
                (false, Ok(pages)) => {
                    let ids: Vec<String> = pages
                        .into_iter()
                        .flat_map(|p| p.events)
                        .map(|e| e.native_id)
                        .collect();
                    assert_eq!(ids, truth, "{what}");
                }
                (true, Err(Error::ForeignUrl { .. })) => {}
                (_, other) => panic!("{what}, without cursor {drop_cursor}: {other:?}"),
            }
            assert_nothing_elsewhere(what, &proxy, &recorder);
        }
    }
}

/// Every 30x a vendor may answer with, pointing at each other origin, on the first request.
async fn redirect_everywhere(
    upstream: &str,
    recorder: &Recorder,
    mut call: impl AsyncFnMut(&str) -> Result<(), Error>,
) {
    for status in [301u16, 302, 303, 307, 308] {
        for what in ELSEWHERE {
            let recorder_port = recorder.port();
            let variant = what.to_string();
            let proxy = Proxy::start(upstream, move |info, hit, reply| {
                let origin = origin_elsewhere(&variant, info.port, recorder_port);
                *reply = Reply {
                    status,
                    headers: vec![("location".into(), format!("{origin}{}", hit.target))],
                    body: Vec::new(),
                };
            })
            .await;
            let result = call(&proxy.url()).await;
            assert!(result.is_err(), "{status} to {what}: followed");
            assert_nothing_elsewhere(&format!("{status} to {what}"), &proxy, recorder);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_another_origin_are_not_followed_by_either_client() {
    let sim = simulator().await;
    let recorder = Recorder::start(Reply::json(200, &json!({}))).await;
    // Zendesk: a list and a show.
    redirect_everywhere(sim.zendesk_url(), &recorder, async |base| {
        let client = zendesk(&sim, base);
        client
            .event_pages(StreamKind::ZendeskAuditLogs, StreamOptions::new(window()))?
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    })
    .await;
    // Genesys: the login host (client id and secret in Basic) …
    let api = sim.genesys_api_url().to_string();
    redirect_everywhere(sim.genesys_login_url(), &recorder, async |login| {
        genesys(&sim, &api, login).service_mapping().await.map(drop)
    })
    .await;
    // … and the API (the bearer token), on a GET and on the query's POST.
    let login = sim.genesys_login_url().to_string();
    redirect_everywhere(sim.genesys_api_url(), &recorder, async |api| {
        genesys(&sim, api, &login).service_mapping().await.map(drop)
    })
    .await;
    redirect_everywhere(sim.genesys_api_url(), &recorder, async |api| {
        genesys(&sim, api, &login)
            .event_pages(StreamKind::GenesysAudits, StreamOptions::new(window()))?
            .try_collect::<Vec<_>>()
            .await
            .map(drop)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genesys_downloads_elsewhere_are_fetched_without_credentials() {
    let sim = simulator().await;
    let (start, end) = span();
    let truth = sim
        .ground_truth("acme", Stream::GenesysAudits { service: None }, start, end)
        .unwrap();
    // The download host: a proxy in front of the simulator's, recording what it receives.
    let download = Proxy::start(sim.download_url(), |_, _, _| {}).await;
    for (what, in_location) in [
        ("downloadUrl on another port", false),
        ("downloadUrl on another host name", false),
        ("Location on another port", true),
    ] {
        let port = download.port();
        let host = if what.contains("host name") {
            "localhost"
        } else {
            "127.0.0.1"
        };
        let api = Proxy::start(sim.genesys_api_url(), move |_, _, reply| {
            let mut url = None;
            reply.edit_json(|body| {
                if let Some(original) = body["downloadUrl"].as_str() {
                    let moved = moved(original, &format!("http://{host}:{port}"));
                    if in_location {
                        body["downloadUrl"] = json!(null);
                        url = Some(moved);
                    } else {
                        body["downloadUrl"] = json!(moved);
                    }
                }
            });
            if let Some(url) = url {
                reply.set_header("location", url);
            }
        })
        .await;
        let before = download.hits().len();
        let events = genesys(&sim, &api.url(), sim.genesys_login_url())
            .audit_events(window())
            .allow_redirect(true)
            .events()
            .try_collect::<Vec<_>>()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let ids: Vec<String> = events.into_iter().map(|e| e.native_id).collect();
        assert_eq!(ids, truth, "{what}");
        let downloads: Vec<Hit> = download.hits()[before..].to_vec();
        assert!(!downloads.is_empty(), "{what}: the pages were downloaded");
        for hit in &downloads {
            assert_eq!(hit.authorization, None, "{what}: {hit:?}");
        }
        assert!(
            api.hits().iter().all(|hit| hit.authorization.is_some()),
            "the API gets the bearer token"
        );
    }
    assert_eq!(sim.stats().download_auth_rejected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_url_in_plain_http_off_loopback_is_not_requested() {
    let sim = simulator().await;
    let api = Proxy::start(sim.genesys_api_url(), |_, _, reply| {
        reply.edit_json(|body| {
            if let Some(original) = body["downloadUrl"].as_str() {
                body["downloadUrl"] = json!(moved(original, "http://downloads.example.com:9"));
            }
        });
    })
    .await;
    let error = genesys(&sim, &api.url(), sim.genesys_login_url())
        .audit_events(window())
        .allow_redirect(true)
        .events()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not requested"), "{error}");
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_by_every_builder() {
    for url in [
        "http://example.com",
        "http://acme.zendesk.com",
        "http://10.0.0.1:8080",
        "http://192.168.1.10",
        "http://[2001:db8::1]",
        "http://localhost.example.com",
        "ftp://127.0.0.1",
    ] {
        let zendesk = ZendeskClient::builder()
            .base_url(url)
            .tenant("acme")
            .oauth_token("t")
            .build();
        assert!(matches!(zendesk, Err(Error::InvalidConfig(_))), "{url}");
        let api = GenesysClient::builder()
            .api_base_url(url)
            .login_base_url("https://login.mypurecloud.com")
            .client_credentials("id", "secret")
            .build();
        assert!(matches!(api, Err(Error::InvalidConfig(_))), "api {url}");
        let login = GenesysClient::builder()
            .api_base_url("https://api.mypurecloud.com")
            .login_base_url(url)
            .client_credentials("id", "secret")
            .build();
        assert!(matches!(login, Err(Error::InvalidConfig(_))), "login {url}");
    }
    for loopback in ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"] {
        assert!(
            ZendeskClient::builder()
                .base_url(loopback)
                .tenant("acme")
                .oauth_token("t")
                .build()
                .is_ok(),
            "{loopback}"
        );
    }
}
