//! The small sections of the configuration file: `[tls]`, `[audit]`,
//! `[shutdown]` and `[metrics]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The admin listener serving Prometheus metrics.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Address of the admin listener (`GET /metrics`); default unset: no
    /// listener. Keep it off the public network: it has no authentication.
    pub listen: Option<SocketAddr>,
}

/// TLS on the gRPC listener (rustls).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain of the server.
    pub certificate_file: PathBuf,
    /// PEM private key of the server.
    pub key_file: PathBuf,
    /// PEM CA certificates that sign client certificates; enables mutual TLS.
    pub client_ca_file: Option<PathBuf>,
    /// Refuse connections without a client certificate (needs `client_ca_file`).
    #[serde(default)]
    pub require_client_certificate: bool,
    /// A TLS handshake not finished by then is dropped: default 10 s,
    /// 1 to 300.
    #[serde(default = "default_handshake_timeout_seconds")]
    pub handshake_timeout_seconds: u64,
}

fn default_handshake_timeout_seconds() -> u64 {
    10
}

impl TlsConfig {
    /// How long a TLS handshake may take.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.handshake_timeout_seconds)
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=300).contains(&self.handshake_timeout_seconds),
            "tls.handshake_timeout_seconds: must be 1..=300"
        );
        anyhow::ensure!(
            !self.require_client_certificate || self.client_ca_file.is_some(),
            "tls.require_client_certificate: needs tls.client_ca_file"
        );
        Ok(())
    }
}

/// Where the audit log goes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// JSON lines appended to this file; unset: the `newswire::audit`
    /// tracing target (the server's log).
    pub file: Option<PathBuf>,
}

/// Graceful shutdown.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    /// How long in-flight calls may run on after SIGTERM before the server
    /// exits anyway: default 30 s.
    pub grace_period_seconds: u64,
}

impl ShutdownConfig {
    /// How long in-flight calls may run on once the drain started.
    pub fn grace_period(&self) -> Duration {
        Duration::from_secs(self.grace_period_seconds)
    }
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            grace_period_seconds: 30,
        }
    }
}
