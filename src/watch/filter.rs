//! Which changes a filtered watch receives, and how an update moved the
//! article relative to the filter.

use crate::query::ArticleQuery;
use crate::store::{Change, ChangeKind};

/// How an update changed an article's membership of a watch's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterTransition {
    /// It matched before and after (or the event is not an update).
    Unchanged,
    /// It did not match before the update and does now.
    Entered,
    /// It matched before the update and does not now.
    Left,
}

/// Whether `change` concerns a watch with `filter`, and how: `None` if the
/// article matched neither before nor after.
pub(super) fn classify(filter: &ArticleQuery, change: &Change) -> Option<FilterTransition> {
    let matches_now = filter.matches(&change.article);
    match change.kind {
        // A deleted change holds the article as it was: matched before.
        ChangeKind::Created | ChangeKind::Deleted => {
            matches_now.then_some(FilterTransition::Unchanged)
        }
        ChangeKind::Updated => {
            // An update logged without its previous content (none should
            // be) is taken to have kept its membership.
            let matched_before = change
                .before
                .as_ref()
                .map_or(matches_now, |before| filter.matches_content(before));
            match (matched_before, matches_now) {
                (true, true) => Some(FilterTransition::Unchanged),
                (false, true) => Some(FilterTransition::Entered),
                (true, false) => Some(FilterTransition::Left),
                (false, false) => None,
            }
        }
    }
}
