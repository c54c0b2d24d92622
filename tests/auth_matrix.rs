//! Identity and permission over real TLS connections: every method of every
//! served service × {no credentials, bad token, expired JWT, read-only
//! caller, writer, admin, wrong client certificate}, each identity proven
//! the ways newswire accepts (static token, JWT, client certificate by
//! SPIFFE ID or common name). The method list comes from the compiled
//! descriptor sets, so a method without a policy fails here.

mod support;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use newswire::auth::OpenService;
use newswire::auth::policy::{Policy, methods_of};
use newswire::auth::{Requirement, Scope};
use support::pki::{Pki, Signed};
use support::raw_call;
use support::secure_server::{
    ADMIN_TOKEN, READER_SPIFFE_ID, READER_TOKEN, SecureServer as Fixture, WRITER_COMMON_NAME,
    WRITER_TOKEN, hs256_jwt, now, valid_claims,
};
use tonic::Code;
use tonic::transport::Channel;

/// Every method the server serves, from the compiled descriptor sets.
fn served_methods() -> Vec<String> {
    let sets: [&[u8]; 4] = [
        newswire::proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    sets.iter()
        .flat_map(|set| methods_of(set).expect("a descriptor set"))
        .map(|method| format!("/{method}"))
        .collect()
}

/// The permission each method must need, written down independently of
/// `src/auth/policy.rs`: a method missing here fails the matrix, and so
/// does a policy that disagrees.
const EXPECTED_POLICY: &[(&str, Scope)] = &[
    ("/newswire.v1.ArticleService/GetArticle", Scope::Read),
    ("/newswire.v1.ArticleService/BatchGetArticles", Scope::Read),
    ("/newswire.v1.ArticleService/ListArticles", Scope::Read),
    ("/newswire.v1.ArticleService/StreamArticles", Scope::Read),
    ("/newswire.v1.ArticleService/WatchArticles", Scope::Read),
    ("/newswire.v1.ArticleService/CreateArticle", Scope::Write),
    ("/newswire.v1.ArticleService/UpdateArticle", Scope::Write),
    ("/newswire.v1.ArticleService/DeleteArticle", Scope::Write),
    ("/newswire.v1.ArticleService/ImportArticles", Scope::Write),
    ("/grpc.health.v1.Health/Check", Scope::Read),
    ("/grpc.health.v1.Health/Watch", Scope::Read),
    (
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        Scope::Read,
    ),
    (
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        Scope::Read,
    ),
];

/// What a row of credentials should get.
#[derive(Clone, Copy)]
enum Expected {
    /// UNAUTHENTICATED for every method.
    Unauthenticated,
    /// Through wherever these scopes suffice, else PERMISSION_DENIED.
    Scopes(&'static [Scope]),
}

struct Row {
    name: &'static str,
    token: Option<String>,
    certificate: Option<Signed>,
    expected: Expected,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_times_every_kind_of_caller() {
    let fixture = Fixture::start().await;
    let policy = Policy::new(&[]).expect("the policy covers every method");
    let methods = served_methods();
    assert!(methods.len() >= 11, "{methods:?}");
    let mut problems = Vec::new();
    for method in &methods {
        let expected = EXPECTED_POLICY
            .iter()
            .find(|(name, _)| name == method)
            .map(|(_, scope)| Requirement::Scope(*scope));
        match (expected, policy.requirement(method)) {
            (None, _) => problems.push(format!(
                "{method} is served but has no expected policy in this test"
            )),
            (_, None) => problems.push(format!("{method} has no access policy")),
            (Some(expected), Some(actual)) if expected != actual => problems.push(format!(
                "{method}: the policy says {actual:?}, expected {expected:?}"
            )),
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let expired = hs256_jwt(|claims| {
        claims["exp"] = serde_json::json!(now() - 3600);
        claims["iat"] = serde_json::json!(now() - 7200);
    });
    let rows = vec![
        Row {
            name: "no credentials",
            token: None,
            certificate: None,
            expected: Expected::Unauthenticated,
        },
        Row {
            name: "bad token",
            token: Some("not-a-configured-token-at-all-0000000000".into()),
            certificate: None,
            expected: Expected::Unauthenticated,
        },
        Row {
            name: "expired JWT",
            token: Some(expired),
            certificate: None,
            expected: Expected::Unauthenticated,
        },
        Row {
            name: "read-only caller (token)",
            token: Some(READER_TOKEN.into()),
            certificate: None,
            expected: Expected::Scopes(&[Scope::Read]),
        },
        Row {
            name: "read-only caller (SPIFFE client certificate)",
            token: None,
            certificate: Some(fixture.pki.client("reader", Some(READER_SPIFFE_ID))),
            expected: Expected::Scopes(&[Scope::Read]),
        },
        Row {
            name: "writer (token)",
            token: Some(WRITER_TOKEN.into()),
            certificate: None,
            expected: Expected::Scopes(&[Scope::Read, Scope::Write]),
        },
        Row {
            name: "writer (JWT)",
            token: Some(hs256_jwt(|_| {})),
            certificate: None,
            expected: Expected::Scopes(&[Scope::Read, Scope::Write]),
        },
        Row {
            name: "writer (client certificate common name)",
            token: None,
            certificate: Some(fixture.pki.client(WRITER_COMMON_NAME, None)),
            expected: Expected::Scopes(&[Scope::Read, Scope::Write]),
        },
        Row {
            name: "admin (token)",
            token: Some(ADMIN_TOKEN.into()),
            certificate: None,
            expected: Expected::Scopes(&[Scope::Admin]),
        },
        Row {
            name: "wrong client certificate (trusted CA, unmapped identity)",
            token: None,
            certificate: Some(fixture.pki.client("intruder.newswire.test", None)),
            expected: Expected::Unauthenticated,
        },
    ];

    let mut failures = Vec::new();
    let mut cells = 0;
    for row in &rows {
        let channel = fixture
            .channel(row.certificate.as_ref())
            .await
            .unwrap_or_else(|error| panic!("{}: TLS connection failed: {error}", row.name));
        for method in &methods {
            let Some((_, needed)) = EXPECTED_POLICY.iter().find(|(name, _)| name == method) else {
                unreachable!("checked above: every method has an expected policy")
            };
            let needed = *needed;
            let status = raw_call::call(channel.clone(), method, row.token.as_deref()).await;
            cells += 1;
            let problem = match row.expected {
                Expected::Unauthenticated if status.code() != Code::Unauthenticated => {
                    Some("expected UNAUTHENTICATED".to_string())
                }
                Expected::Scopes(scopes)
                    if scopes.contains(&needed) || scopes.contains(&Scope::Admin) =>
                {
                    matches!(
                        status.code(),
                        Code::Unauthenticated | Code::PermissionDenied | Code::ResourceExhausted
                    )
                    .then(|| format!("expected the call through (it needs `{needed}`)"))
                }
                Expected::Scopes(_) if status.code() != Code::PermissionDenied => {
                    Some(format!("expected PERMISSION_DENIED (it needs `{needed}`)"))
                }
                Expected::Scopes(_) if !status.message().contains(&format!("`{needed}`")) => {
                    Some(format!("the message does not name `{needed}`"))
                }
                _ => None,
            };
            let leaked = row
                .token
                .as_deref()
                .is_some_and(|token| status.message().contains(token));
            if let Some(problem) = problem {
                failures.push(format!(
                    "{} × {method}: {problem}; got {:?} {:?}",
                    row.name,
                    status.code(),
                    status.message()
                ));
            }
            if leaked {
                failures.push(format!(
                    "{} × {method}: the message repeats the token",
                    row.name
                ));
            }
        }
    }
    assert!(cells >= 100, "only {cells} cells ran");
    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn an_expired_jwt_is_refused_as_expired() {
    let fixture = Fixture::start().await;
    let channel = fixture.channel(None).await.expect("TLS connects");
    let expired = hs256_jwt(|claims| claims["exp"] = serde_json::json!(now() - 3600));
    let status = raw_call::call(
        channel,
        "/newswire.v1.ArticleService/ListArticles",
        Some(&expired),
    )
    .await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("expired"), "{status:?}");
}

#[tokio::test]
async fn forged_and_misdirected_jwts_are_refused() {
    let fixture = Fixture::start().await;
    let channel = fixture.channel(None).await.expect("TLS connects");
    let list = "/newswire.v1.ArticleService/ListArticles";
    let encode_part = |value: &serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    // `alg: none`, unsigned.
    let unsigned = format!(
        "{}.{}.",
        encode_part(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        encode_part(&valid_claims())
    );
    // Algorithm confusion: HS256 "signed" with the ES256 public key as secret.
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &valid_claims(),
        &EncodingKey::from_secret(fixture.jwt_key.public_key_pem().as_bytes()),
    )
    .expect("encodes");
    let wrong_issuer = hs256_jwt(|claims| claims["iss"] = "https://elsewhere.test".into());
    let wrong_audience = hs256_jwt(|claims| claims["aud"] = "another-service".into());
    let no_expiry = hs256_jwt(|claims| {
        claims.as_object_mut().expect("an object").remove("exp");
    });
    let wrong_secret = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &valid_claims(),
        &EncodingKey::from_secret(b"another-secret-of-thirty-two-bytes-long"),
    )
    .expect("encodes");
    for (name, token) in [
        ("alg none", unsigned),
        ("algorithm confusion", confused),
        ("wrong issuer", wrong_issuer),
        ("wrong audience", wrong_audience),
        ("no expiry", no_expiry),
        ("wrong secret", wrong_secret),
    ] {
        let status = raw_call::call(channel.clone(), list, Some(&token)).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{name}: {status:?}");
        assert!(!status.message().contains(&token), "{name} leaks the token");
    }

    // The real ES256 key works, and a token within the leeway too.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("ec-1".into());
    let mut claims = valid_claims();
    claims["scope"] = "read".into();
    claims["exp"] = serde_json::json!(now() - 5);
    let signed = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ec_pem(fixture.jwt_key.serialize_pem().as_bytes()).expect("a key"),
    )
    .expect("encodes");
    let status = raw_call::call(channel, list, Some(&signed)).await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_and_plaintext_get_nothing() {
    let fixture = Fixture::start().await;
    let stranger = Pki::new("someone else's CA");
    let forged = stranger.client("reader", Some(READER_SPIFFE_ID));
    let status = match fixture.channel(Some(&forged)).await {
        Err(_) => None,
        Ok(channel) => {
            Some(raw_call::call(channel, "/newswire.v1.ArticleService/ListArticles", None).await)
        }
    };
    if let Some(status) = status {
        assert!(
            !matches!(status.code(), Code::Ok | Code::PermissionDenied),
            "an untrusted certificate got {status:?}"
        );
    }

    let plaintext = Channel::from_shared(format!("http://{}", fixture.server.address()))
        .expect("a URL")
        .connect()
        .await;
    if let Ok(channel) = plaintext {
        let status = raw_call::call(
            channel,
            "/newswire.v1.ArticleService/ListArticles",
            Some(READER_TOKEN),
        )
        .await;
        assert_ne!(status.code(), Code::Ok, "plaintext to a TLS server worked");
    }
}

#[tokio::test]
async fn health_and_reflection_open_only_when_configured() {
    let closed = Fixture::start().await;
    let opened = Fixture::start_with(|settings| {
        settings.auth.open = vec![OpenService::Health, OpenService::Reflection];
    })
    .await;
    for method in [
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ] {
        let channel = closed.channel(None).await.expect("TLS connects");
        let status = raw_call::call(channel, method, None).await;
        assert_eq!(status.code(), Code::Unauthenticated, "closed {method}");
        let channel = opened.channel(None).await.expect("TLS connects");
        let status = raw_call::call(channel, method, None).await;
        assert_eq!(status.code(), Code::Ok, "opened {method}: {status:?}");
    }
    // Opening health opens nothing else.
    let channel = opened.channel(None).await.expect("TLS connects");
    let status = raw_call::call(channel, "/newswire.v1.ArticleService/GetArticle", None).await;
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_required_client_certificate_is_required() {
    let fixture = Fixture::start_with(|settings| {
        if let Some(tls) = settings.tls.as_mut() {
            tls.require_client_certificate = true;
        }
    })
    .await;
    let without = match fixture.channel(None).await {
        Err(_) => None,
        Ok(channel) => Some(
            raw_call::call(
                channel,
                "/newswire.v1.ArticleService/ListArticles",
                Some(READER_TOKEN),
            )
            .await,
        ),
    };
    if let Some(status) = without {
        assert_ne!(status.code(), Code::Ok, "no client certificate got through");
    }
    let certificate = fixture.pki.client("reader", Some(READER_SPIFFE_ID));
    let channel = fixture
        .channel(Some(&certificate))
        .await
        .expect("mTLS connects");
    let status = raw_call::call(channel, "/newswire.v1.ArticleService/ListArticles", None).await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");
}
