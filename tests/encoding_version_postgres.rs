//! PostgreSQL and a field added to `newswire.v1.Article`: a database
//! written by a build from before the field, served by the current build,
//! streams the field as GetArticle and ListArticles give it. This store
//! keeps no encodings (it encodes each page it streams with the encoder it
//! runs), so nothing is re-encoded; the test holds it to the same outcome
//! as SQLite's (`encoding_version`), whatever it comes to keep.

mod support;

use std::sync::Arc;

use newswire::store::postgres::PostgresStore;
use newswire::wire::article_encoder;
use support::encoding::{EncoderBeforeEtag, assert_reads_agree, write_corpus_copies};
use support::postgres::TestDatabase;
use support::server::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_added_to_the_article_reaches_every_streamed_article_postgres() {
    let database = TestDatabase::create().await;
    let old_build = PostgresStore::connect(database.url(), Arc::new(EncoderBeforeEtag))
        .await
        .expect("the old build connects");
    let count = write_corpus_copies(&old_build, 1).await;
    drop(old_build);

    let store = PostgresStore::connect(database.url(), article_encoder())
        .await
        .expect("the new build connects");
    let data = tempfile::tempdir().expect("a temporary directory");
    let server = TestServer::start_with(Arc::new(store), data).await;
    assert_reads_agree(server.client().await, count, 1).await;
    // The server stops before its database is dropped.
    drop(server);
}
