//! What the server offers beyond ArticleService: reflection in both
//! versions, health, gzip, and explicit message-size limits.

mod support;

use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{
    GetArticleRequest, ImportArticlesRequest, get_article_request, import_articles_request::Item,
};
use support::server::TestServer;
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;

async fn channel(server: &TestServer) -> Channel {
    Channel::from_shared(server.url())
        .expect("a URL")
        .connect()
        .await
        .expect("connect")
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_services() {
    use tonic_reflection::pb::{v1, v1alpha};
    let server = TestServer::start().await;

    let mut client =
        v1::server_reflection_client::ServerReflectionClient::new(channel(&server).await);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("a response")
        .expect("not empty");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("v1 answered {response:?}");
    };
    let names: Vec<String> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    assert!(
        names.contains(&"newswire.v1.ArticleService".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );

    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(channel(&server).await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "newswire.v1.ArticleService".into(),
            ),
        ),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1alpha")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("a response")
        .expect("not empty");
    assert!(
        matches!(
            response.message_response,
            Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(ref files))
                if !files.file_descriptor_proto.is_empty()
        ),
        "v1alpha describes the service: {response:?}"
    );
}

#[tokio::test]
async fn health_reports_the_article_service_serving() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let server = TestServer::start().await;
    let mut client = HealthClient::new(channel(&server).await);
    for service in ["", "newswire.v1.ArticleService"] {
        let response = client
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health check")
            .into_inner();
        assert_eq!(
            response.status(),
            ServingStatus::Serving,
            "service {service:?}"
        );
    }
}

#[tokio::test]
async fn gzip_requests_and_responses_work() {
    let server = TestServer::start().await;
    server.import_corpus().await;
    let mut client = ArticleServiceClient::new(channel(&server).await)
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let key = "2020-12-21-power-platform-stories".to_string();
    let request = GetArticleRequest {
        lookup: Some(get_article_request::Lookup::Key(key.clone())),
    };
    let response = client
        .get_article(request)
        .await
        .expect("a gzip call works");
    assert_eq!(
        response
            .metadata()
            .get("grpc-encoding")
            .map(|value| value.to_str().ok()),
        Some(Some("gzip"))
    );
    assert_eq!(response.into_inner().article.expect("an article").key, key);
}

#[tokio::test]
async fn messages_over_the_size_limit_are_refused() {
    let server = TestServer::start().await;
    let mut client = ArticleServiceClient::new(channel(&server).await)
        .max_encoding_message_size(64 * 1024 * 1024);
    let limit = newswire::config::Config::default().server.max_message_bytes as usize;
    let request = ImportArticlesRequest {
        source: "huge.md".into(),
        item: Some(Item::Document("x".repeat(limit + 1))),
    };
    let status = client
        .import_articles(tokio_stream::iter([request]))
        .await
        .expect_err("too large");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
}
