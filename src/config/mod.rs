//! The one configuration of `serve`: built in layers, each over the one
//! before — the defaults documented on every field, then the file
//! (`--config`, TOML), then the environment (`NEWSWIRE_*`), then the flags
//! (`cli::ServeArgs` applies those two, clap letting a flag win over its
//! variable) — and validated once, so that a bad value stops the server
//! before it listens, with an error naming the key. After that it is only
//! read: the server and `main.rs` build what the layers below need
//! (access control, admission, stream limits, the feed's and the store's
//! options) from it.
//!
//! - `server`    `[server]` and `[database]`: listener, store, message size, pool
//! - `feed`      `[watch]` and `[change_log]`: the change feed
//! - `limits`    `[limits]`: connections, calls, callers, streams
//! - `sections`  `[tls]`, `[audit]`, `[shutdown]`, `[metrics]`
//! - `duration`  `500ms`, `10s`, `7d` as flags, variables and file values
//! - `redact`    the configuration as TOML with secrets hidden (`config check`)
//!
//! `[auth]` is `auth::AuthOptions`, access control's own type.

pub mod duration;
mod feed;
mod limits;
mod redact;
mod sections;
mod server;

pub use feed::{ChangeLogConfig, WATCH_BUFFER_RANGE, WatchConfig};
pub use limits::LimitsConfig;
pub use redact::redacted_toml;
pub use sections::{AuditConfig, MetricsConfig, ShutdownConfig, TlsConfig};
pub use server::{
    DEFAULT_READ_CACHE_ARTICLES, DatabaseConfig, MESSAGE_BYTES_RANGE, POOL_SIZE_RANGE,
    READ_CACHE_RANGE, ServerConfig, StoreLocation,
};

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::auth::{AuthOptions, Scope};

/// Everything `serve` is configured with; its TOML form is the
/// configuration file. Unknown keys are errors, so a misspelt limit is
/// never silently ignored; a missing key takes its default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub watch: WatchConfig,
    pub change_log: ChangeLogConfig,
    pub auth: AuthOptions,
    /// TLS on the gRPC listener; default unset: plaintext.
    pub tls: Option<TlsConfig>,
    pub limits: LimitsConfig,
    pub audit: AuditConfig,
    pub shutdown: ShutdownConfig,
    pub metrics: MetricsConfig,
}

impl Config {
    /// The file at `path` over the defaults, not yet validated (flags may
    /// still override it). Relative paths inside the file (keys,
    /// certificates, the audit log) are resolved against the file's folder.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let mut config: Config = toml::from_str(&text)
            .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    /// Lets callers without credentials do everything
    /// (`--insecure-allow-anonymous`): for local development only.
    pub fn allow_anonymous(&mut self) {
        self.auth.anonymous_scopes = vec![Scope::Read, Scope::Write, Scope::Admin];
    }

    /// Checks every value and every relation between values; an error
    /// names the key. What needs files read (certificates, keys) or access
    /// control built is checked by `server::check`.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.server.validate()?;
        self.database.validate()?;
        self.watch.validate()?;
        self.change_log.validate()?;
        self.limits.validate()?;
        if let Some(tls) = &self.tls {
            tls.validate()?;
        }
        anyhow::ensure!(
            self.auth.certificates.is_empty()
                || self
                    .tls
                    .as_ref()
                    .is_some_and(|tls| tls.client_ca_file.is_some()),
            "auth.certificates: client certificates need tls.client_ca_file"
        );
        Ok(())
    }

    /// Makes every relative file path absolute against `folder`.
    fn resolve_paths(&mut self, folder: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = folder.join(&*path);
            }
        };
        if let Some(tls) = self.tls.as_mut() {
            resolve(&mut tls.certificate_file);
            resolve(&mut tls.key_file);
            if let Some(client_ca) = tls.client_ca_file.as_mut() {
                resolve(client_ca);
            }
        }
        if let Some(jwt) = self.auth.jwt.as_mut() {
            for key in &mut jwt.keys {
                if let Some(file) = key.public_key_file.as_mut() {
                    resolve(file);
                }
            }
        }
        if let Some(file) = self.audit.file.as_mut() {
            resolve(file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        Config::default().validate().expect("valid defaults");
    }

    #[test]
    fn the_printed_configuration_reads_back_as_itself() {
        let config = Config::default();
        let text = toml::to_string_pretty(&config).expect("serializes");
        let read: Config = toml::from_str(&text).expect("reads back");
        assert_eq!(read, config);
    }

    #[test]
    fn a_bad_value_is_refused_naming_its_key() {
        type Spoil = fn(&mut Config);
        let cases: [(Spoil, &str); 5] = [
            (
                |config| config.server.max_message_bytes = 1,
                "server.max_message_bytes",
            ),
            (|config| config.database.pool_size = 0, "database.pool_size"),
            (|config| config.watch.buffer = 10, "watch.buffer"),
            (
                |config| config.change_log.compaction_interval = std::time::Duration::ZERO,
                "change_log.compaction_interval",
            ),
            (
                |config| config.limits.max_watchers = 0,
                "limits.max_watchers",
            ),
        ];
        for (spoil, key) in cases {
            let mut config = Config::default();
            spoil(&mut config);
            let error = config.validate().expect_err("refused").to_string();
            assert!(error.starts_with(key), "{key}: {error}");
        }
    }

    #[test]
    fn file_durations_are_read_as_the_flags_read_them() {
        let config: Config = toml::from_str(
            "[watch]\nprogress_interval = \"500ms\"\n[change_log]\nmax_age = \"0\"\n",
        )
        .expect("valid");
        assert_eq!(
            config.watch.progress_interval,
            std::time::Duration::from_millis(500)
        );
        assert!(config.change_log.max_age.is_zero());
    }
}
