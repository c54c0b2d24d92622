//! The audit log over TLS: every write (created, failed) and every denial
//! lands in the configured file as one JSON object per line, with who,
//! which method, which article, when and the outcome; request ids are the
//! caller's or fresh, and come back in the response metadata.

mod support;

use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{
    Article, CreateArticleRequest, DeleteArticleRequest, delete_article_request,
};
use support::secure_server::{READER_TOKEN, SecureServer, WRITER_TOKEN};
use tonic::Code;

fn with_token<T>(message: T, token: &str, request_id: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header value"),
    );
    if let Some(id) = request_id {
        metadata.insert("x-request-id", id.parse().expect("a header value"));
    }
    request
}

fn article(key: &str) -> Article {
    Article {
        key: key.to_string(),
        title: "Audited".to_string(),
        published_date_time: Some(prost_types::Timestamp {
            seconds: 1_764_000_000,
            nanos: 0,
        }),
        ..Article::default()
    }
}

#[tokio::test]
async fn writes_and_denials_are_audited_as_json_lines() {
    let audit_directory = tempfile::tempdir().expect("a temporary directory");
    let audit_file = audit_directory.path().join("audit.jsonl");
    let path = audit_file.clone();
    let fixture = SecureServer::start_with(move |settings| settings.audit.file = Some(path)).await;
    let mut client = ArticleServiceClient::new(fixture.channel(None).await.expect("TLS"));

    // A committed write, with the caller's request id echoed back.
    let created = client
        .create_article(with_token(
            CreateArticleRequest {
                article: Some(article("audited-article")),
            },
            WRITER_TOKEN,
            Some("trace-4711"),
        ))
        .await
        .expect("the writer creates");
    assert_eq!(
        created
            .metadata()
            .get("x-request-id")
            .map(|v| v.to_str().ok()),
        Some(Some("trace-4711"))
    );
    let id = created.into_inner().article.expect("an article").id;

    // A denial: the reader may not delete. A fresh request id comes back.
    let denied = client
        .delete_article(with_token(
            DeleteArticleRequest {
                lookup: Some(delete_article_request::Lookup::Key(
                    "audited-article".into(),
                )),
                etag: String::new(),
            },
            READER_TOKEN,
            None,
        ))
        .await
        .expect_err("the reader may not delete");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied_request_id = denied
        .metadata()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .expect("a generated request id")
        .to_string();

    // A write that fails: the key is taken.
    let failed = client
        .create_article(with_token(
            CreateArticleRequest {
                article: Some(article("audited-article")),
            },
            WRITER_TOKEN,
            None,
        ))
        .await
        .expect_err("the key is taken");
    assert_eq!(failed.code(), Code::AlreadyExists);

    // No credentials at all.
    let anonymous = client
        .delete_article(DeleteArticleRequest {
            lookup: Some(delete_article_request::Lookup::Id(id.clone())),
            etag: String::new(),
        })
        .await
        .expect_err("no credentials");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let text = std::fs::read_to_string(&audit_file).expect("the audit file exists");
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a JSON object"))
        .collect();
    assert_eq!(events.len(), 4, "{text}");
    for event in &events {
        let time = event["time"].as_str().expect("a time");
        chrono::DateTime::parse_from_rfc3339(time).expect("an RFC 3339 time");
        assert!(!event["request_id"].as_str().unwrap_or_default().is_empty());
    }
    let [create, deny, fail, unauthenticated] = events.as_slice() else {
        unreachable!("four events, checked above")
    };
    assert_eq!(create["caller"], "writer");
    assert_eq!(create["method"], "newswire.v1.ArticleService/CreateArticle");
    assert_eq!(create["outcome"], "ok");
    assert_eq!(create["code"], "OK");
    assert_eq!(create["article_id"], id.as_str());
    assert_eq!(create["article_key"], "audited-article");
    assert_eq!(create["request_id"], "trace-4711");

    assert_eq!(deny["caller"], "reader");
    assert_eq!(deny["method"], "newswire.v1.ArticleService/DeleteArticle");
    assert_eq!(deny["outcome"], "denied");
    assert_eq!(deny["code"], "PERMISSION_DENIED");
    assert_eq!(deny["request_id"], denied_request_id.as_str());

    assert_eq!(fail["caller"], "writer");
    assert_eq!(fail["outcome"], "failed");
    assert_eq!(fail["code"], "ALREADY_EXISTS");
    assert_eq!(fail["article_key"], "audited-article");

    assert!(unauthenticated["caller"].is_null());
    assert_eq!(unauthenticated["outcome"], "denied");
    assert_eq!(unauthenticated["code"], "UNAUTHENTICATED");
    assert!(
        !text.contains(WRITER_TOKEN) && !text.contains(READER_TOKEN),
        "the audit log must not hold tokens"
    );
}
