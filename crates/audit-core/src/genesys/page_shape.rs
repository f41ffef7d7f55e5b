//! Pages too large, for both Genesys walks (historical results and realtime).
//!
//! Genesys refuses a page over its response size limit with `400 response.entity.too.large`
//! ("The response is over the size limit. Reduce pageSize or expand list to reduce response
//! size if applicable"), and a page over the client's own body cap fails as
//! [`Error::BodyTooLarge`]. A walk answers both by asking again for the same place with half
//! the page size, down to a floor; at the floor, a walk that asked for `expand=user` gives the
//! expansion up for the rest of the walk (records then carry the user's id without the name)
//! and asks once more; only then does the error stand.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Error;
use crate::paginate::{AdaptivePageSize, PageSizePolicy};

/// Whether `error` is Genesys' "page too large" answer.
pub(crate) fn vendor_too_large(error: &Error) -> bool {
    error.status() == Some(400)
        && error
            .vendor_detail()
            .and_then(|d| d.error.as_deref())
            .is_some_and(|code| code == "response.entity.too.large")
}

/// What a walk changed after a page was too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Smaller {
    /// The page size was halved.
    Size { from: u32, to: u32 },
    /// The page size was at its floor: `expand` was given up.
    WithoutExpand,
}

/// The page size and the `expand` of one walk, shared by its fetches.
#[derive(Debug)]
pub(crate) struct PageShape {
    size: AdaptivePageSize,
    expand_dropped: AtomicBool,
}

impl PageShape {
    pub(crate) fn new(policy: PageSizePolicy) -> Self {
        PageShape {
            size: AdaptivePageSize::new(policy),
            expand_dropped: AtomicBool::new(false),
        }
    }

    /// The page size to ask for.
    pub(crate) fn size(&self) -> u32 {
        self.size.current()
    }

    /// Whether to send `expand=user`, when the caller `wanted` it.
    pub(crate) fn expand(&self, wanted: bool) -> bool {
        wanted && !self.expand_dropped.load(Ordering::Relaxed)
    }

    /// A page came back (the size may grow back after a vendor refusal; see
    /// [`AdaptivePageSize`]).
    pub(crate) fn success(&self) {
        self.size.success();
    }

    /// After `error` on a page asked for with `expanding`: how the next attempt is smaller,
    /// or `None` when `error` is not about size or nothing smaller is left (it stands).
    /// A vendor refusal halves the size (it may grow back); a page over the body cap halves
    /// it for good.
    pub(crate) fn smaller_after(&self, error: &Error, expanding: bool) -> Option<Smaller> {
        let from = self.size.current();
        let halved = match error {
            Error::BodyTooLarge { .. } => self.size.too_large(),
            error if vendor_too_large(error) => {
                self.size.shrink();
                self.size.current() != from
            }
            _ => return None,
        };
        if halved {
            let to = self.size.current();
            tracing::info!(from, to, "page too large; asking for smaller pages");
            return Some(Smaller::Size { from, to });
        }
        if expanding && !self.expand_dropped.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                size = from,
                "a page is too large even at the smallest page size; asking without \
                 `expand=user` for the rest of the walk (records keep the user's id, not the name)"
            );
            return Some(Smaller::WithoutExpand);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::VendorDetail;
    use std::time::Duration;

    fn refused() -> Error {
        Error::Api {
            operation: "realtime_query",
            status: 400,
            detail: Box::new(VendorDetail {
                error: Some("response.entity.too.large".into()),
                ..VendorDetail::default()
            }),
            hint: None,
            waited: Duration::ZERO,
        }
    }

    #[test]
    fn halves_to_the_floor_then_gives_up_expand_then_the_error_stands() {
        let shape = PageShape::new(PageSizePolicy::new(40, 10, 40));
        assert_eq!(
            shape.smaller_after(&refused(), true),
            Some(Smaller::Size { from: 40, to: 20 })
        );
        assert_eq!(
            shape.smaller_after(&refused(), true),
            Some(Smaller::Size { from: 20, to: 10 })
        );
        assert!(shape.expand(true));
        assert_eq!(
            shape.smaller_after(&refused(), true),
            Some(Smaller::WithoutExpand)
        );
        assert!(!shape.expand(true));
        assert_eq!(shape.smaller_after(&refused(), false), None);
        let other = Error::InvalidConfig("x".into());
        assert_eq!(
            PageShape::new(PageSizePolicy::fixed(5)).smaller_after(&other, true),
            None
        );
    }
}
