//! What access control is built from: the `[auth]` section of the
//! configuration file, in auth's own types so that auth depends on nothing
//! above it. `AccessControl::new` validates it and names the key at fault.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Scope;

/// Who may call what. Nothing is open unless listed here.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthOptions {
    /// Services callable without credentials: `"health"`, `"reflection"`.
    /// Default: none.
    pub open: Vec<OpenService>,
    /// Scopes of a caller presenting no credentials. Empty (the default)
    /// denies them; anything else is for local development only and is
    /// logged as a warning at start-up.
    pub anonymous_scopes: Vec<Scope>,
    /// Callers with static bearer tokens. Default: none.
    pub callers: Vec<CallerOptions>,
    /// JSON Web Tokens from an identity provider. Default: not accepted.
    pub jwt: Option<JwtOptions>,
    /// Client-certificate identities (mutual TLS) and their scopes.
    /// Default: none.
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
pub struct CallerOptions {
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
pub struct JwtOptions {
    /// Required `iss`.
    pub issuer: String,
    /// Required in `aud`.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`: default 30 s, at most 300 s.
    #[serde(default = "default_jwt_leeway_seconds")]
    pub leeway_seconds: u64,
    /// Verification keys; each allows exactly one algorithm.
    pub keys: Vec<JwtKeyOptions>,
}

fn default_jwt_leeway_seconds() -> u64 {
    30
}

/// One verification key.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JwtKeyOptions {
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
