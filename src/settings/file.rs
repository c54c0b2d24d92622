//! The sections of the configuration file. Unknown keys are errors, so a
//! misspelt limit is never silently ignored. Every limit has a default
//! documented in README.md ("Running newswire in production").

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::auth::Scope;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSection,
    pub auth: AuthSettings,
    pub tls: Option<TlsSettings>,
    pub limits: LimitSettings,
    pub audit: AuditSettings,
    pub shutdown: ShutdownSettings,
    pub metrics: MetricsSettings,
}

/// The admin listener serving Prometheus metrics.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Address of the admin listener (`GET /metrics`); unset: no listener.
    /// Keep it off the public network: it has no authentication.
    pub listen: Option<SocketAddr>,
}

/// What the `serve` flags also set; a flag or its environment variable wins.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    pub database: Option<String>,
    pub max_message_bytes: Option<u32>,
}

/// Who may call what. Nothing is open unless listed here.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Services callable without credentials: `"health"`, `"reflection"`.
    pub open: Vec<OpenService>,
    /// Scopes of a caller presenting no credentials. Empty (the default)
    /// denies them; anything else is for local development only and is
    /// logged as a warning at start-up.
    pub anonymous_scopes: Vec<Scope>,
    /// Callers with static bearer tokens.
    pub callers: Vec<CallerSettings>,
    /// JSON Web Tokens from an identity provider.
    pub jwt: Option<JwtSettings>,
    /// Client-certificate identities (mutual TLS) and their scopes.
    pub certificates: Vec<CertificateMapping>,
}

/// A service that configuration may open to callers without credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenService {
    /// `grpc.health.v1.Health`
    Health,
    /// `grpc.reflection.v1(alpha).ServerReflection`
    Reflection,
}

/// One caller with a static bearer token.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CallerSettings {
    /// Shown in logs and the audit log.
    pub name: String,
    /// Lower-case hex SHA-256 of the token (`newswire config hash-token`):
    /// the file never holds a usable token.
    pub token_sha256: String,
    pub scopes: Vec<Scope>,
}

/// Verification of JSON Web Tokens.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSettings {
    /// Required `iss`.
    pub issuer: String,
    /// Required in `aud`.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, at most 300 s.
    #[serde(default = "default_jwt_leeway_seconds")]
    pub leeway_seconds: u64,
    /// Verification keys; each allows exactly one algorithm.
    pub keys: Vec<JwtKeySettings>,
}

fn default_jwt_leeway_seconds() -> u64 {
    30
}

/// One verification key.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JwtKeySettings {
    /// Matched against the token's `kid` when the token has one.
    pub key_id: Option<String>,
    /// The one algorithm this key verifies (`RS256`, `ES256`, `EdDSA`,
    /// `HS256` …). A token naming another algorithm is refused, so an RSA
    /// public key can never be used as an HMAC secret.
    pub algorithm: String,
    /// PEM public key, for RS*/PS*/ES*/EdDSA.
    pub public_key_file: Option<PathBuf>,
    /// Shared secret, for HS*; redacted when printed.
    pub secret: Option<String>,
}

/// A client certificate identity and its scopes. Exactly one of
/// `spiffe_id` (a URI subject alternative name) and `common_name`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateMapping {
    pub spiffe_id: Option<String>,
    pub common_name: Option<String>,
    pub scopes: Vec<Scope>,
}

/// TLS on the gRPC listener (rustls).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain of the server.
    pub certificate_file: PathBuf,
    /// PEM private key of the server.
    pub key_file: PathBuf,
    /// PEM CA certificates that sign client certificates; enables mutual TLS.
    pub client_ca_file: Option<PathBuf>,
    /// Refuse connections without a client certificate (needs `client_ca_file`).
    #[serde(default)]
    pub require_client_certificate: bool,
    /// A TLS handshake not finished by then is dropped.
    #[serde(default = "default_handshake_timeout_seconds")]
    pub handshake_timeout_seconds: u64,
}

fn default_handshake_timeout_seconds() -> u64 {
    10
}

/// Limits beyond the message size (README: "Limits").
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// HTTP/2 streams (calls) open at once on one connection.
    pub max_concurrent_streams_per_connection: u32,
    /// Calls being served at once by the whole server; more are shed with
    /// UNAVAILABLE instead of queueing.
    pub max_concurrent_requests: usize,
    /// Watch streams open at once (read by the change feed).
    pub max_watchers: usize,
    /// Calls per second one caller may start, on average.
    pub requests_per_second_per_caller: u32,
    /// Calls one caller may start in a burst above that rate.
    pub burst_per_caller: u32,
    /// HTTP/2 PING interval on idle connections.
    pub keepalive_interval_seconds: u64,
    /// A PING unanswered this long closes the connection.
    pub keepalive_timeout_seconds: u64,
    /// A stream that carries no message this long is ended.
    pub stream_idle_timeout_seconds: u64,
    /// A stream is ended (resumably) after this long.
    pub stream_max_lifetime_seconds: u64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_concurrent_streams_per_connection: 128,
            max_concurrent_requests: 512,
            max_watchers: 1024,
            requests_per_second_per_caller: 1000,
            burst_per_caller: 2000,
            keepalive_interval_seconds: 30,
            keepalive_timeout_seconds: 20,
            stream_idle_timeout_seconds: 300,
            stream_max_lifetime_seconds: 3600,
        }
    }
}

/// Where the audit log goes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// JSON lines appended to this file; unset: the `newswire::audit`
    /// tracing target (the server's log).
    pub file: Option<PathBuf>,
}

/// Graceful shutdown.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownSettings {
    /// How long in-flight calls may run on after SIGTERM before the server
    /// exits anyway.
    pub grace_period_seconds: u64,
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        Self {
            grace_period_seconds: 30,
        }
    }
}
