//! Domain values as protobuf messages. This direction cannot fail: every
//! domain value is valid, and every one has a message.

use chrono::{DateTime, Utc};
use prost_types::value::Kind;

use super::page_token;
use crate::article::{self, Extra, Revision};
use crate::proto::{self, article_event};
use crate::query::{Page, PageRequest};
use crate::store::{ChangeKind, Deleted};
use crate::watch::{FilterTransition, WatchEvent};

/// A domain article as the API returns it.
pub fn article_to_proto(article: &article::Article) -> proto::Article {
    article_into_proto(article.clone())
}

/// `article_to_proto` of an article no longer needed: its strings move
/// into the message instead of being copied (StreamArticles, list pages).
pub fn article_into_proto(article: article::Article) -> proto::Article {
    let content = article.content;
    proto::Article {
        id: article.id.to_string(),
        key: article.key.into_string(),
        category: content.category,
        title: content.title,
        excerpt: content.excerpt,
        published_date_time: Some(timestamp(content.published_date_time)),
        original_url: content.original_url,
        web_url: content.web_url,
        amp_web_url: content.amp_web_url,
        cdn_amp_web_url: content.cdn_amp_web_url,
        r#type: content.kind,
        quality: content.quality,
        heat: content.heat,
        published: content.published,
        featured_content: content.featured_content,
        secured: content.secured,
        provider: content.provider.map(provider_into_proto),
        topics: content.topics,
        images: content.images.into_iter().map(image_into_proto).collect(),
        related: content
            .related
            .into_iter()
            .map(related_into_proto)
            .collect(),
        extra: extra_into_struct(content.extra),
        body: content.body,
        create_time: Some(timestamp(article.create_time)),
        update_time: Some(timestamp(article.update_time)),
        revision: article.revision.0,
        etag: article.etag.0,
    }
}

/// A page of `request`'s list, with the token that continues it (none on
/// the last page).
pub fn page_into_proto(page: Page, request: &PageRequest) -> proto::ListArticlesResponse {
    proto::ListArticlesResponse {
        articles: page.articles.into_iter().map(article_into_proto).collect(),
        next_page_token: page
            .next
            .map(|cursor| page_token::encode(&request.query, request.order, cursor))
            .unwrap_or_default(),
    }
}

/// What a delete removed, as DeleteArticle answers it.
pub fn deleted_to_proto(deleted: &Deleted) -> proto::DeleteArticleResponse {
    proto::DeleteArticleResponse {
        id: deleted.id.to_string(),
        key: deleted.key.as_str().to_string(),
        revision: deleted.revision.0,
    }
}

fn provider_into_proto(provider: article::Provider) -> proto::Provider {
    proto::Provider {
        name: provider.name,
        domain: provider.domain,
        images: provider.images.into_iter().map(image_into_proto).collect(),
        extra: extra_into_struct(provider.extra),
    }
}

fn image_into_proto(image: article::Image) -> proto::Image {
    proto::Image {
        url: image.url,
        width: image.width,
        height: image.height,
        title: image.title,
        attribution: image.attribution,
        is_cached: image.is_cached,
        extra: extra_into_struct(image.extra),
    }
}

fn related_into_proto(related: article::RelatedArticle) -> proto::RelatedArticle {
    proto::RelatedArticle {
        title: related.title,
        excerpt: related.excerpt,
        published_date_time: related.published_date_time.map(timestamp),
        original_url: related.original_url,
        web_url: related.web_url,
        amp_web_url: related.amp_web_url,
        cdn_amp_web_url: related.cdn_amp_web_url,
        r#type: related.kind,
        provider: related.provider.map(provider_into_proto),
        quality: related.quality,
        images: related.images.into_iter().map(image_into_proto).collect(),
        extra: extra_into_struct(related.extra),
    }
}

/// A protobuf timestamp for a time.
pub fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

/// Unknown front-matter keys as a protobuf Struct; `None` when there are none.
fn extra_into_struct(extra: Extra) -> Option<prost_types::Struct> {
    if extra.is_empty() {
        return None;
    }
    Some(prost_types::Struct {
        fields: extra
            .into_iter()
            .map(|(key, value)| (key, json_into_value(value)))
            .collect(),
    })
}

fn json_into_value(value: serde_json::Value) -> prost_types::Value {
    let kind = match value {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(flag) => Kind::BoolValue(flag),
        serde_json::Value::Number(number) => Kind::NumberValue(number.as_f64().unwrap_or_default()),
        serde_json::Value::String(text) => Kind::StringValue(text),
        serde_json::Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_into_value).collect(),
        }),
        serde_json::Value::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map
                .into_iter()
                .map(|(key, value)| (key, json_into_value(value)))
                .collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A watch event as the `ArticleEvent` the change feed's clients receive.
pub fn event_to_proto(event: &WatchEvent) -> proto::ArticleEvent {
    use article_event::Type;
    match event {
        WatchEvent::Change { change, transition } => proto::ArticleEvent {
            r#type: match change.kind {
                ChangeKind::Created => Type::Created,
                ChangeKind::Updated => Type::Updated,
                ChangeKind::Deleted => Type::Deleted,
            } as i32,
            revision: change.revision.0,
            commit_time: Some(timestamp(change.commit_time)),
            article: Some(article_to_proto(&change.article)),
            filter_transition: transition_to_proto(*transition) as i32,
        },
        WatchEvent::Initial(article) => proto::ArticleEvent {
            r#type: Type::Initial as i32,
            revision: article.revision.0,
            commit_time: Some(timestamp(article.update_time)),
            article: Some(article_to_proto(article)),
            filter_transition: article_event::FilterTransition::Unspecified as i32,
        },
        WatchEvent::InitialDone(revision) => marker(Type::InitialDone, *revision),
        WatchEvent::Progress(revision) => marker(Type::Progress, *revision),
    }
}

/// How a change moved a watch's filter, as the event's `filter_transition`.
pub fn transition_to_proto(transition: FilterTransition) -> article_event::FilterTransition {
    use article_event::FilterTransition as Transition;
    match transition {
        FilterTransition::Unchanged => Transition::Unspecified,
        FilterTransition::Entered => Transition::Entered,
        FilterTransition::Left => Transition::Left,
    }
}

/// An event that carries only a revision (end of snapshot, progress).
fn marker(kind: article_event::Type, revision: Revision) -> proto::ArticleEvent {
    proto::ArticleEvent {
        r#type: kind as i32,
        revision: revision.0,
        ..proto::ArticleEvent::default()
    }
}
