//! Reads multiplexed over a few shared connections.
//!
//! A read is one statement outside any transaction, so it needs no session
//! of its own: many reads share one connection, and tokio-postgres
//! pipelines them (it sends each statement without waiting for the
//! answers before it). A pooled connection per read would cost a checkout
//! and a round trip of its own per statement, each answered by a backend
//! woken for it alone; shared, a backend answers a burst of reads per
//! wake-up. Writes keep the pool: a transaction needs a session to itself.
//!
//! A shared connection that closes (a restarted server, a broken network)
//! fails the reads in flight on it, which become `Unavailable`; the next
//! read on its slot opens a new one. Nothing else can go wrong with a
//! shared session: no read opens a transaction or changes a setting.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_postgres::{Client, Statement};

use super::connection::Settings;
use super::errors::{Failure, PostgresContext};

/// Prepared statements kept per connection before its cache is emptied:
/// list statements vary with the filters set.
const MAX_CACHED_STATEMENTS: usize = 256;

/// One shared connection and its prepared statements.
pub(super) struct SharedReader {
    client: Client,
    statements: std::sync::Mutex<HashMap<String, Statement>>,
}

impl std::ops::Deref for SharedReader {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl SharedReader {
    /// `sql` prepared on this connection, once.
    pub(super) async fn prepare_cached(
        &self,
        sql: &str,
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(statement) = self.cached(sql) {
            return Ok(statement);
        }
        let statement = self.client.prepare(sql).await?;
        let mut statements = self
            .statements
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if statements.len() >= MAX_CACHED_STATEMENTS {
            statements.clear();
        }
        statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    fn cached(&self, sql: &str) -> Option<Statement> {
        self.statements
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(sql)
            .cloned()
    }
}

/// The shared connections, opened when first needed and reopened when
/// closed; reads take them in turn.
pub(super) struct SharedReaders {
    settings: Arc<Settings>,
    slots: Vec<tokio::sync::Mutex<Option<Arc<SharedReader>>>>,
    next: AtomicUsize,
}

impl SharedReaders {
    pub(super) fn new(settings: Arc<Settings>, count: usize) -> Self {
        Self {
            settings,
            slots: (0..count.max(1))
                .map(|_| tokio::sync::Mutex::new(None))
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// The next shared connection, opened if its slot has none or a closed
    /// one.
    pub(super) async fn get(&self) -> Result<Arc<SharedReader>, Failure> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let mut slot = slot.lock().await;
        if let Some(reader) = slot.as_ref()
            && !reader.client.is_closed()
        {
            return Ok(Arc::clone(reader));
        }
        let client = self
            .settings
            .connect()
            .await
            .context("opening a shared read connection")?;
        let reader = Arc::new(SharedReader {
            client,
            statements: std::sync::Mutex::new(HashMap::new()),
        });
        *slot = Some(Arc::clone(&reader));
        Ok(reader)
    }
}
