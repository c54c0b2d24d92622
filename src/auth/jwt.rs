//! JSON Web Tokens from an identity provider, verified with jsonwebtoken.
//!
//! Each configured key verifies exactly one algorithm, and a token is only
//! tried against keys of the algorithm its header names: `alg: none` does
//! not parse, and an RSA or EC public key can never be used as an HMAC
//! secret (algorithm confusion). Issuer, audience, expiry (required) and
//! not-before are checked, with a leeway of at most 300 s.

use std::str::FromStr;

use anyhow::Context;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::options::{JwtKeyOptions, JwtOptions};
use super::{Credential, Identity, Scope};

/// The most clock skew a configuration may tolerate.
pub const MAX_LEEWAY_SECONDS: u64 = 300;

/// Verifies tokens against the configured keys.
pub struct JwtVerifier {
    keys: Vec<VerificationKey>,
}

struct VerificationKey {
    key_id: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

/// The claims newswire reads; the others are ignored.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    /// Space-separated scopes (RFC 8693 `scope`).
    #[serde(default)]
    scope: Option<String>,
    /// Or a list of them.
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

/// Whether `token` has a JWT's shape (three base64url parts).
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

impl JwtVerifier {
    /// Validates `auth.jwt` and loads its keys; errors name the field.
    pub fn new(options: &JwtOptions) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !options.issuer.is_empty(),
            "auth.jwt.issuer: must not be empty"
        );
        anyhow::ensure!(
            !options.audience.is_empty(),
            "auth.jwt.audience: must not be empty"
        );
        anyhow::ensure!(
            options.leeway_seconds <= MAX_LEEWAY_SECONDS,
            "auth.jwt.leeway_seconds: at most {MAX_LEEWAY_SECONDS}"
        );
        anyhow::ensure!(
            !options.keys.is_empty(),
            "auth.jwt.keys: configure at least one key"
        );
        let mut keys = Vec::new();
        for (index, key) in options.keys.iter().enumerate() {
            let field = format!("auth.jwt.keys[{index}]");
            let algorithm = Algorithm::from_str(&key.algorithm).map_err(|_| {
                anyhow::anyhow!(
                    "{field}.algorithm: {:?} is not a JWT algorithm",
                    key.algorithm
                )
            })?;
            let decoding_key = decoding_key(algorithm, key, &field)?;
            let mut validation = Validation::new(algorithm);
            validation.algorithms = vec![algorithm];
            validation.leeway = options.leeway_seconds;
            validation.validate_exp = true;
            validation.validate_nbf = true;
            validation.set_issuer(&[&options.issuer]);
            validation.set_audience(&[&options.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            keys.push(VerificationKey {
                key_id: key.key_id.clone(),
                algorithm,
                key: decoding_key,
                validation,
            });
        }
        Ok(Self { keys })
    }

    /// The identity a valid token proves, or what is wrong with it (said
    /// without repeating the token: "has expired", "is not signed by a
    /// configured key" …).
    pub fn verify(&self, token: &str) -> Result<Identity, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "is malformed".to_string())?;
        let candidates = self.keys.iter().filter(|key| {
            key.algorithm == header.alg
                && match (&header.kid, &key.key_id) {
                    (Some(wanted), Some(id)) => wanted == id,
                    _ => true,
                }
        });
        let mut problem = format!("uses {:?}, which no configured key allows", header.alg);
        for key in candidates {
            match jsonwebtoken::decode::<Claims>(token, &key.key, &key.validation) {
                Ok(data) => return Ok(identity(data.claims)),
                Err(error) => {
                    problem = describe(error.kind());
                    if !matches!(error.kind(), ErrorKind::InvalidSignature) {
                        // Signed by this key but otherwise invalid: final.
                        return Err(problem);
                    }
                }
            }
        }
        Err(problem)
    }
}

fn decoding_key(
    algorithm: Algorithm,
    key: &JwtKeyOptions,
    field: &str,
) -> anyhow::Result<DecodingKey> {
    let is_hmac = matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    );
    if is_hmac {
        anyhow::ensure!(
            key.public_key_file.is_none(),
            "{field}: an HMAC key takes `secret`, not `public_key_file`"
        );
        let secret = key
            .secret
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("{field}.secret: required for {algorithm:?}"))?;
        anyhow::ensure!(
            secret.len() >= 32,
            "{field}.secret: at least 32 bytes for {algorithm:?}"
        );
        return Ok(DecodingKey::from_secret(secret.as_bytes()));
    }
    anyhow::ensure!(
        key.secret.is_none(),
        "{field}: a {algorithm:?} key takes `public_key_file`, not `secret`"
    );
    let path = key
        .public_key_file
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("{field}.public_key_file: required for {algorithm:?}"))?;
    let pem = std::fs::read(path)
        .with_context(|| format!("{field}.public_key_file: cannot read {}", path.display()))?;
    let parsed = match algorithm {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => DecodingKey::from_rsa_pem(&pem),
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            unreachable!("HMAC keys returned above")
        }
    };
    parsed.with_context(|| {
        format!(
            "{field}.public_key_file: {} is not a PEM {algorithm:?} public key",
            path.display()
        )
    })
}

fn identity(claims: Claims) -> Identity {
    let names = claims
        .scope
        .iter()
        .flat_map(|scope| scope.split_whitespace().map(str::to_string))
        .chain(claims.scopes.into_iter().flatten());
    let mut scopes: Vec<Scope> = names.filter_map(|name| Scope::parse(&name)).collect();
    scopes.dedup();
    Identity {
        caller: claims.sub,
        scopes,
        credential: Credential::Jwt,
    }
}

fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "has expired".into(),
        ErrorKind::ImmatureSignature => "is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "has the wrong issuer".into(),
        ErrorKind::InvalidAudience => "is not for this audience".into(),
        ErrorKind::InvalidSignature => "is not signed by a configured key".into(),
        ErrorKind::InvalidAlgorithm => "uses an algorithm no configured key allows".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("lacks the `{claim}` claim"),
        _ => "is not valid".into(),
    }
}
