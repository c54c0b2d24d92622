//! Who is calling and may they. Deny by default: a call passes only if its
//! method's policy is open, or the caller proves an identity whose scopes
//! include the one the method needs.
//!
//! - `policy`       the scope every RPC needs, checked against the descriptor sets
//! - `tokens`       static bearer tokens of configured callers, stored hashed
//! - `jwt`          JSON Web Tokens verified against configured keys
//! - `certificate`  client-certificate identities (mutual TLS)
//! - `options`      the `[auth]` section these are built from
//!
//! Credentials are tried in this order: an `authorization: Bearer` header
//! (a JWT when it has a JWT's shape and JWTs are configured, else a static
//! token), then the client certificate, then the configured anonymous
//! scopes. Presented credentials that fail are never skipped over.

pub mod certificate;
pub mod jwt;
pub mod options;
pub mod policy;
pub mod tokens;

use std::fmt;

use serde::{Deserialize, Serialize};
use tonic::Code;
use tonic::codegen::http::HeaderMap;

pub use options::{
    AuthOptions, CallerOptions, CertificateMapping, JwtKeyOptions, JwtOptions, OpenService,
};
pub use policy::{Policy, Requirement};

/// A permission. `admin` includes the others; `read` and `write` are
/// independent, so a write-only importer cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    /// The scope named `name` (`read`, `write`, `admin`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        })
    }
}

/// How a caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    Token,
    Jwt,
    Certificate,
    Anonymous,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The configured name, the JWT's `sub`, or the certificate identity.
    pub caller: String,
    pub scopes: Vec<Scope>,
    pub credential: Credential,
}

impl Identity {
    /// Whether the caller holds `scope` (or `admin`).
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes
            .iter()
            .any(|held| *held == scope || *held == Scope::Admin)
    }
}

/// Why a call was refused: UNAUTHENTICATED or PERMISSION_DENIED, with a
/// message for the caller that names the missing permission and never
/// repeats a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub code: Code,
    pub message: String,
    /// Who was refused, when known (for the audit log).
    pub caller: Option<String>,
}

impl Denial {
    fn unauthenticated(message: impl Into<String>) -> Self {
        Self {
            code: Code::Unauthenticated,
            message: message.into(),
            caller: None,
        }
    }
}

/// The credentials a call presents.
pub struct Presented<'call> {
    pub headers: &'call HeaderMap,
    /// The client's certificate chain, leaf first (mutual TLS only).
    pub client_certificates: Option<&'call [rustls::pki_types::CertificateDer<'static>]>,
}

/// Everything needed to decide on a call, built once from `AuthOptions`.
pub struct AccessControl {
    policy: Policy,
    tokens: tokens::StaticTokens,
    jwt: Option<jwt::JwtVerifier>,
    certificates: certificate::CertificateMappings,
    anonymous_scopes: Vec<Scope>,
    /// No caller of any kind is configured, so a refused credential can be
    /// told so: no credential could pass, and there is nothing to reveal.
    no_callers: bool,
}

impl AccessControl {
    /// Builds and validates the access configuration; errors name the field.
    pub fn new(options: &AuthOptions) -> anyhow::Result<Self> {
        Ok(Self {
            policy: Policy::new(&options.open)?,
            tokens: tokens::StaticTokens::new(&options.callers)?,
            jwt: options
                .jwt
                .as_ref()
                .map(jwt::JwtVerifier::new)
                .transpose()?,
            certificates: certificate::CertificateMappings::new(&options.certificates)?,
            anonymous_scopes: options.anonymous_scopes.clone(),
            no_callers: options.callers.is_empty()
                && options.jwt.is_none()
                && options.certificates.is_empty(),
        })
    }

    /// Whether callers without credentials get any scope (development only).
    pub fn allows_anonymous(&self) -> bool {
        !self.anonymous_scopes.is_empty()
    }

    /// Every method the server serves, as `/package.Service/Method`.
    pub fn methods(&self) -> Vec<String> {
        self.policy.methods()
    }

    /// Decides on a call of `method` (`/package.Service/Method`): the
    /// caller's identity (`None` for an open method), or why not.
    pub fn check(
        &self,
        method: &str,
        presented: &Presented<'_>,
    ) -> Result<Option<Identity>, Denial> {
        let requirement = self.policy.requirement(method);
        if requirement == Some(Requirement::Open) {
            return Ok(None);
        }
        let identity = self.authenticate(presented)?;
        let name = method.trim_start_matches('/');
        let Some(Requirement::Scope(scope)) = requirement else {
            return Err(Denial {
                code: Code::PermissionDenied,
                message: format!("{name} has no access policy, so nobody may call it"),
                caller: identity.map(|identity| identity.caller),
            });
        };
        match identity {
            None => Err(Denial::unauthenticated(format!(
                "{name} needs the `{scope}` permission: present `authorization: Bearer <token>` \
                 or a client certificate"
            ))),
            Some(identity) if identity.has(scope) => Ok(Some(identity)),
            Some(identity) => Err(Denial {
                code: Code::PermissionDenied,
                message: format!(
                    "caller {:?} lacks the `{scope}` permission that {name} needs",
                    identity.caller
                ),
                caller: Some(identity.caller),
            }),
        }
    }

    /// Why a bearer token was refused. With no caller configured at all,
    /// the server says so (a server started without `--config`); otherwise
    /// it reveals nothing about which tokens exist.
    fn invalid_token(&self) -> Denial {
        if self.no_callers {
            Denial::unauthenticated(
                "the bearer token is not valid for this server: it has no callers configured \
                 (auth.callers, auth.jwt and auth.certificates are empty); start it with \
                 --config, e.g. config/development.toml",
            )
        } else {
            Denial::unauthenticated("the bearer token is not valid for this server")
        }
    }

    /// The identity the presented credentials prove; `None` when nothing
    /// was presented and anonymous callers get no scope.
    fn authenticate(&self, presented: &Presented<'_>) -> Result<Option<Identity>, Denial> {
        if let Some(value) = presented.headers.get("authorization") {
            let token = value
                .to_str()
                .ok()
                .and_then(|value| {
                    value
                        .strip_prefix("Bearer ")
                        .or_else(|| value.strip_prefix("bearer "))
                })
                .map(str::trim)
                .filter(|token| !token.is_empty())
                .ok_or_else(|| {
                    Denial::unauthenticated("the authorization header must be `Bearer <token>`")
                })?;
            return match &self.jwt {
                Some(verifier) if jwt::looks_like_jwt(token) => verifier
                    .verify(token)
                    .map(Some)
                    .map_err(|problem| Denial::unauthenticated(format!("the JWT {problem}"))),
                _ => self
                    .tokens
                    .identify(token)
                    .map(Some)
                    .ok_or_else(|| self.invalid_token()),
            };
        }
        if let Some(chain) = presented
            .client_certificates
            .filter(|chain| !chain.is_empty())
        {
            return self
                .certificates
                .identify(&chain[0])
                .map(Some)
                .map_err(|problem| {
                    Denial::unauthenticated(format!("the client certificate {problem}"))
                });
        }
        if self.allows_anonymous() {
            return Ok(Some(Identity {
                caller: "anonymous".to_string(),
                scopes: self.anonymous_scopes.clone(),
                credential: Credential::Anonymous,
            }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            format!("Bearer {token}").parse().expect("a header value"),
        );
        headers
    }

    fn refusal(options: &AuthOptions) -> Denial {
        let access = AccessControl::new(options).expect("valid options");
        let headers = bearer("newswire-dev-token");
        let presented = Presented {
            headers: &headers,
            client_certificates: None,
        };
        access
            .check("/newswire.v1.ArticleService/GetArticle", &presented)
            .expect_err("an unknown token is refused")
    }

    #[test]
    fn a_server_without_callers_says_so_and_one_with_callers_reveals_nothing() {
        let none = refusal(&AuthOptions::default());
        assert_eq!(none.code, Code::Unauthenticated);
        assert!(
            none.message.contains("no callers configured"),
            "{}",
            none.message
        );

        let with_callers = AuthOptions {
            callers: vec![CallerOptions {
                name: "reader".to_string(),
                token_sha256: tokens::hash_token("another-token"),
                scopes: vec![Scope::Read],
            }],
            ..AuthOptions::default()
        };
        let some = refusal(&with_callers);
        assert_eq!(
            some.message,
            "the bearer token is not valid for this server"
        );
    }
}
