//! The settings every benchmark serves newswire with: callers need no
//! credentials and no admission limit binds, so the figures price the
//! service, not the load generator tripping a limit.

use newswire::auth::Scope;
use newswire::settings::Settings;

/// Open to anonymous readers and writers, limits far above any load here.
pub fn benchmark_settings() -> Settings {
    let mut settings = Settings::default();
    settings.auth.anonymous_scopes = vec![Scope::Read, Scope::Write];
    settings.limits.requests_per_second_per_caller = u32::MAX;
    settings.limits.burst_per_caller = u32::MAX;
    settings.limits.max_concurrent_requests = 1 << 20;
    settings.limits.max_watchers = 1 << 20;
    settings.limits.max_concurrent_streams_per_connection = 1 << 16;
    settings
}
