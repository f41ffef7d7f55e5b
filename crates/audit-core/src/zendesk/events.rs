//! A typed view of the events inside a Zendesk ticket audit.
//!
//! Zendesk adds event kinds without notice and documents some under two spellings, so the
//! view is open: every documented kind has a variant (both spellings accepted), anything else
//! is [`TicketEvent::Unknown`] with its JSON, and reading never fails — a field of an
//! unexpected type is simply absent from the typed view (it stays in the audit's `raw`).

use serde_json::{Map, Value};

/// One event of a ticket audit.
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// let event = TicketEvent::from_json(&json!(
///     {"id": 1, "type": "Change", "field_name": "status", "value": "open", "previous_value": "new"}
/// ));
/// match event {
///     TicketEvent::Change(change) => {
///         assert_eq!(change.field_name, "status");
///         assert_eq!(change.previous_value, json!("new"));
///     }
///     other => panic!("{other:?}"),
/// }
/// let unknown = TicketEvent::from_json(&json!({"id": 2, "type": "WebhookEvent", "webhook_id": "w"}));
/// assert_eq!(unknown.type_name(), "WebhookEvent");
/// assert!(matches!(unknown, TicketEvent::Unknown { .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TicketEvent {
    /// `Create`: a field's value when the ticket was created.
    Create(FieldEvent),
    /// `Change`: a field changed.
    Change(FieldEvent),
    /// `Comment`.
    Comment(CommentEvent),
    /// `VoiceComment`: a call recording or voicemail.
    VoiceComment(CommentEvent),
    /// `FacebookComment`.
    FacebookComment(CommentEvent),
    /// `CommentPrivacyChange`: a comment was made private or public.
    CommentPrivacyChange(CommentPrivacyChange),
    /// `CommentRedactionEvent`: text of a comment was redacted.
    CommentRedaction(RedactionEvent),
    /// `AttachmentRedactionEvent`: an attachment was redacted.
    AttachmentRedaction(RedactionEvent),
    /// `Notification`: an e-mail notification sent by a business rule.
    Notification(NotificationEvent),
    /// `NotificationWithCcs`.
    NotificationWithCcs(NotificationEvent),
    /// `Cc`: CCs were notified.
    Cc(NotificationEvent),
    /// `FollowerNotificationEvent` (also sent as `FollowerNotification`).
    FollowerNotification(NotificationEvent),
    /// `OrganizationActivity`: an organization subscription notification.
    OrganizationActivity(NotificationEvent),
    /// `FollowersChange` (also sent as `FollowerChange`).
    FollowersChange(ListChange),
    /// `EmailCcChange`.
    EmailCcChange(ListChange),
    /// `AgentMacroReference`: a macro was applied.
    AgentMacroReference(MacroReference),
    /// `SatisfactionRating`.
    SatisfactionRating(SatisfactionRating),
    /// `TicketSharingEvent`.
    TicketSharing(TicketSharing),
    /// `Error`: a business rule failed.
    Error(ErrorEvent),
    /// `ChatStartedEvent`: a chat, with its history in `value`.
    ChatStarted(ChatStarted),
    /// A documented channel event with loosely known fields: `Tweet`, `SMS`, `FacebookEvent`,
    /// `External`, `LogMeInTranscript`, `Push`.
    Channel(ChannelEvent),
    /// Any other kind, kept whole.
    Unknown {
        /// The event's `type` (empty when it has none).
        type_: String,
        /// The event's JSON.
        raw: Value,
    },
}

/// `Create` and `Change` events. Values are the vendor's JSON (string, integer, array,
/// object or null).
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::{Value, json};
///
/// let TicketEvent::Create(created) = TicketEvent::from_json(
///     &json!({"id": 5, "type": "Create", "field_name": "priority", "value": "high"}),
/// ) else { unreachable!() };
/// assert_eq!((created.value, created.previous_value), (json!("high"), Value::Null));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FieldEvent {
    /// The event id.
    pub id: Option<i64>,
    /// The field: a ticket field name, or the id of a custom field as a string.
    pub field_name: String,
    /// The new value.
    pub value: Value,
    /// The value before (`null` for `Create`).
    pub previous_value: Value,
    /// The event's own `via`, when it differs from the audit's (a trigger in an agent's update).
    pub via: Option<Value>,
}

/// Comment events (`Comment`, `VoiceComment`, `FacebookComment`).
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// let event = TicketEvent::from_json(&json!(
///     {"id": 6, "type": "Comment", "author_id": 77, "public": false, "body": "Refund approved"}
/// ));
/// let TicketEvent::Comment(comment) = event else { unreachable!() };
/// assert_eq!((comment.public, comment.body.as_deref()), (Some(false), Some("Refund approved")));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CommentEvent {
    /// The event id.
    pub id: Option<i64>,
    /// Who wrote it.
    pub author_id: Option<i64>,
    /// Whether requesters can see it.
    pub public: Option<bool>,
    /// The text.
    pub body: Option<String>,
    /// The attachments, as the vendor sent them.
    pub attachments: Vec<Value>,
}

/// `CommentPrivacyChange`.
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// let event = TicketEvent::from_json(&json!(
///     {"id": 7, "type": "CommentPrivacyChange", "comment_id": 6, "public": false}
/// ));
/// let TicketEvent::CommentPrivacyChange(change) = event else { unreachable!() };
/// assert_eq!((change.comment_id, change.public), (Some(6), Some(false)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CommentPrivacyChange {
    /// The event id.
    pub id: Option<i64>,
    /// The comment.
    pub comment_id: Option<i64>,
    /// Whether the comment is public now.
    pub public: Option<bool>,
}

/// Redaction events.
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// let event = TicketEvent::from_json(&json!(
///     {"id": 8, "type": "AttachmentRedactionEvent", "comment_id": 6, "attachment_id": 900}
/// ));
/// let TicketEvent::AttachmentRedaction(redaction) = event else { unreachable!() };
/// assert_eq!(redaction.attachment_id, Some(900));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RedactionEvent {
    /// The event id.
    pub id: Option<i64>,
    /// The comment redacted (or holding the attachment).
    pub comment_id: Option<i64>,
    /// The attachment redacted.
    pub attachment_id: Option<i64>,
}

/// Notification events.
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// let event = TicketEvent::from_json(&json!({"id": 9, "type": "Notification",
///     "subject": "Ticket received", "recipients": [77, 78], "via": {"channel": "rule"}}));
/// let TicketEvent::Notification(sent) = event else { unreachable!() };
/// assert_eq!(sent.recipients.len(), 2);
/// assert!(sent.via.is_some());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NotificationEvent {
    /// The event id.
    pub id: Option<i64>,
    /// The e-mail subject.
    pub subject: Option<String>,
    /// The recipients (user ids).
    pub recipients: Vec<Value>,
    /// The event's own `via` (usually the rule that sent it).
    pub via: Option<Value>,
}

/// `FollowersChange` and `EmailCcChange`.
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// // Zendesk spells this one two ways; both read the same.
/// let event = TicketEvent::from_json(&json!({"id": 10, "type": "FollowerChange",
///     "previous_followers": [], "current_followers": ["ops@acme.test"]}));
/// let TicketEvent::FollowersChange(followers) = event else { unreachable!() };
/// assert_eq!(followers.current, [json!("ops@acme.test")]);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ListChange {
    /// The event id.
    pub id: Option<i64>,
    /// The list before.
    pub previous: Vec<Value>,
    /// The list after.
    pub current: Vec<Value>,
}

/// `AgentMacroReference`.
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// let event = TicketEvent::from_json(&json!({"id": 11, "type": "AgentMacroReference",
///     "macro_id": "360001", "macro_title": "Close and thank", "macro_deleted": false}));
/// let TicketEvent::AgentMacroReference(applied) = event else { unreachable!() };
/// assert_eq!(applied.macro_title.as_deref(), Some("Close and thank"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MacroReference {
    /// The event id.
    pub id: Option<i64>,
    /// The macro id (Zendesk sends it as a string).
    pub macro_id: Option<String>,
    /// The macro's title.
    pub macro_title: Option<String>,
    /// Whether the macro has since been deleted.
    pub macro_deleted: Option<bool>,
}

/// `SatisfactionRating`.
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// let event = TicketEvent::from_json(&json!(
///     {"id": 12, "type": "SatisfactionRating", "score": "good", "assignee_id": 77}
/// ));
/// let TicketEvent::SatisfactionRating(rating) = event else { unreachable!() };
/// assert_eq!(rating.score.as_deref(), Some("good"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SatisfactionRating {
    /// The event id.
    pub id: Option<i64>,
    /// The score (`good`, `bad`, `offered`, …).
    pub score: Option<String>,
    /// The agent rated.
    pub assignee_id: Option<i64>,
}

/// `TicketSharingEvent`.
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// let event = TicketEvent::from_json(&json!(
///     {"id": 13, "type": "TicketSharingEvent", "agreement_id": 4, "action": "shared"}
/// ));
/// let TicketEvent::TicketSharing(sharing) = event else { unreachable!() };
/// assert_eq!((sharing.agreement_id, sharing.action.as_deref()), (Some(4), Some("shared")));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TicketSharing {
    /// The event id.
    pub id: Option<i64>,
    /// The sharing agreement.
    pub agreement_id: Option<i64>,
    /// What happened (`shared`, `unshared`).
    pub action: Option<String>,
}

/// `Error`.
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// let event = TicketEvent::from_json(&json!({"id": 14, "type": "Error", "message": "Target failed"}));
/// let TicketEvent::Error(failed) = event else { unreachable!() };
/// assert_eq!(failed.message.as_deref(), Some("Target failed"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ErrorEvent {
    /// The event id.
    pub id: Option<i64>,
    /// The error message.
    pub message: Option<String>,
}

/// `ChatStartedEvent`.
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// let event = TicketEvent::from_json(&json!({"id": 15, "type": "ChatStartedEvent",
///     "value": {"visitor_id": "v1", "chat_id": "c1", "history": []}}));
/// let TicketEvent::ChatStarted(chat) = event else { unreachable!() };
/// assert_eq!(chat.value["chat_id"], "c1");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChatStarted {
    /// The event id.
    pub id: Option<i64>,
    /// The chat: `visitor_id`, `chat_id`, `history`.
    pub value: Value,
}

/// Channel events with loosely known fields.
///
/// ```
/// use audit_core::zendesk::TicketEvent;
/// use serde_json::json;
///
/// let event = TicketEvent::from_json(&json!({"id": 16, "type": "SMS", "body": "Call me back"}));
/// let TicketEvent::Channel(sms) = event else { unreachable!() };
/// assert_eq!((sms.type_.as_str(), sms.body.as_deref()), ("SMS", Some("Call me back")));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChannelEvent {
    /// The event id.
    pub id: Option<i64>,
    /// The event's `type` (`Tweet`, `SMS`, …).
    pub type_: String,
    /// The text, when there is one.
    pub body: Option<String>,
}

/// The kinds of ticket-audit event this crate reads, by their `type` (both spellings where
/// Zendesk sends two): the one table behind [`TicketEvent`] and the mapping's reading of an
/// audit (`super::audit_gist`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EventKind {
    Create,
    Change,
    Comment,
    VoiceComment,
    FacebookComment,
    CommentPrivacyChange,
    CommentRedaction,
    AttachmentRedaction,
    Notification,
    NotificationWithCcs,
    Cc,
    FollowerNotification,
    OrganizationActivity,
    FollowersChange,
    EmailCcChange,
    AgentMacroReference,
    SatisfactionRating,
    TicketSharing,
    Error,
    ChatStarted,
    Channel,
    /// Any other `type` (or none).
    Other,
}

impl EventKind {
    /// The kind of an event of type `type_`.
    pub(super) fn of(type_: &str) -> EventKind {
        match type_ {
            "Create" => EventKind::Create,
            "Change" => EventKind::Change,
            "Comment" => EventKind::Comment,
            "VoiceComment" => EventKind::VoiceComment,
            "FacebookComment" => EventKind::FacebookComment,
            "CommentPrivacyChange" => EventKind::CommentPrivacyChange,
            "CommentRedactionEvent" => EventKind::CommentRedaction,
            "AttachmentRedactionEvent" => EventKind::AttachmentRedaction,
            "Notification" => EventKind::Notification,
            "NotificationWithCcs" => EventKind::NotificationWithCcs,
            "Cc" => EventKind::Cc,
            "FollowerNotificationEvent" | "FollowerNotification" => EventKind::FollowerNotification,
            "OrganizationActivity" => EventKind::OrganizationActivity,
            "FollowersChange" | "FollowerChange" => EventKind::FollowersChange,
            "EmailCcChange" => EventKind::EmailCcChange,
            "AgentMacroReference" => EventKind::AgentMacroReference,
            "SatisfactionRating" => EventKind::SatisfactionRating,
            "TicketSharingEvent" => EventKind::TicketSharing,
            "Error" => EventKind::Error,
            "ChatStartedEvent" => EventKind::ChatStarted,
            "Tweet" | "SMS" | "FacebookEvent" | "External" | "LogMeInTranscript" | "Push" => {
                EventKind::Channel
            }
            _ => EventKind::Other,
        }
    }
}

// Lenient readers of an event's members, shared with the mapping's reading of an audit
// (`super::audit_gist`): a member of another type than expected reads as missing.

/// An integer, or a string holding one.
pub(super) fn int(member: Option<&Value>) -> Option<i64> {
    match member? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string, or a number or boolean as text.
pub(super) fn text(member: Option<&Value>) -> Option<String> {
    match member? {
        Value::String(s) => Some(s.clone()),
        other => into_text(other.clone()),
    }
}

/// [`text`] of a member given up.
pub(super) fn into_text(member: Value) -> Option<String> {
    match member {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A boolean, or a string holding one.
pub(super) fn flag(member: Option<&Value>) -> Option<bool> {
    match member? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// An array's items; none for null or missing, the value alone for anything else.
fn list(member: Option<&Value>) -> Vec<Value> {
    match member {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.clone()],
    }
}

fn value(member: Option<&Value>) -> Value {
    member.cloned().unwrap_or(Value::Null)
}

fn via(object: &Map<String, Value>) -> Option<Value> {
    object.get("via").filter(|v| !v.is_null()).cloned()
}

impl TicketEvent {
    /// Reads one event. Never fails: anything unrecognised is [`TicketEvent::Unknown`].
    ///
    /// ```
    /// use audit_core::zendesk::TicketEvent;
    /// use serde_json::json;
    ///
    /// // Never fails: a field of the wrong type is left out of the typed view.
    /// let event = TicketEvent::from_json(&json!({"id": "x", "type": "Comment", "public": "yes"}));
    /// let TicketEvent::Comment(comment) = event else { unreachable!() };
    /// assert_eq!((comment.id, comment.public), (None, None));
    /// ```
    pub fn from_json(event: &Value) -> TicketEvent {
        let Some(object) = event.as_object() else {
            return TicketEvent::Unknown {
                type_: String::new(),
                raw: event.clone(),
            };
        };
        let type_ = object
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        TicketEvent::read(int(object.get("id")), type_, object, || event.clone())
    }

    /// The event of kind `type_` whose members (other than `id` and `type`) are `object`;
    /// `whole` is the event's JSON, for an event kept as [`Unknown`](TicketEvent::Unknown).
    fn read(
        id: Option<i64>,
        type_: &str,
        object: &Map<String, Value>,
        whole: impl FnOnce() -> Value,
    ) -> TicketEvent {
        let field = |object: &Map<String, Value>| -> Option<FieldEvent> {
            Some(FieldEvent {
                id,
                field_name: text(object.get("field_name"))?,
                value: value(object.get("value")),
                previous_value: value(object.get("previous_value")),
                via: via(object),
            })
        };
        let comment = || CommentEvent {
            id,
            author_id: int(object.get("author_id")),
            public: flag(object.get("public")),
            body: text(object.get("body")),
            attachments: list(object.get("attachments")),
        };
        let notification = || NotificationEvent {
            id,
            subject: text(object.get("subject")),
            recipients: list(object.get("recipients")),
            via: via(object),
        };
        let redaction = || RedactionEvent {
            id,
            comment_id: int(object.get("comment_id")),
            attachment_id: int(object.get("attachment_id")),
        };
        let typed = match EventKind::of(type_) {
            EventKind::Create => field(object).map(TicketEvent::Create),
            EventKind::Change => field(object).map(TicketEvent::Change),
            EventKind::Comment => Some(TicketEvent::Comment(comment())),
            EventKind::VoiceComment => Some(TicketEvent::VoiceComment(comment())),
            EventKind::FacebookComment => Some(TicketEvent::FacebookComment(comment())),
            EventKind::CommentPrivacyChange => {
                Some(TicketEvent::CommentPrivacyChange(CommentPrivacyChange {
                    id,
                    comment_id: int(object.get("comment_id")),
                    public: flag(object.get("public")),
                }))
            }
            EventKind::CommentRedaction => Some(TicketEvent::CommentRedaction(redaction())),
            EventKind::AttachmentRedaction => Some(TicketEvent::AttachmentRedaction(redaction())),
            EventKind::Notification => Some(TicketEvent::Notification(notification())),
            EventKind::NotificationWithCcs => {
                Some(TicketEvent::NotificationWithCcs(notification()))
            }
            EventKind::Cc => Some(TicketEvent::Cc(notification())),
            EventKind::FollowerNotification => {
                Some(TicketEvent::FollowerNotification(notification()))
            }
            EventKind::OrganizationActivity => {
                Some(TicketEvent::OrganizationActivity(notification()))
            }
            EventKind::FollowersChange => Some(TicketEvent::FollowersChange(ListChange {
                id,
                previous: list(object.get("previous_followers")),
                current: list(object.get("current_followers")),
            })),
            EventKind::EmailCcChange => Some(TicketEvent::EmailCcChange(ListChange {
                id,
                previous: list(object.get("previous_email_ccs")),
                current: list(object.get("current_email_ccs")),
            })),
            EventKind::AgentMacroReference => {
                Some(TicketEvent::AgentMacroReference(MacroReference {
                    id,
                    macro_id: text(object.get("macro_id")),
                    macro_title: text(object.get("macro_title")),
                    macro_deleted: flag(object.get("macro_deleted")),
                }))
            }
            EventKind::SatisfactionRating => {
                Some(TicketEvent::SatisfactionRating(SatisfactionRating {
                    id,
                    score: text(object.get("score")),
                    assignee_id: int(object.get("assignee_id")),
                }))
            }
            EventKind::TicketSharing => Some(TicketEvent::TicketSharing(TicketSharing {
                id,
                agreement_id: int(object.get("agreement_id")),
                action: text(object.get("action")),
            })),
            EventKind::Error => Some(TicketEvent::Error(ErrorEvent {
                id,
                message: text(object.get("message")),
            })),
            EventKind::ChatStarted => Some(TicketEvent::ChatStarted(ChatStarted {
                id,
                value: value(object.get("value")),
            })),
            EventKind::Channel => Some(TicketEvent::Channel(ChannelEvent {
                id,
                type_: type_.to_string(),
                body: text(object.get("body")),
            })),
            EventKind::Other => None,
        };
        typed.unwrap_or_else(|| TicketEvent::Unknown {
            type_: type_.to_string(),
            raw: whole(),
        })
    }

    /// Reads the `events` array of an audit's JSON.
    ///
    /// ```
    /// use audit_core::zendesk::TicketEvent;
    /// use serde_json::json;
    ///
    /// let audit = json!({"id": 1201, "ticket_id": 48213, "events": [
    ///     {"id": 1, "type": "Change", "field_name": "status", "value": "solved", "previous_value": "open"},
    ///     {"id": 2, "type": "Notification", "subject": "Solved", "recipients": [77]}
    /// ]});
    /// let names: Vec<String> = TicketEvent::all_from_audit(&audit).iter().map(|e| e.type_name().to_string()).collect();
    /// assert_eq!(names, ["Change", "Notification"]);
    /// ```
    pub fn all_from_audit(audit: &Value) -> Vec<TicketEvent> {
        audit
            .get("events")
            .and_then(Value::as_array)
            .map(|events| events.iter().map(TicketEvent::from_json).collect())
            .unwrap_or_default()
    }

    /// The event's `type`, in its canonical spelling.
    ///
    /// ```
    /// use audit_core::zendesk::TicketEvent;
    /// use serde_json::json;
    ///
    /// // The canonical spelling, whichever one Zendesk sent.
    /// let event = TicketEvent::from_json(&json!({"id": 3, "type": "FollowerNotification"}));
    /// assert_eq!(event.type_name(), "FollowerNotificationEvent");
    /// ```
    pub fn type_name(&self) -> &str {
        match self {
            TicketEvent::Create(_) => "Create",
            TicketEvent::Change(_) => "Change",
            TicketEvent::Comment(_) => "Comment",
            TicketEvent::VoiceComment(_) => "VoiceComment",
            TicketEvent::FacebookComment(_) => "FacebookComment",
            TicketEvent::CommentPrivacyChange(_) => "CommentPrivacyChange",
            TicketEvent::CommentRedaction(_) => "CommentRedactionEvent",
            TicketEvent::AttachmentRedaction(_) => "AttachmentRedactionEvent",
            TicketEvent::Notification(_) => "Notification",
            TicketEvent::NotificationWithCcs(_) => "NotificationWithCcs",
            TicketEvent::Cc(_) => "Cc",
            TicketEvent::FollowerNotification(_) => "FollowerNotificationEvent",
            TicketEvent::OrganizationActivity(_) => "OrganizationActivity",
            TicketEvent::FollowersChange(_) => "FollowersChange",
            TicketEvent::EmailCcChange(_) => "EmailCcChange",
            TicketEvent::AgentMacroReference(_) => "AgentMacroReference",
            TicketEvent::SatisfactionRating(_) => "SatisfactionRating",
            TicketEvent::TicketSharing(_) => "TicketSharingEvent",
            TicketEvent::Error(_) => "Error",
            TicketEvent::ChatStarted(_) => "ChatStartedEvent",
            TicketEvent::Channel(event) => &event.type_,
            TicketEvent::Unknown { type_, .. } => type_,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_spellings_of_follower_events_are_accepted() {
        for type_ in ["FollowersChange", "FollowerChange"] {
            let event = TicketEvent::from_json(&json!({
                "id": 1, "type": type_, "previous_followers": [], "current_followers": ["a@x"]
            }));
            assert!(matches!(&event, TicketEvent::FollowersChange(c) if c.current.len() == 1));
        }
        for type_ in ["FollowerNotificationEvent", "FollowerNotification"] {
            let event = TicketEvent::from_json(&json!({"type": type_, "recipients": [1, 2]}));
            assert!(
                matches!(event, TicketEvent::FollowerNotification(n) if n.recipients.len() == 2)
            );
        }
    }

    #[test]
    fn odd_values_never_fail() {
        // A Change without field_name, a string id, a non-object event.
        let event = TicketEvent::from_json(&json!({"id": "7", "type": "Change", "value": 1}));
        assert!(matches!(event, TicketEvent::Unknown { ref type_, .. } if type_ == "Change"));
        let event =
            TicketEvent::from_json(&json!({"id": "7", "type": "Comment", "public": "false"}));
        assert!(
            matches!(event, TicketEvent::Comment(c) if c.id == Some(7) && c.public == Some(false))
        );
        let event = TicketEvent::from_json(&json!("not an object"));
        assert!(matches!(event, TicketEvent::Unknown { ref type_, .. } if type_.is_empty()));
        let event = TicketEvent::from_json(
            &json!({"type": "AgentMacroReference", "macro_id": 360020117733i64}),
        );
        assert!(
            matches!(event, TicketEvent::AgentMacroReference(m) if m.macro_id.as_deref() == Some("360020117733"))
        );
    }
}
