//! Re-encoding at open: every kept encoding brought to the store's encoder.
//!
//! `article_encoding` (schema version 6) records the fingerprint of the
//! encoder that wrote `encoded_articles`. When the store is opened with an
//! encoder whose fingerprint differs (a field was added to the message),
//! every article is read, encoded again and its encoding rewritten, in
//! batches in `seq` order, before the store is handed out, so before the
//! server reports SERVING. Each batch commits together with the `seq` it
//! reached: killed half way, the next open resumes there. The new
//! fingerprint is recorded only once every article has it.
//!
//! Nothing else writes meanwhile: this runs on the write connection before
//! the writer thread starts, and every write to the file passes through
//! that one process. A re-encoding interrupted and then resumed by an
//! encoder other than the one it was moving to starts over, since the
//! encodings it left are a mix of two.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::rows::{ARTICLE_COLUMNS, ArticleRow, SqliteContext};
use crate::error::Error;
use crate::store::ArticleEncoder;

/// Articles re-encoded per transaction: large enough that commits are not
/// the cost, small enough that a kill loses little.
const BATCH_ARTICLES: i64 = 1_000;

/// What `article_encoding` says of the stored encodings.
#[derive(Debug, PartialEq, Eq)]
struct EncodingState {
    fingerprint: String,
    reencoding_to: Option<String>,
    reencoded_through: i64,
}

/// Re-encodes every stored article with `encoder` unless its fingerprint
/// is the one recorded, resuming a re-encoding to it that was interrupted;
/// logs its progress (done of total).
pub(super) fn bring_up_to_date(
    connection: &mut Connection,
    encoder: &dyn ArticleEncoder,
) -> Result<(), Error> {
    let wanted = encoder.fingerprint();
    let state = read_state(connection)?;
    if state.fingerprint == wanted && state.reencoding_to.is_none() {
        return Ok(());
    }
    if count_articles(connection, i64::MAX)? == 0 {
        // A new database: nothing to re-encode, nothing worth a log line.
        return record_fingerprint(connection, &wanted);
    }
    let mut through = if state.reencoding_to.as_deref() == Some(wanted.as_str()) {
        state.reencoded_through
    } else {
        0
    };
    connection
        .execute(
            "UPDATE article_encoding SET reencoding_to = ?1, reencoded_through = ?2",
            params![wanted, through],
        )
        .context("starting to re-encode the stored articles")?;
    let total = count_articles(connection, i64::MAX)?;
    let mut done = count_articles(connection, through)?;
    tracing::info!(
        done,
        total,
        from = %state.fingerprint,
        to = %wanted,
        "re-encoding stored articles: the article encoder changed"
    );
    while let Some((reencoded, last_seq)) = reencode_batch(connection, encoder, through)? {
        through = last_seq;
        done += reencoded;
        tracing::info!(done, total, "re-encoding stored articles");
    }
    record_fingerprint(connection, &wanted)?;
    tracing::info!(total, fingerprint = %wanted, "stored articles re-encoded");
    Ok(())
}

/// Records that every stored encoding is `fingerprint`'s.
fn record_fingerprint(connection: &Connection, fingerprint: &str) -> Result<(), Error> {
    connection
        .execute(
            "UPDATE article_encoding SET fingerprint = ?1, reencoding_to = NULL, \
             reencoded_through = 0",
            [fingerprint],
        )
        .context("recording the article encoder")?;
    Ok(())
}

/// Re-encodes the next batch of articles after `after` (a `seq`) in one
/// transaction that also records how far it got: how many, and the last
/// `seq`; `None` when no article is left.
fn reencode_batch(
    connection: &mut Connection,
    encoder: &dyn ArticleEncoder,
    after: i64,
) -> Result<Option<(i64, i64)>, Error> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .context("starting a re-encoding batch")?;
    let mut last_seq = None;
    let mut reencoded = 0;
    {
        let mut select = transaction
            .prepare_cached(&format!(
                "SELECT {ARTICLE_COLUMNS}, a.seq, a.published_at FROM articles a \
                 WHERE a.seq > ?1 ORDER BY a.seq LIMIT ?2"
            ))
            .context("reading articles to re-encode")?;
        // REPLACE, as a write does: it also fills a missing row.
        let mut write = transaction
            .prepare_cached(
                "INSERT OR REPLACE INTO encoded_articles (published_at, id, seq, article) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .context("re-encoding articles")?;
        let mut rows = select
            .query(params![after, BATCH_ARTICLES])
            .context("reading articles to re-encode")?;
        while let Some(row) = rows.next().context("reading articles to re-encode")? {
            let id: String = row.get(0).context("reading an article's id")?;
            let seq: i64 = row.get(8).context("reading an article's seq")?;
            let published_at: i64 = row.get(9).context("reading an article's order")?;
            let article = ArticleRow::read(row)
                .context("reading an article to re-encode")?
                .into_article()?;
            write
                .execute(params![published_at, id, seq, encoder.encode(article)])
                .context("writing a re-encoded article")?;
            last_seq = Some(seq);
            reencoded += 1;
        }
    }
    let Some(last_seq) = last_seq else {
        return Ok(None);
    };
    transaction
        .execute(
            "UPDATE article_encoding SET reencoded_through = ?1",
            [last_seq],
        )
        .context("recording the re-encoding's progress")?;
    transaction
        .commit()
        .context("committing a re-encoding batch")?;
    Ok(Some((reencoded, last_seq)))
}

fn read_state(connection: &Connection) -> Result<EncodingState, Error> {
    connection
        .query_row(
            "SELECT fingerprint, reencoding_to, reencoded_through FROM article_encoding",
            [],
            |row| {
                Ok(EncodingState {
                    fingerprint: row.get(0)?,
                    reencoding_to: row.get(1)?,
                    reencoded_through: row.get(2)?,
                })
            },
        )
        .optional()
        .context("reading the article encoder's fingerprint")?
        .ok_or_else(|| Error::Internal("article_encoding has no row".to_string()))
}

/// Articles whose `seq` is at most `through`.
fn count_articles(connection: &Connection, through: i64) -> Result<i64, Error> {
    connection
        .query_row(
            "SELECT count(*) FROM articles WHERE seq <= ?1",
            [through],
            |row| row.get(0),
        )
        .context("counting the articles to re-encode")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::{Article, ArticleContent, ArticleKey};
    use crate::store::sqlite::schema::migrated_in_memory;

    /// Encodes an article as its key followed by `tag`.
    struct TaggingEncoder(&'static str);

    impl ArticleEncoder for TaggingEncoder {
        fn encode(&self, article: Article) -> Vec<u8> {
            format!("{}:{}", article.key.as_str(), self.0).into_bytes()
        }

        fn fingerprint(&self) -> String {
            format!("tagging {}", self.0)
        }
    }

    /// A migrated database with `count` articles encoded by `encoder`,
    /// their `seq`s 1 to `count`.
    fn database_with(count: usize, encoder: &TaggingEncoder) -> Connection {
        let mut connection = migrated_in_memory();
        bring_up_to_date(&mut connection, encoder).expect("records the encoder");
        for index in 0..count {
            let content: ArticleContent = serde_json::from_value(serde_json::json!({
                "title": format!("Article {index}"),
                "publishedDateTime": "2024-01-01T00:00:00Z",
            }))
            .expect("test content");
            let key = ArticleKey::parse(&format!("article-{index}"), "key").expect("a key");
            super::super::writes::create(&mut connection, encoder, key, content)
                .expect("the article is written");
        }
        connection
    }

    fn encodings(connection: &Connection) -> Vec<String> {
        connection
            .prepare("SELECT article FROM encoded_articles ORDER BY seq")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| row.get::<_, Vec<u8>>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .expect("the encodings read")
            .into_iter()
            .map(|bytes| String::from_utf8(bytes).expect("test encodings are text"))
            .collect()
    }

    #[test]
    fn a_new_encoder_rewrites_every_encoding_and_is_recorded() {
        let mut connection = database_with(2_500, &TaggingEncoder("old"));
        bring_up_to_date(&mut connection, &TaggingEncoder("new")).expect("re-encodes");
        let encodings = encodings(&connection);
        assert_eq!(encodings.len(), 2_500);
        assert!(encodings.iter().all(|encoding| encoding.ends_with(":new")));
        assert_eq!(
            read_state(&connection).expect("the state"),
            EncodingState {
                fingerprint: "tagging new".into(),
                reencoding_to: None,
                reencoded_through: 0,
            }
        );
    }

    /// Killed after some batches (the state a kill leaves, written here),
    /// the next open re-encodes only what is left.
    #[test]
    fn an_interrupted_reencoding_resumes_where_it_stopped() {
        let mut connection = database_with(1_500, &TaggingEncoder("old"));
        connection
            .execute_batch(
                "UPDATE article_encoding SET reencoding_to = 'tagging new', \
                 reencoded_through = 1000;
                 UPDATE encoded_articles SET article = CAST('done before the kill' AS BLOB) \
                 WHERE seq <= 1000;",
            )
            .expect("the state of a killed re-encoding");
        bring_up_to_date(&mut connection, &TaggingEncoder("new")).expect("resumes");
        let encodings = encodings(&connection);
        assert!(
            encodings[..1_000]
                .iter()
                .all(|encoding| encoding == "done before the kill")
        );
        assert!(
            encodings[1_000..]
                .iter()
                .all(|encoding| encoding.ends_with(":new"))
        );
        assert_eq!(
            read_state(&connection).expect("the state").fingerprint,
            "tagging new"
        );
    }

    /// An interrupted re-encoding opened by yet another encoder (say, the
    /// old binary again) starts over: the encodings are a mix of two.
    #[test]
    fn an_interrupted_reencoding_to_another_encoder_starts_over() {
        let mut connection = database_with(1_500, &TaggingEncoder("old"));
        connection
            .execute(
                "UPDATE article_encoding SET reencoding_to = 'tagging new', \
                 reencoded_through = 1000",
                [],
            )
            .expect("the state of a killed re-encoding");
        bring_up_to_date(&mut connection, &TaggingEncoder("old")).expect("re-encodes");
        assert!(
            encodings(&connection)
                .iter()
                .all(|encoding| encoding.ends_with(":old"))
        );
        assert_eq!(
            read_state(&connection).expect("the state"),
            EncodingState {
                fingerprint: "tagging old".into(),
                reencoding_to: None,
                reencoded_through: 0,
            }
        );
    }

    #[test]
    fn the_recorded_encoder_rewrites_nothing() {
        let mut connection = database_with(3, &TaggingEncoder("old"));
        connection
            .execute("UPDATE encoded_articles SET article = x''", [])
            .expect("a marker");
        bring_up_to_date(&mut connection, &TaggingEncoder("old")).expect("nothing to do");
        assert!(encodings(&connection).iter().all(String::is_empty));
    }
}
