//! Limits over TLS: a flood from one caller is refused with
//! RESOURCE_EXHAUSTED while another caller goes on unharmed; beyond the
//! server's concurrency limit calls are shed with UNAVAILABLE instead of
//! queueing; a client's deadline (`grpc-timeout`) ends its call; an idle
//! stream, or one past its lifetime, is ended.

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use newswire::proto::article_service_client::ArticleServiceClient;
use newswire::proto::{ImportArticlesRequest, ListArticlesRequest};
use support::secure_server::{READER_TOKEN, SecureServer, WRITER_TOKEN};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic_types::StatusExt;

/// Conditions are awaited this long at most: generous for a busy machine.
const DEADLINE: Duration = Duration::from_secs(60);

fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header value"),
    );
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_caller_is_throttled_and_does_not_starve_another() {
    let fixture = SecureServer::start_with(|settings| {
        settings.limits.requests_per_second_per_caller = Some(1);
        settings.limits.burst_per_caller = Some(10);
    })
    .await;
    let channel = fixture.channel(None).await.expect("TLS");

    // The flood: 200 calls from the reader, 20 at a time.
    let flood: Vec<_> = (0..10)
        .map(|_| {
            let channel = channel.clone();
            tokio::spawn(async move {
                let mut client = ArticleServiceClient::new(channel);
                let mut codes = Vec::new();
                for _ in 0..20 {
                    let result = client
                        .list_articles(with_token(ListArticlesRequest::default(), READER_TOKEN))
                        .await;
                    codes.push(result.map_or_else(|status| status, |_| tonic::Status::ok("")));
                }
                codes
            })
        })
        .collect();
    let mut throttled = 0;
    let mut served = 0;
    for task in flood {
        for status in task.await.expect("the flood task") {
            match status.code() {
                Code::Ok => served += 1,
                Code::ResourceExhausted => {
                    throttled += 1;
                    assert!(
                        status.message().contains("rate limit"),
                        "{}",
                        status.message()
                    );
                    assert!(
                        status.get_details_retry_info().is_some(),
                        "RESOURCE_EXHAUSTED carries RetryInfo"
                    );
                }
                other => panic!("the flood got {other:?}: {}", status.message()),
            }
        }
    }
    // Unless the flood took over 90 s, at most 10 + 90 calls got through.
    assert!(throttled >= 100, "only {throttled} of 200 were throttled");
    assert!(served >= 10, "the burst is served: {served}");

    // The other caller, right after the flood, is served in full.
    let mut client = ArticleServiceClient::new(channel);
    for call in 0..8 {
        client
            .list_articles(with_token(ListArticlesRequest::default(), WRITER_TOKEN))
            .await
            .unwrap_or_else(|status| panic!("the writer's call {call} was refused: {status:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_concurrency_limit_calls_are_shed_not_queued() {
    let fixture = SecureServer::start_with(|settings| {
        settings.limits.max_concurrent_requests = 1;
    })
    .await;
    let channel = fixture.channel(None).await.expect("TLS");

    // An import stream held open occupies the one place.
    let start_import = |channel: tonic::transport::Channel| {
        let (sender, receiver) = mpsc::channel::<ImportArticlesRequest>(1);
        let mut importer = ArticleServiceClient::new(channel);
        let import = tokio::spawn(async move {
            importer
                .import_articles(with_token(ReceiverStream::new(receiver), WRITER_TOKEN))
                .await
        });
        (sender, import)
    };
    let (mut sender, mut import) = start_import(channel.clone());

    let mut reader = ArticleServiceClient::new(channel.clone());
    let started = Instant::now();
    let shed = loop {
        let result = reader
            .list_articles(with_token(ListArticlesRequest::default(), READER_TOKEN))
            .await;
        match result {
            Err(status) if status.code() == Code::Unavailable => break status,
            Err(status) => panic!("expected UNAVAILABLE, got {status:?}"),
            Ok(_) => {
                assert!(
                    started.elapsed() < DEADLINE,
                    "the import never occupied the server"
                );
                // The import may have lost the race for the one place to
                // a list call, and been shed: start it again.
                if import.is_finished() {
                    (sender, import) = start_import(channel.clone());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert!(shed.message().contains("overloaded"), "{}", shed.message());
    assert!(shed.get_details_retry_info().is_some());

    // Once the import ends, the reader is served again.
    drop(sender);
    let summary = import
        .await
        .expect("the import task")
        .expect("the import ends well");
    assert_eq!(summary.into_inner().failed, 0);
    let started = Instant::now();
    loop {
        match reader
            .list_articles(with_token(ListArticlesRequest::default(), READER_TOKEN))
            .await
        {
            Ok(_) => break,
            Err(status) if status.code() == Code::Unavailable => {
                assert!(started.elapsed() < DEADLINE, "still shed: {status:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_deadline_ends_the_call() {
    let fixture = SecureServer::start().await;
    let channel = fixture.channel(None).await.expect("TLS");
    let (_sender, receiver) = mpsc::channel::<ImportArticlesRequest>(1);
    let mut request = with_token(ReceiverStream::new(receiver), WRITER_TOKEN);
    request.set_timeout(Duration::from_millis(300));
    let mut client = ArticleServiceClient::new(channel);
    // The stream never ends, so only the deadline can end the call.
    let status = tokio::time::timeout(DEADLINE, client.import_articles(request))
        .await
        .expect("the server ended the call at its deadline")
        .expect_err("the deadline passed");
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_tls_handshake_is_dropped() {
    use tokio::io::AsyncReadExt;
    let fixture = SecureServer::start_with(|settings| {
        if let Some(tls) = settings.tls.as_mut() {
            tls.handshake_timeout_seconds = 1;
        }
    })
    .await;
    // A client that connects and never says hello.
    let mut silent = tokio::net::TcpStream::connect(fixture.server.address())
        .await
        .expect("connects");
    let mut buffer = [0_u8; 64];
    let read = tokio::time::timeout(DEADLINE, silent.read(&mut buffer))
        .await
        .expect("the server closes the connection at the handshake timeout");
    // Closed (0 bytes) or reset: either way nothing was served.
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

/// An import stream that never sends and never ends, against a server with
/// `adjust`ed limits: the status the server ends it with.
async fn silent_import_status(adjust: impl FnOnce(&mut newswire::config::Config)) -> tonic::Status {
    let fixture = SecureServer::start_with(adjust).await;
    let channel = fixture.channel(None).await.expect("TLS");
    let (_sender, receiver) = mpsc::channel::<ImportArticlesRequest>(1);
    let mut client = ArticleServiceClient::new(channel);
    tokio::time::timeout(
        DEADLINE,
        client.import_articles(with_token(ReceiverStream::new(receiver), WRITER_TOKEN)),
    )
    .await
    .expect("the server ends the stream")
    .expect_err("a silent stream cannot succeed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_stream_is_ended() {
    let status = silent_import_status(|settings| {
        settings.limits.stream_idle_timeout_seconds = 1;
    })
    .await;
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("stream_idle_timeout_seconds"),
        "{status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_past_its_lifetime_is_ended_resumably() {
    let status = silent_import_status(|settings| {
        settings.limits.stream_max_lifetime_seconds = 1;
    })
    .await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("stream_max_lifetime_seconds"),
        "{status:?}"
    );
}

/// The server announces `limits.max_concurrent_streams_per_connection` in
/// its HTTP/2 SETTINGS, which clients obey: read it off a raw HTTP/2
/// connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_limit_per_connection_is_announced_to_clients() {
    let mut settings = support::server::anonymous_config();
    settings.limits.max_concurrent_streams_per_connection = 7;
    let server = support::server::TestServer::start_configured(settings).await;
    let socket = tokio::net::TcpStream::connect(server.address())
        .await
        .expect("connect");
    let (_requests, mut connection) = h2::client::handshake(socket)
        .await
        .expect("an HTTP/2 handshake");
    // Before the server's SETTINGS arrive the client assumes no limit;
    // they come first thing, so drive the connection until they have.
    let announced = tokio::time::timeout(
        DEADLINE,
        futures::future::poll_fn(|context| {
            let _ = std::pin::Pin::new(&mut connection).poll(context);
            match connection.max_concurrent_send_streams() {
                usize::MAX => std::task::Poll::Pending,
                limit => std::task::Poll::Ready(limit),
            }
        }),
    )
    .await
    .expect("the server's SETTINGS within the deadline");
    assert_eq!(announced, 7);
}

/// HTTP/2 keepalive: the server pings an idle connection every
/// `limits.keepalive_interval_seconds` and closes it when a ping goes
/// unanswered for `limits.keepalive_timeout_seconds`. A raw client that
/// never answers sees a PING frame, then the connection end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_keepalive_ping_closes_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// HTTP/2 frame type of PING (RFC 9113, 6.7).
    const PING: u8 = 0x6;

    let mut settings = support::server::anonymous_config();
    settings.limits.keepalive_interval_seconds = 1;
    settings.limits.keepalive_timeout_seconds = 1;
    let server = support::server::TestServer::start_configured(settings).await;
    let mut socket = tokio::net::TcpStream::connect(server.address())
        .await
        .expect("connect");
    // The client preface and an empty SETTINGS frame; nothing else, ever.
    socket
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .expect("send the preface");
    let frame_types = tokio::time::timeout(DEADLINE, async {
        let mut types = Vec::new();
        loop {
            let mut header = [0_u8; 9];
            if socket.read_exact(&mut header).await.is_err() {
                return types;
            }
            let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
            let mut payload = vec![0_u8; length];
            if socket.read_exact(&mut payload).await.is_err() {
                return types;
            }
            types.push(header[3]);
        }
    })
    .await
    .expect("the server closed the unanswering connection within the deadline");
    assert!(
        frame_types.contains(&PING),
        "no keepalive PING before the close; frame types {frame_types:?}"
    );
}

/// `limits.max_watchers`: a watch beyond it is refused with
/// RESOURCE_EXHAUSTED naming the limit, and admitted again once another
/// watch has ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_beyond_max_watchers_are_refused_until_one_ends() {
    use newswire::proto::WatchArticlesRequest;

    let mut settings = support::server::anonymous_config();
    settings.limits.max_watchers = 1;
    let server = support::server::TestServer::start_configured(settings).await;
    let mut client = server.client().await;
    let first = client
        .watch_articles(WatchArticlesRequest::default())
        .await
        .expect("the first watch is admitted")
        .into_inner();
    let refused = client
        .watch_articles(WatchArticlesRequest::default())
        .await
        .expect_err("a second watch is one too many");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("limits.max_watchers"),
        "{refused:?}"
    );
    drop(first);
    // The server notices the first watch's end when its stream is reset.
    let started = Instant::now();
    loop {
        match client.watch_articles(WatchArticlesRequest::default()).await {
            Ok(_) => break,
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert!(
                    started.elapsed() < DEADLINE,
                    "the ended watch's place was never freed"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    }
}
