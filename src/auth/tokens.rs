//! Static bearer tokens. The configuration holds each token's SHA-256, not
//! the token: a leaked file grants nothing. A fast hash is the right one
//! here, unlike for passwords: the tokens are random (`newswire config
//! hash-token` says to make them 32 random bytes), so there is no
//! dictionary to try, and every call hashes the presented token, which
//! argon2 would make cost milliseconds. Lookup is by hash, so comparing
//! never touches the secret itself.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::options::CallerOptions;
use super::{Credential, Identity, Scope};

/// The configured callers, by the SHA-256 of their token.
pub struct StaticTokens {
    callers: HashMap<[u8; 32], (String, Vec<Scope>)>,
}

impl StaticTokens {
    /// Validates `auth.callers`: names unique and non-empty, hashes of 64
    /// hex digits and unique, at least one scope each.
    pub fn new(callers: &[CallerOptions]) -> anyhow::Result<Self> {
        let mut by_hash = HashMap::new();
        let mut names = std::collections::HashSet::new();
        for (index, caller) in callers.iter().enumerate() {
            let field = format!("auth.callers[{index}]");
            anyhow::ensure!(
                !caller.name.trim().is_empty(),
                "{field}.name: must not be empty"
            );
            anyhow::ensure!(
                names.insert(caller.name.as_str()),
                "{field}.name: {:?} is used twice",
                caller.name
            );
            anyhow::ensure!(
                !caller.scopes.is_empty(),
                "{field}.scopes: give at least one of read, write, admin"
            );
            let hash = parse_hash(&caller.token_sha256).ok_or_else(|| {
                anyhow::anyhow!(
                    "{field}.token_sha256: expected 64 hex digits (`newswire config hash-token`)"
                )
            })?;
            anyhow::ensure!(
                by_hash
                    .insert(hash, (caller.name.clone(), caller.scopes.clone()))
                    .is_none(),
                "{field}.token_sha256: another caller has the same token"
            );
        }
        Ok(Self { callers: by_hash })
    }

    /// The caller whose token this is.
    pub fn identify(&self, token: &str) -> Option<Identity> {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.callers.get(&hash).map(|(name, scopes)| Identity {
            caller: name.clone(),
            scopes: scopes.clone(),
            credential: Credential::Token,
        })
    }
}

/// The lower-case hex SHA-256 of `token`, as `auth.callers[].token_sha256`
/// holds it.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut hash = [0_u8; 32];
    for (index, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[index * 2..index * 2 + 2], 16).ok()?;
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_token_identifies_its_caller_and_others_do_not() {
        let tokens = StaticTokens::new(&[CallerOptions {
            name: "reader".into(),
            token_sha256: hash_token("correct horse"),
            scopes: vec![Scope::Read],
        }])
        .expect("valid");
        let identity = tokens.identify("correct horse").expect("known");
        assert_eq!(identity.caller, "reader");
        assert!(tokens.identify("correct horse ").is_none());
        assert!(tokens.identify("").is_none());
    }

    #[test]
    fn malformed_hashes_are_refused_with_the_field() {
        let error = StaticTokens::new(&[CallerOptions {
            name: "reader".into(),
            token_sha256: "abc".into(),
            scopes: vec![Scope::Read],
        }])
        .err()
        .expect("invalid");
        assert!(
            error.to_string().contains("auth.callers[0].token_sha256"),
            "{error}"
        );
    }
}
