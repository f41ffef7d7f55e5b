//! [`SortOrder`]: the one sort direction of every vendor's list and query operations.

use serde::{Deserialize, Serialize};

/// The order of records by time, for every operation that takes one: Zendesk's audit-log
/// `sort`/`sort_order` and ticket audits' `sort_order`, Genesys Cloud's `AuditQuerySort`.
/// The event streams always read oldest first.
///
/// Exhaustive on purpose: time runs two ways, so a `match` on it needs no wildcard.
///
/// One type for both vendors, re-exported by [`crate::zendesk`] and [`crate::genesys`], so a
/// glob import of both modules does not clash.
///
/// ```
/// use audit_core::SortOrder;
/// use audit_core::genesys::AuditQuery;
/// use audit_core::zendesk::AuditLogQuery;
/// use chrono::{Duration, Utc};
///
/// let newest_first = AuditLogQuery::default().sort(SortOrder::Descending);
/// let now = Utc::now();
/// let query = AuditQuery::new(now - Duration::days(1), now).sort(SortOrder::Descending);
/// assert_eq!(newest_first.sort, query.sort);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Oldest first (what the event streams use).
    Ascending,
    /// Newest first.
    Descending,
}
