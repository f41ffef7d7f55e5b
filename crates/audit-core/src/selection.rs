//! What selects a stream's records besides its window: [`StreamFilter`] says it to a stream,
//! [`Selection`] records it in every [`Checkpoint`](crate::Checkpoint), so a resume that
//! would read other records than the export it continues is refused instead of silently
//! mixing two selections in one output.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::event::StreamKind;
use crate::genesys::AuditFilter;
use crate::zendesk::AuditLogFilter;

/// The filters of a stream, for [`StreamOptions::with_filter`](crate::StreamOptions::with_filter)
/// (the stream builders take the same filters through their own methods).
///
/// ```
/// use audit_core::{StreamFilter, StreamKind};
/// use audit_core::genesys::AuditFilter;
/// use audit_core::zendesk::AuditLogFilter;
///
/// let logins = StreamFilter::AuditLogs(AuditLogFilter::default().action("login"));
/// assert!(logins.check(StreamKind::ZendeskAuditLogs).is_ok());
/// assert!(logins.check(StreamKind::GenesysAudits).is_err());
///
/// let roles = StreamFilter::Genesys {
///     service: Some("Directory".into()),
///     filters: vec![AuditFilter::EntityType("Role".into())],
/// };
/// assert_eq!(roles.selection().to_string(), "EntityType=Role; service=Directory");
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum StreamFilter {
    /// Every record of the window.
    #[default]
    All,
    /// `zendesk-audit-logs` only: the records matching the filter (its `created_at` is
    /// ignored; the window sets it).
    AuditLogs(AuditLogFilter),
    /// `genesys-audits` and `genesys-realtime`: one service, and filters that must all match.
    Genesys {
        /// `serviceName`.
        service: Option<String>,
        /// Every filter must match.
        filters: Vec<AuditFilter>,
    },
}

impl StreamFilter {
    /// Refuses a filter the stream cannot apply (an audit-log filter on a Genesys stream, a
    /// filter on ticket audits).
    ///
    /// ```
    /// use audit_core::{StreamFilter, StreamKind};
    ///
    /// let realtime_roles = StreamFilter::Genesys { service: None, filters: vec![] };
    /// assert!(realtime_roles.check(StreamKind::GenesysRealtime).is_ok());
    /// let error = realtime_roles.check(StreamKind::ZendeskTicketAudits).unwrap_err();
    /// assert!(error.to_string().contains("cannot be filtered"), "{error}");
    /// ```
    pub fn check(&self, stream: StreamKind) -> Result<(), Error> {
        let fits = match self {
            StreamFilter::All => true,
            StreamFilter::AuditLogs(_) => stream == StreamKind::ZendeskAuditLogs,
            StreamFilter::Genesys { .. } => {
                matches!(
                    stream,
                    StreamKind::GenesysAudits | StreamKind::GenesysRealtime
                )
            }
        };
        if fits {
            return Ok(());
        }
        Err(Error::InvalidConfig(format!(
            "the stream `{stream}` cannot be filtered by {}; leave the filter out, or filter \
             the stream it belongs to",
            self.selection()
        )))
    }

    /// The records this filter selects, as a checkpoint records them.
    ///
    /// ```
    /// use audit_core::StreamFilter;
    /// use audit_core::zendesk::AuditLogFilter;
    ///
    /// let filter = StreamFilter::AuditLogs(AuditLogFilter::default().actor_id(42).action("login"));
    /// assert_eq!(filter.selection().to_string(), "action=login; actor_id=42");
    /// assert!(StreamFilter::All.selection().is_all());
    /// ```
    pub fn selection(&self) -> Selection {
        match self {
            StreamFilter::All => Selection::default(),
            StreamFilter::AuditLogs(filter) => {
                let numbers = |values: &[i64]| values.iter().map(i64::to_string).collect();
                Selection::default()
                    .with("action", filter.action.clone())
                    .with("actor_id", numbers(&filter.actor_id))
                    .with("ip_address", filter.ip_address.clone())
                    .with("source_id", numbers(&filter.source_id))
                    .with("source_type", filter.source_type.clone())
            }
            StreamFilter::Genesys { service, filters } => {
                let mut selection =
                    Selection::default().with("service", service.iter().cloned().collect());
                for filter in filters {
                    selection = selection.with(filter.property(), vec![filter.value().into()]);
                }
                selection
            }
        }
    }
}

/// The record selection a checkpoint was taken with: each filter's name and its values,
/// sorted, so two ways of writing the same filters compare equal. Empty: every record.
///
/// ```
/// use audit_core::{Selection, StreamFilter};
/// use audit_core::zendesk::AuditLogFilter;
///
/// let a = StreamFilter::AuditLogs(AuditLogFilter::default().action("login").action("create"));
/// let b = StreamFilter::AuditLogs(AuditLogFilter::default().action("create").action("login"));
/// assert_eq!(a.selection(), b.selection());
/// assert_eq!(a.selection().to_string(), "action=create,login");
/// assert!(Selection::default().is_all());
/// assert_eq!(Selection::default().to_string(), "every record");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Selection(BTreeMap<String, Vec<String>>);

impl Selection {
    /// Whether it selects every record of the window (no filter).
    ///
    /// ```
    /// use audit_core::{Selection, StreamFilter};
    /// use audit_core::zendesk::AuditLogFilter;
    ///
    /// assert!(Selection::default().is_all());
    /// // A filter that filters nothing selects every record.
    /// assert!(StreamFilter::AuditLogs(AuditLogFilter::default()).selection().is_all());
    /// ```
    pub fn is_all(&self) -> bool {
        self.0.is_empty()
    }

    /// The filters by name, each with its sorted values.
    ///
    /// ```
    /// use audit_core::StreamFilter;
    /// use audit_core::zendesk::AuditLogFilter;
    ///
    /// let filter = StreamFilter::AuditLogs(AuditLogFilter::default().action("update").action("create"));
    /// let selection = filter.selection();
    /// let filters: Vec<_> = selection.filters().collect();
    /// assert_eq!(filters, [("action", &["create".to_string(), "update".to_string()][..])]);
    /// ```
    pub fn filters(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0
            .iter()
            .map(|(name, values)| (name.as_str(), values.as_slice()))
    }

    /// Refuses to start `stream`, resumed from a checkpoint taken with the selection
    /// `resumed` (`None`: not resumed), when it now selects `wanted`: the output would
    /// silently mix two selections.
    pub(crate) fn check_resumed(
        resumed: Option<&Selection>,
        stream: StreamKind,
        wanted: &Selection,
    ) -> Result<(), Error> {
        let Some(resumed) = resumed.filter(|resumed| *resumed != wanted) else {
            return Ok(());
        };
        let describe = |selection: &Selection| match selection.is_all() {
            true => selection.to_string(),
            false => format!("the records with `{selection}`"),
        };
        Err(Error::InvalidCheckpoint(format!(
            "it was taken reading {} of `{stream}`, and this stream would read {}; resume with \
             the filters the export was started with, or start a new export without the \
             checkpoint",
            describe(resumed),
            describe(wanted),
        )))
    }

    /// Adds `values` to the filter `name` (nothing when there are none).
    fn with(mut self, name: &str, values: Vec<String>) -> Self {
        if values.is_empty() {
            return self;
        }
        let entry = self.0.entry(name.to_string()).or_default();
        entry.extend(values);
        entry.sort();
        entry.dedup();
        self
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("every record");
        }
        let mut separator = "";
        for (name, values) in self.filters() {
            write!(f, "{separator}{name}={}", values.join(","))?;
            separator = "; ";
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_log_filters_are_recorded_by_name_with_sorted_distinct_values() {
        let filter = AuditLogFilter::default()
            .source_type("user")
            .action("login")
            .actor_id(9)
            .actor_id(7)
            .actor_id(9);
        assert_eq!(
            StreamFilter::AuditLogs(filter).selection().to_string(),
            "action=login; actor_id=7,9; source_type=user"
        );
    }

    #[test]
    fn a_filter_only_fits_its_streams() {
        let genesys = StreamFilter::Genesys {
            service: None,
            filters: vec![AuditFilter::Action("Delete".into())],
        };
        assert!(genesys.check(StreamKind::GenesysRealtime).is_ok());
        let error = genesys.check(StreamKind::ZendeskTicketAudits).unwrap_err();
        assert!(error.to_string().contains("Action=Delete"), "{error}");
        assert!(
            StreamFilter::All
                .check(StreamKind::ZendeskTicketAudits)
                .is_ok()
        );
    }
}
