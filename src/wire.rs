//! Domain values in their protobuf form, and the encoded article that
//! stores keep beside each row.
//!
//! Domain to protobuf cannot fail, so it lives here rather than in
//! `api::convert` (protobuf to domain, which validates): the stores call
//! `encode_article` when they write, and StreamArticles sends those bytes
//! as they were stored, with no JSON to parse and no message to build per
//! article. An encoded article decodes to exactly `article_to_proto`'s
//! message; the stores never look inside it.

use chrono::{DateTime, Utc};
use prost::Message;
use prost_types::value::Kind;

use crate::article::{self, Extra};
use crate::proto;
use crate::query::{Cursor, Order, Page};

/// `article` encoded as a `newswire.v1.Article`.
pub fn encode_article(article: article::Article) -> Vec<u8> {
    article_into_proto(article).encode_to_vec()
}

/// A list page whose articles are encoded (`encode_article`), each with its
/// position in the page's order, so a stream can resume after it.
#[derive(Debug, Clone, Default)]
pub struct EncodedPage {
    pub articles: Vec<EncodedArticle>,
    pub next: Option<Cursor>,
}

/// One encoded article and its position in the order it was listed in.
#[derive(Debug, Clone)]
pub struct EncodedArticle {
    pub cursor: Cursor,
    pub encoded: Vec<u8>,
}

impl EncodedPage {
    /// Encodes each article of `page`, listed in `order`.
    pub fn encode(page: Page, order: Order) -> Self {
        Self {
            articles: page
                .articles
                .into_iter()
                .map(|article| EncodedArticle {
                    cursor: order.cursor_of(&article),
                    encoded: encode_article(article),
                })
                .collect(),
            next: page.next,
        }
    }
}

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
