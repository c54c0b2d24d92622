//! From a database URL to a pool of checked connections: URL parsing, TLS
//! and the recycling check.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::PostgresOptions;
use crate::error::Error;

/// How long opening one connection may take unless the URL says otherwise
/// (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long handing out a pooled connection may take, its check included.
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The check a pooled connection passes before it is handed out again. It
/// fails on a connection that is closed or broken (no answer), inside an
/// aborted transaction (every statement fails there), or inside an open
/// transaction: outside one, a statement is its own transaction and
/// `now()`, the transaction's start, equals `statement_timestamp()`;
/// inside one they differ, and the division by zero fails the check. A
/// connection that fails is closed and replaced. (tokio-postgres rolls back
/// a transaction that is dropped unfinished, so this is a safety net, not
/// the mechanism.)
pub(super) const RECYCLE_CHECK: &str = "SELECT 1 / (now() = statement_timestamp())::int \
     /* newswire: is this pooled session outside any transaction? */";

/// A parsed database URL and the TLS it asks for.
#[derive(Clone)]
pub(super) struct Settings {
    config: Config,
    tls: Option<MakeRustlsConnect>,
    /// `host:port/database`, for messages: never the password.
    target: String,
}

impl Settings {
    /// Parses a `postgres://` URL (or a `key=value` connection string).
    ///
    /// `sslmode=require` connects over TLS (rustls) and verifies the
    /// server's certificate and host name against the system's roots
    /// (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured) and Mozilla's;
    /// libpq's `verify-ca` and `verify-full` are read as `require`, which
    /// verifies as fully as `verify-full`. Otherwise (`disable`, `prefer`,
    /// or no `sslmode`) the connection is plain.
    pub(super) fn parse(url: &str) -> Result<Self, Error> {
        let url = read_libpq_verify_modes(url);
        let mut config: Config = url.parse().map_err(|error| {
            Error::invalid(
                "database",
                format!("not a PostgreSQL URL (postgres://user@host:port/database): {error}"),
            )
        })?;
        if config.get_application_name().is_none() {
            config.application_name("newswire");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let tls = match config.get_ssl_mode() {
            SslMode::Require => Some(rustls_connector()?),
            _ => {
                config.ssl_mode(SslMode::Disable);
                None
            }
        };
        let target = target_of(&config);
        Ok(Self {
            config,
            tls,
            target,
        })
    }

    /// `host:port/database`, safe to log.
    pub(super) fn target(&self) -> &str {
        &self.target
    }

    /// Whether connections use TLS.
    pub(super) fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// A connection outside the pool, its connection task spawned (it
    /// ends when the connection closes).
    pub(super) async fn connect(&self) -> Result<Client, tokio_postgres::Error> {
        let closed = |result: Result<(), tokio_postgres::Error>| {
            if let Err(error) = result {
                tracing::debug!(%error, "a shared PostgreSQL connection closed");
            }
        };
        Ok(match &self.tls {
            Some(tls) => {
                let (client, connection) = self.config.connect(tls.clone()).await?;
                tokio::spawn(async move { closed(connection.await) });
                client
            }
            None => {
                let (client, connection) = self.config.connect(NoTls).await?;
                tokio::spawn(async move { closed(connection.await) });
                client
            }
        })
    }

    /// One connection outside the pool, and the stream of the
    /// asynchronous messages (notifications) the server sends on it. The
    /// stream drives the connection: poll it for the client to work; it
    /// ends when the connection closes.
    pub(super) async fn connect_with_messages(
        &self,
    ) -> Result<(tokio_postgres::Client, MessageStream), tokio_postgres::Error> {
        fn messages<Connection>(mut connection: Connection) -> MessageStream
        where
            Connection: PollMessage + Send + 'static,
        {
            Box::pin(futures::stream::poll_fn(move |context| {
                connection.poll_message_from(context)
            }))
        }
        match &self.tls {
            Some(tls) => {
                let (client, connection) = self.config.connect(tls.clone()).await?;
                Ok((client, messages(connection)))
            }
            None => {
                let (client, connection) = self.config.connect(NoTls).await?;
                Ok((client, messages(connection)))
            }
        }
    }

    /// A pool of at most `options.pool_size` connections, opened when
    /// needed and checked with `RECYCLE_CHECK` before each reuse.
    pub(super) fn pool(&self, options: &PostgresOptions) -> Result<Pool, Error> {
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Custom(RECYCLE_CHECK.to_string()),
        };
        let manager = match &self.tls {
            Some(tls) => Manager::from_config(self.config.clone(), tls.clone(), manager_config),
            None => Manager::from_config(self.config.clone(), NoTls, manager_config),
        };
        Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(
                self.config
                    .get_connect_timeout()
                    .copied()
                    .unwrap_or(CONNECT_TIMEOUT),
            ))
            .recycle_timeout(Some(RECYCLE_TIMEOUT))
            .build()
            .map_err(|error| Error::Internal(format!("building the PostgreSQL pool: {error}")))
    }
}

/// What the server sends a connection unasked, in order.
pub(super) type MessageStream = futures::stream::BoxStream<
    'static,
    Result<tokio_postgres::AsyncMessage, tokio_postgres::Error>,
>;

/// `tokio_postgres::Connection::poll_message`, for either TLS.
pub(super) trait PollMessage {
    fn poll_message_from(
        &mut self,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<tokio_postgres::AsyncMessage, tokio_postgres::Error>>>;
}

impl<Socket, Tls> PollMessage for tokio_postgres::Connection<Socket, Tls>
where
    Socket: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    Tls: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    fn poll_message_from(
        &mut self,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<tokio_postgres::AsyncMessage, tokio_postgres::Error>>> {
        self.poll_message(context)
    }
}

/// tokio-postgres knows `disable`, `prefer` and `require`; libpq's two
/// verifying modes become `require`, which with rustls always verifies.
fn read_libpq_verify_modes(url: &str) -> String {
    url.replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require")
}

/// A rustls client that trusts the system's roots and Mozilla's.
fn rustls_connector() -> Result<MakeRustlsConnect, Error> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::warn!(%error, "loading the system's TLS root certificates");
    }
    let (_added, ignored) = roots.add_parsable_certificates(native.certs);
    if ignored > 0 {
        tracing::warn!(ignored, "system TLS root certificates that do not parse");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| Error::Internal(format!("configuring TLS: {error}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// `host:port/database` (the first host), for messages and logs.
fn target_of(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{database}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_unless_tls_is_required() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/newswire",
            "postgres://postgres@127.0.0.1/newswire?sslmode=prefer",
            "postgres://postgres@127.0.0.1/newswire?sslmode=disable",
        ] {
            let settings = Settings::parse(url).expect("a valid URL");
            assert!(!settings.uses_tls(), "{url}");
        }
        for url in [
            "postgres://postgres@db.example:6543/newswire?sslmode=require",
            "postgresql://postgres@db.example/newswire?sslmode=verify-full",
            "postgres://postgres@db.example/newswire?connect_timeout=3&sslmode=verify-ca",
        ] {
            let settings = Settings::parse(url).expect("a valid URL");
            assert!(settings.uses_tls(), "{url}");
        }
    }

    #[test]
    fn the_target_names_host_port_and_database_but_never_the_password() {
        let settings = Settings::parse("postgres://newswire:secret@db.example:6543/articles")
            .expect("a valid URL");
        assert_eq!(settings.target(), "db.example:6543/articles");
        let settings = Settings::parse("postgres://newswire@localhost").expect("a valid URL");
        assert_eq!(settings.target(), "localhost:5432/newswire");
    }

    /// Needs the test server (`scripts/test` provides it): the check runs
    /// on real sessions, on the server's own database, creating nothing.
    #[tokio::test]
    async fn a_session_left_in_a_transaction_is_replaced_and_a_clean_one_reused() {
        let url = std::env::var("NEWSWIRE_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let settings = Settings::parse(&url).expect("a valid URL");
        let pool = settings
            .pool(&PostgresOptions {
                pool_size: 1,
                ..PostgresOptions::default()
            })
            .expect("a pool");
        let backend = async |pool: &Pool| -> (i32, deadpool_postgres::Object) {
            let client = pool.get().await.unwrap_or_else(|error| {
                panic!(
                    "cannot reach the PostgreSQL test server at {url}: {error}; run \
                     scripts/test, or start PostgreSQL (apt-get install postgresql) and \
                     set NEWSWIRE_TEST_DATABASE_URL"
                )
            });
            let row = client
                .query_one("SELECT pg_backend_pid()", &[])
                .await
                .expect("a query");
            (row.get(0), client)
        };

        let (first, client) = backend(&pool).await;
        drop(client);
        let (again, client) = backend(&pool).await;
        assert_eq!(again, first, "a clean session is reused");

        client.batch_execute("BEGIN").await.expect("BEGIN");
        drop(client);
        let (after_open, client) = backend(&pool).await;
        assert_ne!(
            after_open, first,
            "a session left in a transaction is replaced"
        );

        client
            .batch_execute("BEGIN; SELECT 1 / 0")
            .await
            .expect_err("the transaction aborts");
        drop(client);
        let (after_aborted, client) = backend(&pool).await;
        assert_ne!(after_aborted, after_open, "an aborted session is replaced");
        client
            .query_one("SELECT 1", &[])
            .await
            .expect("the new session works");
    }

    #[test]
    fn a_bad_url_names_the_database_setting() {
        let error = Settings::parse("postgres://host/db?no_such_option=1")
            .err()
            .expect("an unknown option is refused");
        assert!(
            matches!(&error, Error::InvalidArgument(violations) if violations[0].field == "database"),
            "{error:?}"
        );
    }
}
