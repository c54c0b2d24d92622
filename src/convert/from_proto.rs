//! Conversions from the protobuf messages to the domain types: fallible,
//! naming the offending field. The other way, which cannot fail, is
//! `to_proto`.

use chrono::{DateTime, Utc};
use prost_types::value::Kind;

use crate::article::{self, ArticleContent, ArticleKey, Extra};
use crate::error::{Error, FieldViolation};
use crate::proto;
use crate::query::ArticleQuery;

/// The content of an article sent by a caller, and its key if it named one.
/// `field` is where the article sits in the request (`article`).
pub fn article_from_proto(
    article: &proto::Article,
    field: &str,
) -> Result<(Option<ArticleKey>, ArticleContent), Error> {
    let mut violations = Vec::new();
    let key = if article.key.is_empty() {
        None
    } else {
        match ArticleKey::parse(&article.key, &format!("{field}.key")) {
            Ok(key) => Some(key),
            Err(Error::InvalidArgument(found)) => {
                violations.extend(found);
                None
            }
            Err(other) => return Err(other),
        }
    };
    let published_date_time = match &article.published_date_time {
        Some(value) => {
            datetime(value, &format!("{field}.published_date_time")).unwrap_or_else(|violation| {
                violations.push(violation);
                DateTime::<Utc>::MIN_UTC
            })
        }
        None => DateTime::<Utc>::MIN_UTC,
    };
    let related = article
        .related
        .iter()
        .enumerate()
        .map(|(index, related)| related_from_proto(related, &format!("{field}.related[{index}]")))
        .collect::<Result<Vec<_>, FieldViolation>>()
        .unwrap_or_else(|violation| {
            violations.push(violation);
            Vec::new()
        });
    if !violations.is_empty() {
        return Err(Error::InvalidArgument(violations));
    }
    let content = ArticleContent {
        category: article.category.clone(),
        title: article.title.clone(),
        excerpt: article.excerpt.clone(),
        published_date_time,
        original_url: article.original_url.clone(),
        web_url: article.web_url.clone(),
        amp_web_url: article.amp_web_url.clone(),
        cdn_amp_web_url: article.cdn_amp_web_url.clone(),
        kind: article.r#type.clone(),
        quality: article.quality,
        heat: article.heat,
        published: article.published,
        featured_content: article.featured_content.clone(),
        provider: article.provider.as_ref().map(provider_from_proto),
        topics: article.topics.clone(),
        images: article.images.iter().map(image_from_proto).collect(),
        related,
        secured: article.secured.clone(),
        extra: struct_to_extra(article.extra.as_ref()),
        body: article.body.clone(),
    };
    Ok((key, content))
}

/// Checks what `article_from_proto` cannot: that a written article has a
/// publication time, and the content's own invariants, with field names
/// prefixed by where the article sits in the request.
pub fn require_complete(
    article: &proto::Article,
    content: &ArticleContent,
    field: &str,
) -> Result<(), Error> {
    let mut violations = Vec::new();
    if article.published_date_time.is_none() {
        violations.push(FieldViolation::new(
            format!("{field}.published_date_time"),
            "is required",
        ));
    }
    if let Err(Error::InvalidArgument(found)) = content.validate() {
        violations.extend(found.into_iter().map(|violation| {
            FieldViolation::new(
                format!("{field}.{}", violation.field),
                violation.description,
            )
        }));
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidArgument(violations))
    }
}

fn provider_from_proto(provider: &proto::Provider) -> article::Provider {
    article::Provider {
        name: provider.name.clone(),
        domain: provider.domain.clone(),
        images: provider.images.iter().map(image_from_proto).collect(),
        extra: struct_to_extra(provider.extra.as_ref()),
    }
}

fn image_from_proto(image: &proto::Image) -> article::Image {
    article::Image {
        url: image.url.clone(),
        width: image.width,
        height: image.height,
        title: image.title.clone(),
        attribution: image.attribution.clone(),
        is_cached: image.is_cached,
        extra: struct_to_extra(image.extra.as_ref()),
    }
}

fn related_from_proto(
    related: &proto::RelatedArticle,
    field: &str,
) -> Result<article::RelatedArticle, FieldViolation> {
    Ok(article::RelatedArticle {
        title: related.title.clone(),
        excerpt: related.excerpt.clone(),
        published_date_time: related
            .published_date_time
            .as_ref()
            .map(|value| datetime(value, &format!("{field}.published_date_time")))
            .transpose()?,
        original_url: related.original_url.clone(),
        web_url: related.web_url.clone(),
        amp_web_url: related.amp_web_url.clone(),
        cdn_amp_web_url: related.cdn_amp_web_url.clone(),
        kind: related.r#type.clone(),
        provider: related.provider.as_ref().map(provider_from_proto),
        quality: related.quality,
        images: related.images.iter().map(image_from_proto).collect(),
        extra: struct_to_extra(related.extra.as_ref()),
    })
}

/// A query as the domain sees it; field names are prefixed with `field`.
pub fn query_from_proto(
    query: Option<&proto::ArticleQuery>,
    field: &str,
) -> Result<ArticleQuery, Error> {
    let Some(query) = query else {
        return Ok(ArticleQuery::default());
    };
    let time = |value: &Option<prost_types::Timestamp>, name: &str| {
        value
            .as_ref()
            .map(|value| datetime(value, &format!("{field}.{name}")))
            .transpose()
            .map_err(|violation| Error::InvalidArgument(vec![violation]))
    };
    let domain = ArticleQuery {
        text: query.text.clone(),
        topics: query.topics.clone(),
        url: query.url.clone(),
        category: query.category.clone(),
        kind: query.r#type.clone(),
        provider_domain: query.provider_domain.clone(),
        published: query.published,
        min_quality: query.min_quality,
        max_quality: query.max_quality,
        min_heat: query.min_heat,
        max_heat: query.max_heat,
        published_after: time(&query.published_after, "published_after")?,
        published_before: time(&query.published_before, "published_before")?,
    };
    domain.validate(field)?;
    Ok(domain)
}

/// The time of a protobuf timestamp, or a violation of `field`.
pub fn datetime(
    value: &prost_types::Timestamp,
    field: &str,
) -> Result<DateTime<Utc>, FieldViolation> {
    u32::try_from(value.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(value.seconds, nanos))
        .ok_or_else(|| FieldViolation::new(field, "is not a valid timestamp"))
}

/// A protobuf Struct as unknown front-matter keys. Numbers that are whole
/// come back as integers, since the Struct form only has doubles.
pub fn struct_to_extra(value: Option<&prost_types::Struct>) -> Extra {
    value
        .map(|value| {
            value
                .fields
                .iter()
                .map(|(key, value)| (key.clone(), value_to_json(value)))
                .collect()
        })
        .unwrap_or_default()
}

fn value_to_json(value: &prost_types::Value) -> serde_json::Value {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(flag)) => serde_json::Value::Bool(*flag),
        Some(Kind::NumberValue(number)) => {
            let whole = number.fract() == 0.0 && number.abs() < 9.0e15;
            if whole {
                serde_json::Value::from(*number as i64)
            } else {
                serde_json::Number::from_f64(*number)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
        Some(Kind::StringValue(text)) => serde_json::Value::String(text.clone()),
        Some(Kind::ListValue(list)) => {
            serde_json::Value::Array(list.values.iter().map(value_to_json).collect())
        }
        Some(Kind::StructValue(map)) => serde_json::Value::Object(
            map.fields
                .iter()
                .map(|(key, value)| (key.clone(), value_to_json(value)))
                .collect(),
        ),
    }
}
