//! The configuration every benchmark serves newswire with: callers need no
//! credentials and no admission limit binds, so the figures price the
//! service, not the load generator tripping a limit.

use newswire::auth::Scope;
use newswire::config::Config;

/// Open to anonymous readers and writers, limits far above any load here.
pub fn benchmark_config() -> Config {
    let mut config = Config::default();
    config.auth.anonymous_scopes = vec![Scope::Read, Scope::Write];
    config.limits.max_concurrent_requests = 1 << 20;
    config.limits.max_watchers = 1 << 20;
    config.limits.max_concurrent_streams_per_connection = 1 << 16;
    config
}
