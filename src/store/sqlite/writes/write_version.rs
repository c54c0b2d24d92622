//! The rows one write of an article version touches: the change log first
//! (its row id is the revision), then the article's row, its lookup tables,
//! its encoding and (later) its search text.

use rusqlite::{Connection, params};

use super::article_version::ArticleVersion;
use super::change_log::log_change;
use super::encoding::write_encoded;
use super::key_error;
use super::lookup_index::{index_article, unindex_article};
use super::search_index::SearchUpdates;
use crate::article::Revision;
use crate::error::Error;
use crate::store::columns::ExtractedColumns;
use crate::store::sqlite::rows::micros;
use crate::store::{ArticleEncoder, ChangeKind};

/// Writes a new article (change log, row, indexes; the search index into
/// `search`) and returns its revision.
pub(super) fn write_new<'a>(
    connection: &Connection,
    encoder: &dyn ArticleEncoder,
    version: &ArticleVersion<'a>,
    search: &mut SearchUpdates<'a>,
) -> Result<Revision, Error> {
    let revision = log_change(connection, ChangeKind::Created, version, None)?;
    connection
        .prepare_cached(
            "INSERT INTO articles (id, key, front_matter, body, published_at, \
             published_nanos, sort_heat, sort_quality, published, category, kind, \
             provider_domain, create_time, update_time, revision, etag) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )
        .and_then(|mut statement| {
            let columns = ExtractedColumns::of(version.content);
            statement.execute(params![
                version.id_text,
                version.key.as_str(),
                version.serialized.front_matter,
                version.content.body,
                columns.published_at,
                columns.published_nanos,
                columns.sort_heat,
                columns.sort_quality,
                columns.published,
                columns.category,
                columns.kind,
                columns.provider_domain,
                micros(version.create_time),
                micros(version.update_time),
                revision.0,
                version.serialized.etag.0,
            ])
        })
        .map_err(|error| key_error(error, version.key, "inserting an article"))?;
    // `seq` is the row id (an INTEGER PRIMARY KEY). Reading it here rather
    // than with RETURNING spares SQLite a result table per insert.
    let seq = connection.last_insert_rowid();
    index_article(connection, seq, version.content)?;
    write_encoded(
        connection,
        encoder,
        seq,
        &version.id_text,
        version.article(revision),
    )?;
    search.insert(seq, &version.serialized.search_text);
    Ok(revision)
}

/// Rewrites the article at `seq` as `version` and returns its revision.
pub(super) fn write_existing<'a>(
    connection: &Connection,
    encoder: &dyn ArticleEncoder,
    seq: i64,
    version: &ArticleVersion<'a>,
    search: &mut SearchUpdates<'a>,
) -> Result<Revision, Error> {
    let revision = log_change(connection, ChangeKind::Updated, version, Some(seq))?;
    connection
        .prepare_cached(
            "UPDATE articles SET key = ?2, front_matter = ?3, body = ?4, published_at = ?5, \
             published_nanos = ?6, sort_heat = ?7, sort_quality = ?8, published = ?9, \
             category = ?10, kind = ?11, provider_domain = ?12, update_time = ?13, \
             revision = ?14, etag = ?15 WHERE seq = ?1",
        )
        .and_then(|mut statement| {
            let columns = ExtractedColumns::of(version.content);
            statement.execute(params![
                seq,
                version.key.as_str(),
                version.serialized.front_matter,
                version.content.body,
                columns.published_at,
                columns.published_nanos,
                columns.sort_heat,
                columns.sort_quality,
                columns.published,
                columns.category,
                columns.kind,
                columns.provider_domain,
                micros(version.update_time),
                revision.0,
                version.serialized.etag.0,
            ])
        })
        .map_err(|error| key_error(error, version.key, "updating an article"))?;
    unindex_article(connection, seq)?;
    index_article(connection, seq, version.content)?;
    write_encoded(
        connection,
        encoder,
        seq,
        &version.id_text,
        version.article(revision),
    )?;
    search.remove(seq);
    search.insert(seq, &version.serialized.search_text);
    Ok(revision)
}
