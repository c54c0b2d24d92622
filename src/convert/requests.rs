//! Each request message as the domain request it asks for: validated, with
//! the offending field named. Handlers call one of these, then the store.

use std::time::Duration;

use super::from_proto::{article_from_proto, query_from_proto, require_complete};
use super::{lookup, page_token, update_mask};
use crate::article::{ArticleContent, ArticleKey, ArticlePatch, Etag, Lookup, Revision};
use crate::document;
use crate::error::Error;
use crate::proto::{self, import_articles_request::Item};
use crate::query::{MAX_PAGE_SIZE, Order, PageRequest, PageSize};
use crate::store::UpsertItem;
use crate::watch::{WatchRequest, WatchStart};

/// Articles StreamArticles reads per store query when the request gives no
/// hint.
pub const DEFAULT_READ_BATCH: i32 = 100;
/// Shortest and longest progress interval a WatchArticles request may ask for.
pub const MIN_PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
pub const MAX_PROGRESS_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// The key and content of the article a CreateArticle request writes; the
/// key is derived from the content when the request names none.
pub fn create_from_proto(
    request: &proto::CreateArticleRequest,
) -> Result<(ArticleKey, ArticleContent), Error> {
    let article = required(request.article.as_ref(), "article")?;
    complete_article(article, None)
}

/// What an UpdateArticle request changes, and how.
#[derive(Debug, Clone)]
pub struct Update {
    /// The article to change.
    pub target: Lookup,
    pub patch: ArticlePatch,
    /// The etag the article must still have, if the caller sent one.
    pub expected: Option<Etag>,
}

/// The update an UpdateArticle request asks for.
pub fn update_from_proto(request: &proto::UpdateArticleRequest) -> Result<Update, Error> {
    let article = required(request.article.as_ref(), "article")?;
    let target = lookup::update_target(article)?;
    let fields = update_mask::fields(article, request.update_mask.as_ref())?;
    let (key, source) = article_from_proto(article, "article")?;
    Ok(Update {
        target,
        patch: ArticlePatch {
            fields,
            key,
            source,
        },
        expected: etag_precondition(&request.etag),
    })
}

/// The article a DeleteArticle request removes, and the etag it must still
/// have, if the caller sent one.
pub fn delete_from_proto(
    request: &proto::DeleteArticleRequest,
) -> Result<(Lookup, Option<Etag>), Error> {
    let target = lookup::from_delete_request(request)?;
    Ok((target, etag_precondition(&request.etag)))
}

/// The key and content of one ImportArticles item: a document, or an
/// article whose key defaults as a document's would.
pub fn import_item_from_proto(message: &proto::ImportArticlesRequest) -> Result<UpsertItem, Error> {
    let source = (!message.source.is_empty()).then_some(message.source.as_str());
    let (key, content) = match &message.item {
        Some(Item::Document(text)) => {
            let content = document::parse(source.unwrap_or("document"), text)?;
            (ArticleKey::default_for(source, &content)?, content)
        }
        Some(Item::Article(article)) => complete_article(article, source)?,
        None => return Err(Error::invalid("item", "set document or article")),
    };
    Ok(UpsertItem { key, content })
}

/// The page a ListArticles request asks for.
pub fn list_from_proto(request: &proto::ListArticlesRequest) -> Result<PageRequest, Error> {
    let query = query_from_proto(request.query.as_ref(), "query")?;
    let order = Order::parse(&request.order_by)?;
    let size = PageSize::parse(request.page_size)?;
    let after = match request.page_token.as_str() {
        "" => None,
        token => Some(page_token::decode(token, &query, order, "page_token")?),
    };
    Ok(PageRequest {
        query,
        order,
        size,
        after,
    })
}

/// The first batch a StreamArticles request asks for, validated as
/// ListArticles validates.
pub fn stream_from_proto(request: &proto::StreamArticlesRequest) -> Result<PageRequest, Error> {
    let query = query_from_proto(request.query.as_ref(), "query")?;
    let order = Order::parse(&request.order_by)?;
    let size = match request.read_batch_size {
        0 => PageSize::parse(DEFAULT_READ_BATCH),
        size => PageSize::parse(size),
    }
    .map_err(|_| {
        Error::invalid(
            "read_batch_size",
            format!(
                "{} is not from 1 to {MAX_PAGE_SIZE}",
                request.read_batch_size
            ),
        )
    })?;
    let after = match request.start_after.as_str() {
        "" => None,
        token => Some(page_token::decode(token, &query, order, "start_after")?),
    };
    Ok(PageRequest {
        query,
        order,
        size,
        after,
    })
}

/// The watch a WatchArticles request asks for.
pub fn watch_from_proto(request: &proto::WatchArticlesRequest) -> Result<WatchRequest, Error> {
    let filter = query_from_proto(request.filter.as_ref(), "filter")?;
    let start = match (request.start_revision, request.send_initial) {
        (Some(_), true) => {
            return Err(Error::invalid(
                "send_initial",
                "cannot be combined with start_revision: a snapshot starts from now",
            ));
        }
        (Some(revision), false) if revision < 0 => {
            return Err(Error::invalid("start_revision", "must not be negative"));
        }
        (Some(revision), false) => WatchStart::After(Revision(revision)),
        (None, true) => WatchStart::Snapshot,
        (None, false) => WatchStart::Now,
    };
    let progress_interval = match &request.progress_interval {
        None => None,
        Some(interval) if interval.seconds == 0 && interval.nanos == 0 => None,
        Some(interval) => Some(progress_interval(interval)?),
    };
    Ok(WatchRequest {
        filter,
        start,
        progress_interval,
    })
}

fn progress_interval(interval: &prost_types::Duration) -> Result<Duration, Error> {
    let invalid = || {
        Error::invalid(
            "progress_interval",
            format!(
                "must be from {} ms to {} s",
                MIN_PROGRESS_INTERVAL.as_millis(),
                MAX_PROGRESS_INTERVAL.as_secs()
            ),
        )
    };
    let seconds = u64::try_from(interval.seconds).map_err(|_| invalid())?;
    let nanos = u32::try_from(interval.nanos).map_err(|_| invalid())?;
    let interval = Duration::new(seconds, nanos);
    if (MIN_PROGRESS_INTERVAL..=MAX_PROGRESS_INTERVAL).contains(&interval) {
        Ok(interval)
    } else {
        Err(invalid())
    }
}

/// A whole article a caller writes: converted, checked complete, and keyed
/// (its own key, else one derived from `source` and the content).
fn complete_article(
    article: &proto::Article,
    source: Option<&str>,
) -> Result<(ArticleKey, ArticleContent), Error> {
    let (key, content) = article_from_proto(article, "article")?;
    require_complete(article, &content, "article")?;
    let key = match key {
        Some(key) => key,
        None => ArticleKey::default_for(source, &content)?,
    };
    Ok((key, content))
}

fn required<'message, T>(value: Option<&'message T>, field: &str) -> Result<&'message T, Error> {
    value.ok_or_else(|| Error::invalid(field, "is required"))
}

fn etag_precondition(etag: &str) -> Option<Etag> {
    (!etag.is_empty()).then(|| Etag(etag.to_string()))
}
