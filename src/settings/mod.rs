//! The configuration file of `serve` (TOML), layered under the command
//! line: a flag or environment variable wins over the file, the file wins
//! over the built-in default. Parsed, then validated once (`validate`), so
//! that a bad file stops the server before it listens, with an error that
//! names the field.
//!
//! - `file`      the TOML form, section by section
//! - `layering`  flags and environment over the file
//! - `redact`    the effective configuration with secrets hidden

mod file;
mod layering;
mod redact;

pub use file::{
    AuditSettings, AuthSettings, CallerSettings, CertificateMapping, JwtKeySettings, JwtSettings,
    LimitSettings, MetricsSettings, OpenService, ServerSection, Settings, ShutdownSettings,
    TlsSettings,
};
pub use layering::effective_settings;
pub use redact::redacted_toml;

use std::path::{Path, PathBuf};

use anyhow::Context;

impl Settings {
    /// Reads and validates the file at `path`. Relative paths inside the
    /// file (keys, certificates) are resolved against the file's folder.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let mut settings: Settings = toml::from_str(&text)
            .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        settings.resolve_paths(folder);
        Ok(settings)
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
