//! A newswire server over TLS (certificates made at test time) with every
//! kind of credential configured: static tokens for a reader, a writer and
//! an admin, HS256 and ES256 JWT keys, and client-certificate mappings by
//! SPIFFE ID and by common name.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use newswire::auth::{CallerOptions, CertificateMapping, JwtKeyOptions, JwtOptions, Scope};
use newswire::config::{Config, TlsConfig};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use super::pki::{Pki, Signed};
use super::server::TestServer;

pub const READER_TOKEN: &str = "reader-token-4f1d8c2e9b7a6054d3c2b1a09f8e7d6c";
pub const WRITER_TOKEN: &str = "writer-token-0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d";
pub const ADMIN_TOKEN: &str = "admin-token-5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b";
pub const JWT_SECRET: &str = "test-only-hmac-secret-0123456789abcdef";
pub const ISSUER: &str = "https://issuer.newswire.test";
pub const AUDIENCE: &str = "newswire";
pub const READER_SPIFFE_ID: &str = "spiffe://newswire.test/reader";
pub const WRITER_COMMON_NAME: &str = "writer.newswire.test";

/// A TLS server with every kind of credential configured.
pub struct SecureServer {
    pub server: TestServer,
    pub pki: Pki,
    /// Signs ES256 JWTs; its public key is configured.
    pub jwt_key: rcgen::KeyPair,
}

impl SecureServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let pki = Pki::new("newswire test CA");
        let server_certificate = pki.server();
        let jwt_key = rcgen::KeyPair::generate().expect("an EC key");
        let tls = Some(TlsConfig {
            certificate_file: pki.write("server.pem", &server_certificate.certificate_pem),
            key_file: pki.write("server.key", &server_certificate.key_pem),
            client_ca_file: Some(pki.write("clients-ca.pem", &pki.ca_pem)),
            require_client_certificate: false,
            handshake_timeout_seconds: 10,
        });
        let mut config = Config {
            tls,
            ..Config::default()
        };
        let caller = |name: &str, token: &str, scopes: &[Scope]| CallerOptions {
            name: name.to_string(),
            token_sha256: newswire::auth::tokens::hash_token(token),
            scopes: scopes.to_vec(),
        };
        config.auth.callers = vec![
            caller("reader", READER_TOKEN, &[Scope::Read]),
            caller("writer", WRITER_TOKEN, &[Scope::Read, Scope::Write]),
            caller("admin", ADMIN_TOKEN, &[Scope::Admin]),
        ];
        config.auth.jwt = Some(JwtOptions {
            issuer: ISSUER.to_string(),
            audience: AUDIENCE.to_string(),
            leeway_seconds: 30,
            keys: vec![
                JwtKeyOptions {
                    key_id: None,
                    algorithm: "HS256".to_string(),
                    public_key_file: None,
                    secret: Some(JWT_SECRET.to_string()),
                },
                JwtKeyOptions {
                    key_id: Some("ec-1".to_string()),
                    algorithm: "ES256".to_string(),
                    public_key_file: Some(pki.write("jwt-es256.pem", &jwt_key.public_key_pem())),
                    secret: None,
                },
            ],
        });
        config.auth.certificates = vec![
            CertificateMapping {
                spiffe_id: Some(READER_SPIFFE_ID.to_string()),
                common_name: None,
                scopes: vec![Scope::Read],
            },
            CertificateMapping {
                spiffe_id: None,
                common_name: Some(WRITER_COMMON_NAME.to_string()),
                scopes: vec![Scope::Read, Scope::Write],
            },
        ];
        adjust(&mut config);
        let server = TestServer::start_configured(config).await;
        Self {
            server,
            pki,
            jwt_key,
        }
    }

    /// A TLS channel verifying the server against the test CA, presenting
    /// `client` as client certificate if given.
    pub async fn channel(&self, client: Option<&Signed>) -> Result<Channel, String> {
        tls_channel(&self.server, &self.pki.ca_pem, client).await
    }
}

pub async fn tls_channel(
    server: &TestServer,
    ca_pem: &str,
    client: Option<&Signed>,
) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some(client) = client {
        tls = tls.identity(Identity::from_pem(&client.certificate_pem, &client.key_pem));
    }
    Channel::from_shared(format!("https://{}", server.address()))
        .expect("a URL")
        .tls_config(tls)
        .map_err(|error| error.to_string())?
        .connect()
        .await
        .map_err(|error| format!("{error:?}"))
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// An HS256 JWT with `claims` over the standard valid ones.
pub fn hs256_jwt(adjust: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut claims = valid_claims();
    adjust(&mut claims);
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("encodes")
}

pub fn valid_claims() -> serde_json::Value {
    serde_json::json!({
        "sub": "jwt-writer",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now() + 600,
        "iat": now(),
        "scope": "read write",
    })
}
