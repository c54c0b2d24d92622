//! A fresh PostgreSQL database per test.
//!
//! The server is the one `NEWSWIRE_TEST_DATABASE_URL` names (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `scripts/test` starts one
//! or provisions a throwaway one and sets it). Each `TestDatabase` creates
//! its own database, `newswire_test_<random hex>`, and drops it when
//! dropped, forcing off any connection still open. An unreachable server
//! fails the test with what to do about it: these tests never skip.

use tokio_postgres::NoTls;

/// The variable naming the test server (any database on it: the tests
/// connect to it only to create and drop their own).
pub const TEST_DATABASE_URL_VARIABLE: &str = "NEWSWIRE_TEST_DATABASE_URL";
/// The server `scripts/test` and a stock local install provide.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database of its own for one test, dropped with it.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    server_url: String,
}

impl TestDatabase {
    /// Creates a fresh, empty database.
    pub async fn create() -> Self {
        let server_url = server_url();
        let name = format!("newswire_test_{}", uuid::Uuid::now_v7().simple());
        let client = connect(&server_url).await;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|error| panic!("creating the test database {name}: {error:?}"));
        let url = with_database(&server_url, &name);
        Self {
            name,
            url,
            server_url,
        }
    }

    /// The URL of this database, for `PostgresStore::connect`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    /// Drop cannot await, and may run on the test's runtime: a thread of
    /// its own, with a small runtime of its own, drops the database.
    fn drop(&mut self) {
        let name = self.name.as_str();
        let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        let server_url = self.server_url.clone();
        let dropping = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            runtime.block_on(async {
                let client = connect(&server_url).await;
                client.batch_execute(&statement).await
            })
        });
        match dropping.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("warning: dropping the test database {name}: {error}"),
            Err(_) => eprintln!("warning: dropping the test database {name} panicked"),
        }
    }
}

/// The test server's URL.
pub fn server_url() -> String {
    std::env::var(TEST_DATABASE_URL_VARIABLE)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.to_string())
}

/// A plain connection to `url`, or a panic saying how to get a server.
async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = match tokio_postgres::connect(url, NoTls).await {
        Ok(pair) => pair,
        Err(error) => panic!(
            "cannot reach the PostgreSQL test server at {url} ({error:?}).\n\
             These tests need one. `scripts/test` starts or provisions it (it needs \
             PostgreSQL installed: `apt-get install postgresql`), or start one yourself \
             (`pg_ctlcluster --skip-systemctl-redirect 15 main start`) and point \
             {TEST_DATABASE_URL_VARIABLE} at it (default {DEFAULT_TEST_DATABASE_URL})."
        ),
    };
    tokio::spawn(async move {
        // Ends when the client is dropped; an error here surfaces on the
        // client's next call.
        let _ = connection.await;
    });
    client
}

/// `url` with its database replaced by `database`: the path of a
/// `postgres://` URL, or the `dbname` of a `key=value` string.
pub fn with_database(url: &str, database: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return format!("{url} dbname={database}");
    };
    let authority_start = scheme_end + 3;
    let (before_query, query) = match url.find('?') {
        Some(position) => url.split_at(position),
        None => (url, ""),
    };
    let authority_end = before_query[authority_start..]
        .find('/')
        .map_or(before_query.len(), |position| authority_start + position);
    format!("{}/{database}{query}", &before_query[..authority_end])
}
