//! `newswire watch`: follows the change feed and prints each event as one
//! JSON line on standard output, so that `jq` and scripts can consume it.
//!
//! An article prints as its front matter (the feed's own camelCase keys,
//! as `newswire export` writes it) with `id`, `key`, `revision`, `etag`,
//! `createTime` and `updateTime` beside it, and its `body`.

use std::io::Write;

use anyhow::Context;
use serde_json::{Map, Value, json};

use crate::cli::WatchArgs;
use crate::convert::from_proto::article_from_proto;
use crate::proto::{self, ArticleQuery, WatchArticlesRequest, article_event};

/// Prints events until the server ends the watch (an error, reported on
/// standard error with the status) or the output is closed.
pub async fn run(config: WatchArgs) -> anyhow::Result<()> {
    let mut client = super::connect(&config.server).await?;
    let request = WatchArticlesRequest {
        filter: Some(filter(&config)),
        start_revision: config.from,
        send_initial: config.initial,
        progress_interval: config
            .progress_interval
            .map(|interval| prost_types::Duration {
                seconds: interval.as_secs() as i64,
                nanos: interval.subsec_nanos() as i32,
            }),
    };
    let mut events = client
        .watch_articles(request)
        .await
        .map_err(|status| anyhow::anyhow!("{:?}: {}", status.code(), status.message()))?
        .into_inner();
    let mut output = std::io::stdout().lock();
    loop {
        let response = match events.message().await {
            Ok(Some(response)) => response,
            Ok(None) => return Ok(()),
            Err(status) => anyhow::bail!("{:?}: {}", status.code(), status.message()),
        };
        let Some(event) = response.event else {
            continue;
        };
        let line = event_json(&event)?;
        if writeln!(output, "{line}")
            .and_then(|()| output.flush())
            .is_err()
        {
            // The reader went away (`| head`): a normal end.
            return Ok(());
        }
    }
}

fn filter(config: &WatchArgs) -> ArticleQuery {
    ArticleQuery {
        text: config.text.clone(),
        topics: config.topic.clone(),
        url: config.article_url.clone(),
        category: config.category.clone(),
        r#type: config.r#type.clone(),
        provider_domain: config.provider_domain.clone(),
        published: config.published,
        min_quality: config.min_quality,
        max_quality: config.max_quality,
        min_heat: config.min_heat,
        max_heat: config.max_heat,
        published_after: None,
        published_before: None,
    }
}

/// One event as a JSON object: `type`, `revision`, `commitTime`,
/// `filterTransition` (when not UNSPECIFIED) and `article`.
pub fn event_json(event: &proto::ArticleEvent) -> anyhow::Result<Value> {
    let kind = article_event::Type::try_from(event.r#type)
        .map(|kind| kind.as_str_name().trim_start_matches("TYPE_").to_string())
        .unwrap_or_else(|_| event.r#type.to_string());
    let mut object = Map::new();
    object.insert("type".into(), json!(kind));
    object.insert("revision".into(), json!(event.revision));
    if let Some(time) = &event.commit_time {
        object.insert("commitTime".into(), json!(rfc3339(time)));
    }
    if let Ok(transition) = article_event::FilterTransition::try_from(event.filter_transition)
        && transition != article_event::FilterTransition::Unspecified
    {
        let name = transition
            .as_str_name()
            .trim_start_matches("FILTER_TRANSITION_");
        object.insert("filterTransition".into(), json!(name));
    }
    if let Some(article) = &event.article {
        object.insert("article".into(), article_json(article)?);
    }
    Ok(Value::Object(object))
}

fn article_json(article: &proto::Article) -> anyhow::Result<Value> {
    let (_, content) = article_from_proto(article, "article")
        .context("the server sent an article this client cannot read")?;
    let mut object = match serde_json::to_value(&content)? {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    object.insert("id".into(), json!(article.id));
    object.insert("key".into(), json!(article.key));
    object.insert("revision".into(), json!(article.revision));
    object.insert("etag".into(), json!(article.etag));
    for (name, time) in [
        ("createTime", &article.create_time),
        ("updateTime", &article.update_time),
    ] {
        if let Some(time) = time {
            object.insert(name.into(), json!(rfc3339(time)));
        }
    }
    object.insert("body".into(), json!(article.body));
    Ok(Value::Object(object))
}

fn rfc3339(time: &prost_types::Timestamp) -> String {
    crate::convert::from_proto::datetime(time, "time")
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}
