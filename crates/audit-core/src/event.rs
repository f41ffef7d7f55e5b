//! The unified audit record: one shape for every vendor and stream.
//!
//! Every record a vendor returns maps to exactly one [`AuditEvent`] — mapping is total, and
//! [`AuditEvent::raw`] keeps the vendor record untouched, so nothing is ever lost. Values the
//! vendors have not documented yet land in the open enums' `Other` arms rather than failing.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
pub use raw_support::{Quarantined, RawJson};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One audit record from any vendor, in one shape.
///
/// ```
/// use audit_core::event::{Action, AuditEvent, RecordKind, Source, StreamKind, Vendor};
///
/// let source = Source::new(StreamKind::ZendeskAuditLogs, "acme");
/// assert_eq!(source.vendor, Vendor::Zendesk);
/// let id = AuditEvent::stable_id(&source, RecordKind::ZendeskAuditLog, "498483");
/// assert_eq!(id, "zendesk:acme:audit-log:498483");
/// assert_eq!(Action::from("login"), Action::Login);
/// assert_eq!(Action::from("Publish"), Action::Other("Publish".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct AuditEvent {
    /// Stable, globally unique id: `{vendor}:{tenant}:{record kind}:{native id}`. The same
    /// vendor record always gets the same id, so sinks can upsert and deduplicate on it.
    pub id: String,
    /// Where the record came from.
    pub source: Source,
    /// The vendor's own id of the record, as text (64-bit integers without loss).
    pub native_id: String,
    /// When the audited action happened, in UTC. When the vendor record carries no
    /// timestamp, this is where the vendor placed the record: the time of the record before
    /// it in the stream (and `occurred_at_inferred` is `true`).
    pub occurred_at: DateTime<Utc>,
    /// `true` when the vendor record has no timestamp of its own (a null or missing
    /// `created_at` / `eventDate`), so `occurred_at` was inferred from the record's place in
    /// the stream. Omitted from JSON when `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub occurred_at_inferred: bool,
    /// The normalised verb.
    pub action: Action,
    /// The vendor's own action or event type, verbatim (`update`, `Authenticate`, `Change`).
    pub vendor_action: String,
    /// Whether the audited action succeeded, as far as the record says.
    pub outcome: Outcome,
    /// Who (or what) acted.
    pub actor: Actor,
    /// What was acted on, when the record says.
    pub target: Option<Target>,
    /// Field-level changes, values kept as the vendor's JSON.
    pub changes: Vec<Change>,
    /// A short human-readable description.
    pub description: Option<String>,
    /// Groups records of one action or object (a ticket id, a Genesys transaction id).
    pub correlation_id: Option<String>,
    /// The part of the vendor's product the action was in (Genesys `serviceName`:
    /// `PeoplePermissions`, `Architect`, …). Omitted when the record does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The vendor's level of the action (Genesys `level`: `USER`, `SYSTEM`,
    /// `GENESYS_INTERNAL`). Omitted when the record does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// The business rule behind the change (a Zendesk trigger, automation or macro, from
    /// `via.source.from` and `via.source.rel`). Omitted when no rule acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    /// The vendor's context of the action, as sent (Genesys `context`). Omitted when empty.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub context: std::collections::BTreeMap<String, String>,
    /// The vendor record, untouched: kept as the JSON text it arrived as, and read as a
    /// [`Value`] (it dereferences to one) when needed. [`AuditEvent::write_json`] writes it
    /// without parsing it.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Value", description = "The vendor record, untouched.")
    )]
    pub raw: RawJson,
    /// Set when the vendor record did not decode as the vendor's schema says, so the fields
    /// above were read from a repaired copy of it (a lone surrogate escape read as U+FFFD, a
    /// number beyond the range of f64 or a field of the wrong type read as null, bytes that
    /// are not UTF-8 replaced by U+FFFD); says what was repaired. `raw` is still the record
    /// as sent, except when its bytes were not UTF-8: `raw` then holds a lossy copy, and the
    /// original bytes are kept apart (`trail` writes them to `<out>.quarantine.ndjson`).
    /// Omitted when the record decoded as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_issue: Option<String>,
    /// The record's bytes as received, with the page and position they were read at, when they
    /// were not UTF-8 text (`raw` then holds a lossy copy). Not part of the event's JSON: an
    /// exporter writes them to a quarantine file of their own.
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub quarantined: Option<Box<Quarantined>>,
}

impl AuditEvent {
    /// Builds the stable id of a record: `{vendor}:{tenant}:{record kind}:{native id}`.
    ///
    /// ```
    /// use audit_core::{AuditEvent, RecordKind, Source, StreamKind};
    ///
    /// // Historical and realtime queries read the same Genesys records: one id either way.
    /// let historical = Source::new(StreamKind::GenesysAudits, "acme");
    /// let realtime = Source::new(StreamKind::GenesysRealtime, "acme");
    /// assert_eq!(
    ///     AuditEvent::stable_id(&historical, RecordKind::GenesysAudit, "0f8e1c2a"),
    ///     AuditEvent::stable_id(&realtime, RecordKind::GenesysAudit, "0f8e1c2a"),
    /// );
    /// ```
    pub fn stable_id(source: &Source, kind: RecordKind, native_id: &str) -> String {
        format!(
            "{}:{}:{}:{native_id}",
            source.vendor.as_str(),
            source.tenant,
            kind.as_str()
        )
    }

    /// A new event with the required fields; the rest empty, to be filled by a mapper.
    ///
    /// ```
    /// use audit_core::{Action, AuditEvent, Outcome, RecordKind, Source, StreamKind};
    /// use chrono::Utc;
    /// use serde_json::json;
    ///
    /// let raw = json!({"id": 498483, "action": "login"});
    /// let event = AuditEvent::new(
    ///     Source::new(StreamKind::ZendeskAuditLogs, "acme"),
    ///     RecordKind::ZendeskAuditLog,
    ///     "498483",
    ///     Utc::now(),
    ///     "login",
    ///     raw,
    /// );
    /// assert_eq!(event.id, "zendesk:acme:audit-log:498483");
    /// assert_eq!((event.action, event.outcome), (Action::Login, Outcome::Unknown));
    /// ```
    pub fn new(
        source: Source,
        kind: RecordKind,
        native_id: impl Into<String>,
        occurred_at: DateTime<Utc>,
        vendor_action: impl Into<String>,
        raw: impl Into<RawJson>,
    ) -> Self {
        let vendor_action = vendor_action.into();
        let action = Action::from(vendor_action.as_str());
        Self::with_action(
            source,
            kind,
            native_id.into(),
            occurred_at,
            (action, vendor_action),
            raw.into(),
        )
    }

    /// [`AuditEvent::new`] with its `action` chosen by the mapper rather than read from the
    /// vendor's word (which, not a known verb, would be copied into `Action::Other` first).
    pub(crate) fn with_action(
        source: Source,
        kind: RecordKind,
        native_id: String,
        occurred_at: DateTime<Utc>,
        (action, vendor_action): (Action, String),
        raw: RawJson,
    ) -> Self {
        AuditEvent {
            id: Self::stable_id(&source, kind, &native_id),
            source,
            native_id,
            occurred_at,
            occurred_at_inferred: false,
            action,
            vendor_action,
            outcome: Outcome::Unknown,
            actor: Actor::default(),
            target: None,
            changes: Vec::new(),
            description: None,
            correlation_id: None,
            service: None,
            level: None,
            rule: None,
            context: Default::default(),
            raw,
            decode_issue: None,
            quarantined: None,
        }
    }

    /// Writes the event as one line of compact JSON (no newline): the same JSON value as
    /// `serde_json::to_writer` gives, but with [`raw`](AuditEvent::raw) copied as the text it
    /// arrived as (spacing included) rather than parsed and serialised again: the fast way to
    /// export events.
    ///
    /// ```
    /// use audit_core::event::{AuditEvent, RecordKind, Source, StreamKind};
    ///
    /// let raw: audit_core::RawJson = serde_json::from_str(r#"{"id":1,"action":"login"}"#).unwrap();
    /// let source = Source::new(StreamKind::ZendeskAuditLogs, "acme");
    /// let event = AuditEvent::new(source, RecordKind::ZendeskAuditLog, "1",
    ///     chrono::DateTime::UNIX_EPOCH, "login", raw);
    /// let mut line = Vec::new();
    /// event.write_json(&mut line).unwrap();
    /// assert_eq!(line, serde_json::to_vec(&event).unwrap());
    /// assert!(line.ends_with(br#","raw":{"id":1,"action":"login"}}"#));
    /// ```
    pub fn write_json<W: std::io::Write>(&self, writer: W) -> serde_json::Result<()> {
        raw_support::write_verbatim(writer, self)
    }
}

/// A native id for a record that has none: stable (a hash of its JSON), and marked
/// `no-id-…`. Shared by the vendor mappers.
pub(crate) fn fallback_native_id(raw: &Value) -> String {
    // FNV-1a, 64 bit: stable across runs and platforms.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in raw.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("no-id-{hash:016x}")
}

/// Where a record came from: vendor, stream and tenant.
///
/// ```
/// use audit_core::{Source, StreamKind, Vendor};
///
/// let source = Source::new(StreamKind::GenesysRealtime, "acme");
/// assert_eq!(source.vendor, Vendor::Genesys);
/// assert_eq!(serde_json::to_string(&source).unwrap(),
///     r#"{"vendor":"genesys","stream":"genesys-realtime","tenant":"acme"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Source {
    /// The vendor.
    pub vendor: Vendor,
    /// The stream the record was read from.
    pub stream: StreamKind,
    /// The vendor account: the Zendesk subdomain, or the Genesys Cloud organisation.
    pub tenant: String,
}

impl Source {
    /// The source of `stream` for `tenant`; the vendor follows from the stream.
    ///
    /// ```
    /// use audit_core::{Source, StreamKind, Vendor};
    ///
    /// let source = Source::new(StreamKind::ZendeskTicketAudits, "acme");
    /// assert_eq!((source.vendor, source.tenant.as_str()), (Vendor::Zendesk, "acme"));
    /// ```
    pub fn new(stream: StreamKind, tenant: impl Into<String>) -> Self {
        Source {
            vendor: stream.vendor(),
            stream,
            tenant: tenant.into(),
        }
    }
}

/// The vendors this crate reads.
///
/// ```
/// use audit_core::{StreamKind, Vendor};
///
/// let zendesk: Vec<StreamKind> =
///     StreamKind::ALL.into_iter().filter(|s| s.vendor() == Vendor::Zendesk).collect();
/// assert_eq!(
///     zendesk,
///     [StreamKind::ZendeskTicketAudits, StreamKind::ZendeskAuditLogs, StreamKind::ZendeskTicketEvents]
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Vendor {
    /// Zendesk Support.
    Zendesk,
    /// Genesys Cloud.
    Genesys,
}

impl Vendor {
    /// The lower-case name used in ids and file names.
    ///
    /// ```
    /// use audit_core::Vendor;
    ///
    /// assert_eq!(Vendor::Genesys.as_str(), "genesys");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Zendesk => "zendesk",
            Vendor::Genesys => "genesys",
        }
    }

    /// The product name, as OCSF's `metadata.product.name` wants it.
    ///
    /// ```
    /// use audit_core::Vendor;
    ///
    /// assert_eq!(Vendor::Zendesk.product_name(), "Zendesk Support");
    /// ```
    pub fn product_name(self) -> &'static str {
        match self {
            Vendor::Zendesk => "Zendesk Support",
            Vendor::Genesys => "Genesys Cloud",
        }
    }
}

/// The audit streams this crate exports.
///
/// ```
/// use audit_core::StreamKind;
///
/// let stream: StreamKind = "genesys-audits".parse()?;
/// assert_eq!(stream, StreamKind::GenesysAudits);
/// assert_eq!(stream.to_string(), "genesys-audits");
/// assert!("genesys-audit".parse::<StreamKind>().unwrap_err().contains("expected one of"));
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum StreamKind {
    /// Zendesk ticket audits (`/api/v2/ticket_audits`, `/api/v2/tickets/{id}/audits`).
    ZendeskTicketAudits,
    /// Zendesk account audit logs (`/api/v2/audit_logs`).
    ZendeskAuditLogs,
    /// Genesys Cloud historical audit queries (`/api/v2/audits/query`).
    GenesysAudits,
    /// Genesys Cloud realtime audit queries (`/api/v2/audits/query/realtime`).
    GenesysRealtime,
    /// Zendesk ticket updates through the incremental ticket-event export
    /// (`/api/v2/incremental/ticket_events`): change capture, archived tickets included. Its
    /// records are ticket audits: an update has the same event id in both Zendesk streams.
    ZendeskTicketEvents,
}

impl StreamKind {
    /// Every stream, in a stable order.
    ///
    /// ```
    /// use audit_core::StreamKind;
    ///
    /// let names: Vec<&str> = StreamKind::ALL.iter().map(|s| s.as_str()).collect();
    /// assert_eq!(
    ///     names,
    ///     ["zendesk-ticket-audits", "zendesk-audit-logs", "genesys-audits", "genesys-realtime", "zendesk-ticket-events"]
    /// );
    /// ```
    pub const ALL: [StreamKind; 5] = [
        StreamKind::ZendeskTicketAudits,
        StreamKind::ZendeskAuditLogs,
        StreamKind::GenesysAudits,
        StreamKind::GenesysRealtime,
        StreamKind::ZendeskTicketEvents,
    ];

    /// The stream's name, as the CLI spells it (`zendesk-audit-logs`).
    ///
    /// ```
    /// use audit_core::StreamKind;
    ///
    /// assert_eq!(StreamKind::ZendeskAuditLogs.as_str(), "zendesk-audit-logs");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::ZendeskTicketAudits => "zendesk-ticket-audits",
            StreamKind::ZendeskAuditLogs => "zendesk-audit-logs",
            StreamKind::GenesysAudits => "genesys-audits",
            StreamKind::GenesysRealtime => "genesys-realtime",
            StreamKind::ZendeskTicketEvents => "zendesk-ticket-events",
        }
    }

    /// The vendor the stream belongs to.
    ///
    /// ```
    /// use audit_core::{StreamKind, Vendor};
    ///
    /// assert_eq!(StreamKind::GenesysRealtime.vendor(), Vendor::Genesys);
    /// ```
    pub fn vendor(self) -> Vendor {
        match self {
            StreamKind::ZendeskTicketAudits
            | StreamKind::ZendeskAuditLogs
            | StreamKind::ZendeskTicketEvents => Vendor::Zendesk,
            StreamKind::GenesysAudits | StreamKind::GenesysRealtime => Vendor::Genesys,
        }
    }

    /// The kind of record the stream yields.
    ///
    /// ```
    /// use audit_core::{RecordKind, StreamKind};
    ///
    /// assert_eq!(StreamKind::GenesysRealtime.record_kind(), RecordKind::GenesysAudit);
    /// assert_eq!(StreamKind::GenesysAudits.record_kind(), RecordKind::GenesysAudit);
    /// ```
    pub fn record_kind(self) -> RecordKind {
        match self {
            // A ticket event is the audit of the same update, under the same id.
            StreamKind::ZendeskTicketAudits | StreamKind::ZendeskTicketEvents => {
                RecordKind::ZendeskTicketAudit
            }
            StreamKind::ZendeskAuditLogs => RecordKind::ZendeskAuditLog,
            StreamKind::GenesysAudits | StreamKind::GenesysRealtime => RecordKind::GenesysAudit,
        }
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for StreamKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StreamKind::ALL
            .into_iter()
            .find(|stream| stream.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = StreamKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown stream `{s}`; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}

/// The namespace of a vendor's native ids. Genesys historical and realtime queries return the
/// same records, so they share one kind and one record gets one id whichever stream read it.
///
/// ```
/// use audit_core::{AuditEvent, RecordKind, Source, StreamKind};
///
/// let source = Source::new(StreamKind::ZendeskTicketAudits, "acme");
/// let id = AuditEvent::stable_id(&source, RecordKind::ZendeskTicketAudit, "1201");
/// assert_eq!(id, "zendesk:acme:ticket-audit:1201");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// A Zendesk ticket audit (one ticket update).
    ZendeskTicketAudit,
    /// A Zendesk audit-log record.
    ZendeskAuditLog,
    /// A Genesys Cloud `AuditLogMessage`.
    GenesysAudit,
}

impl RecordKind {
    /// The kind's name in ids.
    ///
    /// ```
    /// use audit_core::RecordKind;
    ///
    /// assert_eq!(RecordKind::ZendeskAuditLog.as_str(), "audit-log");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::ZendeskTicketAudit => "ticket-audit",
            RecordKind::ZendeskAuditLog => "audit-log",
            RecordKind::GenesysAudit => "audit",
        }
    }
}

/// Declares an open enum: known variants serialise as fixed lower-case names, anything else is
/// kept verbatim in `Other`, and the JSON Schema lists the known names while accepting any string.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value not (yet) known to this crate, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The known names, in declaration order.
            pub const KNOWN: &'static [&'static str] = &[$($text),+];

            /// The canonical name, or the verbatim value for `Other`.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(value) => value,
                }
            }
        }

        impl From<&str> for $name {
            /// Parses a canonical name exactly; anything else becomes `Other`.
            fn from(value: &str) -> Self {
                match value {
                    $($text => $name::$variant,)+
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = Cow::<str>::deserialize(deserializer)?;
                Ok($name::from(value.as_ref()))
            }
        }

        #[cfg(feature = "schema")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "description":
                        "Open enum: one of the known values, or any other string the vendor sends.",
                    "anyOf": [
                        {"type": "string", "enum": $name::KNOWN},
                        {"type": "string"}
                    ]
                })
            }
        }
    };
}

open_enum! {
    /// The normalised verb of an audit record.
    ///
    /// Mappers choose a known verb where the vendor's action clearly is one; everything else
    /// is `Other` with the vendor's word, so nothing is forced into a wrong bucket.
    Action {
        /// Something was created.
        Create = "create",
        /// Something was viewed or read.
        Read = "read",
        /// Something was changed.
        Update = "update",
        /// Something was deleted.
        Delete = "delete",
        /// A sign-in.
        Login = "login",
        /// A sign-out.
        Logout = "logout",
        /// Data was exported or downloaded.
        Export = "export",
    }
}

open_enum! {
    /// Whether the audited action succeeded.
    Outcome {
        /// It succeeded.
        Success = "success",
        /// It failed.
        Failure = "failure",
        /// It succeeded with a warning (Genesys `WARNING`).
        Warning = "warning",
        /// The record does not say.
        Unknown = "unknown",
    }
}

/// Who (or what) performed the audited action.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = audit_sim::start(audit_sim::SimConfig::default()).await?;
/// # let acme = sim.tenant_credentials("acme").unwrap();
/// # let client = audit_core::genesys::GenesysClient::builder()
/// #     .api_base_url(sim.genesys_api_url())
/// #     .login_base_url(sim.genesys_login_url())
/// #     .client_credentials(acme.genesys_client_id, acme.genesys_client_secret)
/// #     .tenant("acme")
/// #     .build()?;
/// use audit_core::{ActorKind, Window};
/// use chrono::{Duration, Utc};
/// use futures::TryStreamExt;
///
/// let events: Vec<_> = client.audit_events(Window::since(Utc::now() - Duration::days(10)))
///     .events().try_collect().await?;
/// let users = events.iter().filter(|event| event.actor.kind == ActorKind::User);
/// assert!(users.clone().count() > 0 && users.clone().all(|event| event.actor.id.is_some()));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Actor {
    /// What kind of actor it is.
    pub kind: ActorKind,
    /// The vendor's id of the actor (a user id; for API clients the client id).
    pub id: Option<String>,
    /// The actor's display name, when the record carries it.
    pub name: Option<String>,
    /// The IP address the action came from.
    pub ip: Option<String>,
    /// The user agent (browser or HTTP client) the action came from.
    pub user_agent: Option<String>,
    /// The application or API client used, when it is not the actor itself
    /// (Genesys OAuth client id, Zendesk via channel).
    pub app: Option<String>,
    /// The application the action was made in, by name (Genesys `application`), also when
    /// `app` holds the API client's id. Omitted when the record does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// The IP addresses the action came through after `ip` (Genesys sends a list: the client,
    /// then proxies). Omitted when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_ips: Vec<String>,
    /// Where the action came from, as the vendor locates the IP address (Zendesk
    /// `metadata.system.location`, `"Copenhagen, 84, Denmark"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The organisation the acting user belongs to (Genesys `userHomeOrgId`; it differs from
    /// the tenant when a user of another organisation acts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_org: Option<String>,
}

/// A business rule that made a change (Zendesk `via.source` when `rel` names a rule).
///
/// ```
/// use audit_core::{AuditEvent, Rule};
///
/// let event: AuditEvent = serde_json::from_str(r#"{
///     "id": "zendesk:acme:ticket-audit:1201", "native_id": "1201",
///     "source": {"vendor": "zendesk", "stream": "zendesk-ticket-audits", "tenant": "acme"},
///     "occurred_at": "2024-03-18T10:02:51Z", "action": "update", "vendor_action": "update",
///     "outcome": "success", "actor": {"kind": "system", "id": "-1", "name": null, "ip": null,
///     "user_agent": null, "app": null}, "target": null, "changes": [], "description": null,
///     "correlation_id": "48213", "rule": {"kind": "trigger", "id": "360001", "title": "Escalate VIP"},
///     "raw": {}
/// }"#)?;
/// assert_eq!(event.rule, Some(Rule::new("trigger", Some("360001".into()), Some("Escalate VIP".into()))));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Rule {
    /// What kind of rule (`trigger`, `automation`, `macro`, …: Zendesk's `rel`).
    pub kind: String,
    /// The rule's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The rule's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// The kind of actor.
///
/// ```
/// use audit_core::ActorKind;
///
/// assert_eq!(ActorKind::default(), ActorKind::Unknown);
/// assert_eq!(serde_json::to_string(&ActorKind::ApiClient).unwrap(), r#""api_client""#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActorKind {
    /// A person with an account.
    User,
    /// The vendor's own automation (Zendesk `author_id = -1`, Genesys `SYSTEM` level).
    System,
    /// An API client acting without a user (an OAuth client-credentials grant).
    ApiClient,
    /// The record does not say.
    #[default]
    Unknown,
}

/// What the audited action was performed on.
///
/// ```
/// use audit_core::Target;
///
/// let target = Target::new("ticket", Some("48213".into()), None);
/// assert_eq!(serde_json::to_value(&target).unwrap(),
///     serde_json::json!({"kind": "ticket", "id": "48213", "name": null}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Target {
    /// The vendor's name for the kind of object (`ticket`, `user`, `Queue`).
    pub kind: String,
    /// The vendor's id of the object.
    pub id: Option<String>,
    /// The object's display name.
    pub name: Option<String>,
}

/// One field-level change. Values are the vendor's JSON, untouched: strings, numbers, arrays,
/// objects or `null` (a cleared field).
///
/// ```
/// use audit_core::Change;
/// use serde_json::{Value, json};
///
/// // A cleared field: the new value is `null`.
/// let cleared = Change::new("assignee_id", json!(7700412231_i64), Value::Null);
/// assert!(cleared.new.is_null());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Change {
    /// The field or property that changed.
    pub field: String,
    /// The value before, `null` when unknown or unset.
    pub old: Value,
    /// The value after, `null` when cleared.
    pub new: Value,
}

impl Change {
    /// `field` changed from `old` to `new` (the vendor's JSON values).
    ///
    /// ```
    /// use audit_core::Change;
    /// use serde_json::json;
    ///
    /// let change = Change::new("status", json!("open"), json!("solved"));
    /// assert_eq!((change.field.as_str(), change.new.as_str()), ("status", Some("solved")));
    /// ```
    pub fn new(field: impl Into<String>, old: Value, new: Value) -> Self {
        Change {
            field: field.into(),
            old,
            new,
        }
    }
}

impl Target {
    /// An object of the vendor's `kind`, with its id and display name when known.
    ///
    /// ```
    /// use audit_core::Target;
    ///
    /// let queue = Target::new("Queue", Some("c2a5".into()), Some("Billing".into()));
    /// assert_eq!(queue.name.as_deref(), Some("Billing"));
    /// ```
    pub fn new(kind: impl Into<String>, id: Option<String>, name: Option<String>) -> Self {
        Target {
            kind: kind.into(),
            id,
            name,
        }
    }
}

impl Rule {
    /// A rule of `kind` (`trigger`, `automation`, …), with its id and title when known.
    ///
    /// ```
    /// use audit_core::Rule;
    ///
    /// let rule = Rule::new("automation", Some("360002".into()), None);
    /// assert_eq!(rule.kind, "automation");
    /// ```
    pub fn new(kind: impl Into<String>, id: Option<String>, title: Option<String>) -> Self {
        Rule {
            kind: kind.into(),
            id,
            title,
        }
    }
}
