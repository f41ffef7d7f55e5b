//! A faithful simulator of the Zendesk and Genesys Cloud audit APIs, with rate limits and
//! fault injection.
//!
//! It serves, on loopback, from deterministic data generated on demand:
//!
//! - **Zendesk Support** (`specs/zendesk.yaml`, 8 operations): `GET /api/v2/ticket_audits`
//!   (legacy `cursor`/`limit` and standard `page[…]` cursors), `GET
//!   /api/v2/tickets/{id}/audits` (standard cursor and offset; archived tickets in one
//!   response), show, count (capped at 100,000), `make_private`, `GET /api/v2/audit_logs`
//!   (every filter, both sorts, cursor and offset with the 10,000-record limit), show, and
//!   `POST /api/v2/audit_logs/export` (202, one per minute). Paths also answer with `.json`.
//! - **Genesys Cloud** (`specs/genesys.yaml`, 7 operations) on an API listener, the OAuth
//!   token endpoint (`POST /oauth/token`, client credentials) on a separate *login* listener,
//!   and the presigned result files of `allowRedirect=true` on a separate *download*
//!   listener, which refuses any request carrying `Authorization`.
//!
//! It is the embedded default behind `trail demo`, the ground truth of the reliability
//! suites and the server of the benchmarks.
//!
//! # Starting it in-process
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use audit_sim::{SimConfig, Stream};
//!
//! let mut config = SimConfig::default(); // one tenant, "acme", the last 30 days
//! config.faults.seed = 7;
//! config.faults.status_503 = 0.05; // 5% of API requests answer 503 + Retry-After
//! let sim = audit_sim::start(config).await?;
//!
//! let creds = sim.tenant_credentials("acme").unwrap();
//! println!("Zendesk at {} as {}/token", sim.zendesk_url(), creds.zendesk_email);
//! println!("Genesys API at {}, tokens from {}/oauth/token", sim.genesys_api_url(), sim.genesys_login_url());
//!
//! let (start, end) = sim.span("acme").unwrap();
//! let ids = sim.ground_truth("acme", Stream::ZendeskAuditLogs, start, end)?;
//! println!("{} audit-log records, oldest first", ids.len());
//! println!("{:?}", sim.stats().faults);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The binary `audit-sim` does the same from a TOML file and flags (`audit-sim --help`,
//! `audit-sim --print-config`) and prints the base URLs and credentials; `GET /_sim/stats`
//! and `GET /_sim/ground-truth?tenant=…&stream=…&since=…&until=…` on any listener give the
//! counters and the ground truth to out-of-process users.
//!
//! # The embedding API
//!
//! - [`SimConfig`] (serde, TOML; `Default` is a small data set, [`SimConfig::demo`] adds mild
//!   rate limits) and [`start`] → [`SimHandle`].
//! - The handle, [`SimHandle`], gives [`zendesk_url`](SimHandle::zendesk_url),
//!   [`genesys_api_url`](SimHandle::genesys_api_url),
//!   [`genesys_login_url`](SimHandle::genesys_login_url),
//!   [`download_url`](SimHandle::download_url), [`credentials`](SimHandle::credentials),
//!   [`span`](SimHandle::span), [`ground_truth`](SimHandle::ground_truth),
//!   [`stats`](SimHandle::stats) (requests per endpoint, faults per kind and their
//!   opportunities, 429s of the limiter, requests per rate-limit window, refused downloads,
//!   pages and records served), [`shutdown`](SimHandle::shutdown) (graceful; dropping the
//!   handle also stops the listeners). [`ground_truth::tickets`] lists the tickets and which
//!   are archived.
//! - Every listener binds `127.0.0.1` port 0 by default.
//!
//! # Tenants
//!
//! Each tenant has its own Zendesk credentials (e-mail + API token for Basic
//! `{email}/token:{token}`, an OAuth bearer token with its scopes), its own Genesys client id
//! and secret, its own seed, counts, span and plan, and its own rate-limit windows. The
//! credentials select the tenant. Wrong credentials get the vendor's 401 bodies.
//!
//! # Data
//!
//! Every record is a pure function of (tenant seed, record index); nothing is stored, so a
//! million-record stream costs no memory. Timestamps are monotonic non-decreasing in the
//! index over the tenant's span, in bursts that produce ties (several records in one second
//! for Zendesk, in one millisecond for Genesys); an index ↔ time mapping is inverted by binary
//! search, so an unfiltered page costs O(log n + page size). Filtered reads (audit-log filters,
//! Genesys service and filters, archived tickets) scan. A record is visible once its timestamp
//! is not after the wall clock: a span that ends in the future yields records over time, and
//! a window in the past is stable forever. See [`data`] for what the records contain: every
//! documented ticket-audit event kind, polymorphic values, integer `via.channel`,
//! `author_id = -1`, space-separated tags in older audits, undocumented kinds and fields;
//! audit logs of every action and common source type; Genesys records across services,
//! levels, statuses and actions, with property and entity changes and transactions.
//!
//! # Ground truth
//!
//! [`SimHandle::ground_truth`] returns the native ids a window holds, in the order the
//! stream yields them (see [`ground_truth`] for the table): Zendesk audit logs ascending by
//! `(created_at, id)` with both bounds inclusive; `/ticket_audits` newest first, archived
//! tickets left out; one ticket's audits ascending; Genesys records ascending by
//! `(eventDate, id)` with the interval start inclusive and end exclusive (realtime: clipped to
//! the last `realtime_days` and to the realtime services).
//!
//! # Rate limits
//!
//! Per tenant and vendor, fixed windows aligned on multiples of the window length since the
//! epoch, off by default. Zendesk answers carry `X-Rate-Limit`, `X-Rate-Limit-Remaining`,
//! `ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset`; Genesys answers
//! `inin-ratelimit-count`, `inin-ratelimit-allowed`, `inin-ratelimit-reset`. Over the limit:
//! 429 with `Retry-After` (seconds to the window's end); Genesys also puts `[N]` in the
//! message, and `genesys.omit_retry_after` drops the header. The Zendesk export has its own
//! limit (one per `export_interval_secs`, default 60).
//!
//! # Faults
//!
//! See [`faults`]: each kind has a rate; the decision for a request is a hash of (seed, kind,
//! tenant, canonical request, how many times that request was seen), so a run repeats exactly
//! for a seed and a retried request eventually goes through.
//!
//! # Assumptions about vendor behaviour the references mark UNVERIFIED
//!
//! Zendesk:
//!
//! - A plan without audit logs answers `/api/v2/audit_logs*` with `403 {"error":
//!   "Forbidden", "description": "You do not have access to this page. Please contact the
//!   account owner of this help desk for further help."}`.
//! - 401 bodies: `{"error": "Couldn't authenticate you"}` for Basic (and a missing header),
//!   `{"error": "invalid_token", "error_description": …}` for a bad bearer token. Only API
//!   tokens authenticate Basic (e-mail + password is refused). Bearer tokens are checked
//!   against the tenant's `oauth_scopes` (`read` for ticket audits, `write` for make_private,
//!   `read` or `auditlogs:read` for audit logs).
//! - `/ticket_audits` in standard mode answers `{audits, meta, links}`, newest first. Legacy
//!   pages list their audits newest first too; `before_cursor` (older) is null at the oldest
//!   end and `after_cursor` (newer) null at the newest, so the first page has no
//!   `after_cursor`; the `*_url`s keep only `cursor` and `limit`. Legacy cursors imitate
//!   Zendesk's (`base64("{ts}.0||{id}|")` newer, `base64("|{ts}.0||{id}")` older).
//! - Any `page[…]` parameter selects cursor mode (`page[size]` defaults to 100). `meta`
//!   always carries `has_more` (`include_boundary_indicators` and `include_item_cursors`
//!   are accepted and ignored). `links` keep every original parameter; `links.next` is null
//!   when `has_more` is false; `before_cursor`/`links.prev` are null only on an empty page.
//!   Standard cursors are opaque base64 that always contain `+`, `/` and `=`.
//! - Pagination parameter errors answer a JSON:API body (`InvalidPaginationParameter`);
//!   offset reads past the first 10,000 records answer `400 {"error":
//!   "InvalidPaginationParameter", …}`; a single `filter[created_at][]` answers the
//!   documented `InvalidValue` text; `filter[source_id]` without `filter[source_type]`,
//!   a `sort` other than `created_at`/`-created_at`, `sort_by` other than `created_at` are
//!   400 `InvalidValue`. `filter[created_at][]` bounds are both inclusive. The other filters
//!   take several values, plain (`filter[action]=create`) or bracketed and repeated
//!   (`filter[action][]=create&filter[action][]=update`): a record matches any of a filter's
//!   values, and every filter.
//! - Offset mode defaults to `per_page=100`; the per-ticket endpoint without `page[…]` is
//!   offset mode, ascending unless `sort_order=desc`.
//! - Archived tickets are complete tickets of the older half of the data set (a fraction
//!   `archived_fraction` of them); their single response ignores paging parameters but
//!   honours the sort order, `filter_events[]` and `include=users`.
//! - The count is exact below the cap and `refreshed_at` is the current minute.
//! - The export's 429 body is JSON:API with Zendesk's message; `Retry-After` and `resets`
//!   are the seconds until a new export is accepted.
//! - The account limiter's 429 body is `{"error": "APIRateLimitExceeded", "description":
//!   "Number of allowed API requests per minute exceeded"}`; no rate-limit headers are sent
//!   while the limit is off.
//! - make_private answers 200 for any audit of the ticket and makes its comments private in
//!   later reads.
//! - The type strings and fields of the event kinds Zendesk does not describe are invented:
//!   `SlaTargetChange`, `SuspendedTicketRecovery`, `SmsNotification`, `ChatEndedEvent`,
//!   `SkillAssigned`, `SurveyOffered`, `SurveyResponseSubmitted`, `OfferedToEvent`,
//!   `RoutingChannel`, `CollaborationThreadCreated` (and the fields of `WebhookEvent`, …).
//! - System audit-log records have `actor_id: -1`, `actor_name: "Zendesk"`, a null
//!   `ip_address`.
//!
//! Genesys Cloud:
//!
//! - One historical query per organisation: a POST while another is `Queued`/`Running`
//!   answers 429 `too.many.requests.retry.after` with `Retry-After` (and `[N]`) = seconds until
//!   it finishes.
//! - The POST answers 202 while the query is queued or running; the status answers 202
//!   then 200 once finished. Results of an unfinished or `Failed` query answer 400
//!   `bad.request`; results are readable for `results_ttl_secs`, then 404. A query sees the
//!   records up to its creation time.
//! - Over 31 days: 400 `bad.request` "You must specify a search interval as part of your query
//!   that does not exceed 31 days." (the text peers quote). A malformed interval: 400
//!   `invalid.date`; an end not after the start: 400 `bad.request`.
//! - Without `sort` results are ascending. Without `serviceName` every service is searched;
//!   an unknown `serviceName` finds nothing. Filter properties are case-sensitive (400
//!   `invalid.value` otherwise, with the body of the fixture).
//! - Results: `pageSize` defaults to 25, 1..=500 (400 `invalid.query.param.value` outside);
//!   the page echoes the requested `pageSize`; `cursor` is absent on the last page.
//! - `allowRedirect=true` and more than `redirect_threshold` records in the page: 302 without
//!   `Location`, body `{id, pageSize, cursor?, downloadUrl}`. The download URL is an S3-style
//!   presigned URL on the download listener (expires after `download_expires_secs`, tampering
//!   is refused); it answers a JSON array of the records in the REST shape (`eventDate`, not
//!   the topic's `eventTime`), never expanded. A request carrying `Authorization` gets `403
//!   AccessDenied` (XML, as S3; S3 itself may say 400) and is counted in the stats. Without
//!   `allowRedirect`, pages over `too_large_threshold` (off by default) answer 400
//!   `response.entity.too.large`; an expanded record (`expand=user`) counts twice. Realtime
//!   pages too: there, `pageSize` has no maximum (Genesys documents none), only this limit.
//! - Realtime: the interval is silently clipped to the last `realtime_days` (14) and to now;
//!   only the services of the realtime service mapping are returned; `pageSize` defaults to
//!   25, with no maximum (pages over `too_large_threshold` are refused, see above).
//! - Related: the records of the same transaction (records share
//!   `initiatingAction.transactionId`, the id of the initiator), whatever their age; an
//!   unknown id answers 404; `trustorOrgId` is ignored.
//! - Tokens: `{access_token, token_type: "bearer", expires_in}`; a bad client answers 401
//!   `{"error": "invalid_client", "description": …, "error_description": …}`, a grant other
//!   than `client_credentials` 400 `unsupported_grant_type`. A missing bearer token answers 401
//!   `authentication.required`, an unknown or expired one 401 `bad.credentials`.
//! - Record ids are UUID-shaped with the `eventDate` milliseconds in their first 48 bits (as
//!   UUIDv7 does), so `(eventDate, id)` order is the records' order.
//! - `inin-ratelimit-count` is the requests made in the window; the limiter's 429 carries
//!   `limit: {key: "client.credentials.token.rate.per.minute", namespace: "platform.api"}`.
//!   The token endpoint is neither rate limited nor (by default) fault-injected.
//! - `ININ-Correlation-Id` is on every answer of the API and login listeners (also in
//!   `contextId` of error bodies).

#![deny(missing_docs)]
// Handlers return their error answers (`Response`) in `Err`; boxing them would only add noise.
#![allow(clippy::result_large_err)]

pub mod anomalies;
pub mod config;
pub mod control;
pub mod data;
pub mod faults;
pub mod genesys;
pub mod ground_truth;
pub mod http;
pub mod outage;
pub mod paging;
pub mod rate_limit;
pub mod server;
pub mod stats;
mod tls;
pub mod zendesk;

pub use config::{
    FaultConfig, GenesysConfig, GenesysTenant, Plan, RateLimitConfig, SimConfig, TenantConfig,
    TimeSpec, ZendeskConfig, ZendeskTenant,
};
pub use ground_truth::{GroundTruthError, Stream};
pub use server::{SimHandle, StartError, TenantCredentials, Urls, start};
pub use stats::{StatsSnapshot, WindowStat};
