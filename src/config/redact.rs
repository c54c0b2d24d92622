//! The effective configuration as TOML, with every secret replaced, for
//! `newswire config check`: safe to paste into a ticket.

use super::Config;

/// What a hidden secret reads as.
const REDACTED: &str = "<redacted>";

/// `config` as TOML with JWT secrets, token hashes and database
/// passwords hidden. A token hash keeps its first 8 digits so an operator
/// can tell callers apart.
pub fn redacted_toml(config: &Config) -> anyhow::Result<String> {
    let mut config = config.clone();
    for caller in &mut config.auth.callers {
        let prefix: String = caller.token_sha256.chars().take(8).collect();
        caller.token_sha256 = format!("{prefix}…{REDACTED}");
    }
    if let Some(jwt) = config.auth.jwt.as_mut() {
        for key in &mut jwt.keys {
            if key.secret.is_some() {
                key.secret = Some(REDACTED.to_string());
            }
        }
    }
    if let Some(database) = config.server.database.as_mut() {
        *database = redact_url_password(database);
    }
    Ok(toml::to_string_pretty(&config)?)
}

/// `scheme://user:password@host…` → `scheme://user:<redacted>@host…`; a
/// `password=` query parameter likewise.
fn redact_url_password(url: &str) -> String {
    let mut url = url.to_string();
    if let Some(scheme_end) = url.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = url[authority_start..]
            .find(['/', '?'])
            .map_or(url.len(), |end| authority_start + end);
        if let Some(at) = url[authority_start..authority_end].rfind('@') {
            let user_info = &url[authority_start..authority_start + at];
            if let Some(colon) = user_info.find(':') {
                let password_start = authority_start + colon + 1;
                url.replace_range(password_start..authority_start + at, REDACTED);
            }
        }
    }
    if let Some(start) = url.find("password=") {
        let value_start = start + "password=".len();
        let value_end = url[value_start..]
            .find('&')
            .map_or(url.len(), |end| value_start + end);
        url.replace_range(value_start..value_end, REDACTED);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::redact_url_password;

    #[test]
    fn database_passwords_are_hidden() {
        assert_eq!(
            redact_url_password("postgres://newswire:s3cret@db:5432/newswire"),
            "postgres://newswire:<redacted>@db:5432/newswire"
        );
        assert_eq!(
            redact_url_password("postgres://db/newswire?user=a&password=s3cret&sslmode=require"),
            "postgres://db/newswire?user=a&password=<redacted>&sslmode=require"
        );
        assert_eq!(
            redact_url_password("postgres://newswire@db/newswire"),
            "postgres://newswire@db/newswire"
        );
    }
}
