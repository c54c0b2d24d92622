//! Flags and environment over the file over the defaults. clap fills every
//! flag with its default, so a flag counts only where clap says it came
//! from the command line or the environment (`ArgMatches::value_source`).

use clap::ArgMatches;
use clap::parser::ValueSource;

use super::{ServerSection, Settings};
use crate::auth::Scope;
use crate::config::ServeConfig;

/// Smallest and largest `max_message_bytes`, as the flag allows.
const MESSAGE_BYTES_RANGE: std::ops::RangeInclusive<u32> = 64 * 1024..=64 * 1024 * 1024;

/// The effective settings of `serve`: the file `serve.config` names (if
/// any) under the flags in `matches`. `serve` is updated to the effective
/// values, and the returned settings' `server` section shows them too.
pub fn effective_settings(
    serve: &mut ServeConfig,
    matches: &ArgMatches,
) -> anyhow::Result<Settings> {
    let mut settings = match &serve.config {
        Some(path) => Settings::load(path)?,
        None => Settings::default(),
    };
    let given = |id: &str| {
        matches!(
            matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    let file = &settings.server;
    if let (false, Some(listen)) = (given("listen"), file.listen) {
        serve.listen = listen;
    }
    if let (false, Some(data)) = (given("data"), &file.data) {
        serve.data = data.clone();
    }
    if let (false, Some(database)) = (given("database"), &file.database) {
        serve.database = Some(database.clone());
    }
    if let (false, Some(bytes)) = (given("max_message_bytes"), file.max_message_bytes) {
        anyhow::ensure!(
            MESSAGE_BYTES_RANGE.contains(&bytes),
            "server.max_message_bytes: {bytes} is outside {}..={}",
            MESSAGE_BYTES_RANGE.start(),
            MESSAGE_BYTES_RANGE.end()
        );
        serve.max_message_bytes = bytes;
    }
    if serve.insecure_allow_anonymous {
        settings.auth.anonymous_scopes = vec![Scope::Read, Scope::Write, Scope::Admin];
    }
    settings.server = ServerSection {
        listen: Some(serve.listen),
        data: Some(serve.data.clone()),
        database: serve.database.clone(),
        max_message_bytes: Some(serve.max_message_bytes),
    };
    settings.validate_limits()?;
    Ok(settings)
}

impl Settings {
    /// Every limit must allow some work and stay finite.
    fn validate_limits(&self) -> anyhow::Result<()> {
        let limits = &self.limits;
        let positive = [
            (
                "max_concurrent_streams_per_connection",
                u64::from(limits.max_concurrent_streams_per_connection),
            ),
            (
                "max_concurrent_requests",
                limits.max_concurrent_requests as u64,
            ),
            ("max_watchers", limits.max_watchers as u64),
            (
                "requests_per_second_per_caller",
                u64::from(limits.requests_per_second_per_caller),
            ),
            ("burst_per_caller", u64::from(limits.burst_per_caller)),
            (
                "keepalive_interval_seconds",
                limits.keepalive_interval_seconds,
            ),
            (
                "keepalive_timeout_seconds",
                limits.keepalive_timeout_seconds,
            ),
            (
                "stream_idle_timeout_seconds",
                limits.stream_idle_timeout_seconds,
            ),
            (
                "stream_max_lifetime_seconds",
                limits.stream_max_lifetime_seconds,
            ),
        ];
        for (name, value) in positive {
            anyhow::ensure!(value > 0, "limits.{name}: must be at least 1");
        }
        if let Some(tls) = &self.tls {
            anyhow::ensure!(
                (1..=300).contains(&tls.handshake_timeout_seconds),
                "tls.handshake_timeout_seconds: must be 1..=300"
            );
            anyhow::ensure!(
                !tls.require_client_certificate || tls.client_ca_file.is_some(),
                "tls.require_client_certificate: needs tls.client_ca_file"
            );
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
}
