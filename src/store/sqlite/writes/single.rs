//! Writes of one article: create, update and delete, each one transaction.

use rusqlite::Connection;

use super::article_version::{ArticleVersion, Serialized};
use super::change_log::log_delete;
use super::in_transaction;
use super::lookup_index::unindex_article;
use super::search_index::SearchUpdates;
use super::state::{find_state, load_content};
use super::write_version::{write_existing, write_new};
use crate::article::{Article, ArticleContent, ArticleId, ArticleKey, ArticlePatch, Etag, Lookup};
use crate::error::Error;
use crate::store::columns::now;
use crate::store::sqlite::rows::SqliteContext;
use crate::store::stored_state::not_found;
use crate::store::{ArticleEncoder, Deleted};

/// Stores a new article; `AlreadyExists` if the key is taken.
pub(in crate::store::sqlite) fn create(
    connection: &mut Connection,
    encoder: &dyn ArticleEncoder,
    key: ArticleKey,
    content: ArticleContent,
) -> Result<Article, Error> {
    let serialized = Serialized::validated(&key, &content)?;
    in_transaction(connection, |transaction| {
        let time = now();
        let version = ArticleVersion::new(
            ArticleId::generate(),
            &key,
            &content,
            &serialized,
            time,
            time,
        );
        let mut search = SearchUpdates::default();
        let revision = write_new(transaction, encoder, &version, &mut search)?;
        search.apply(transaction)?;
        Ok((version.id, time, revision))
    })
    .map(|(id, time, revision)| Article {
        id,
        key,
        content,
        create_time: time,
        update_time: time,
        revision,
        etag: serialized.etag,
    })
}

/// Applies a patch to the article named by `target`.
pub(in crate::store::sqlite) fn update(
    connection: &mut Connection,
    encoder: &dyn ArticleEncoder,
    target: &Lookup,
    patch: &ArticlePatch,
    expected: Option<&Etag>,
) -> Result<Article, Error> {
    in_transaction(connection, |transaction| {
        let state = find_state(transaction, target)?.ok_or_else(|| not_found(target))?;
        state.check_precondition(expected)?;
        let content = load_content(transaction, state.row_id)?;
        // `apply` validates what it returns.
        let (key, content) = patch.apply(&state.key, &content)?;
        let serialized = Serialized::of(&key, &content);
        if serialized.etag == state.etag {
            return Ok(state.into_article(content));
        }
        let time = now();
        let version = ArticleVersion::new(
            state.id,
            &key,
            &content,
            &serialized,
            state.create_time,
            time,
        );
        let mut search = SearchUpdates::default();
        let revision = write_existing(transaction, encoder, state.row_id, &version, &mut search)?;
        search.apply(transaction)?;
        Ok(Article {
            id: state.id,
            key,
            content,
            create_time: state.create_time,
            update_time: time,
            revision,
            etag: serialized.etag,
        })
    })
}

/// Deletes the article named by `target`.
pub(in crate::store::sqlite) fn delete(
    connection: &mut Connection,
    target: &Lookup,
    expected: Option<&Etag>,
) -> Result<Deleted, Error> {
    in_transaction(connection, |transaction| {
        let state = find_state(transaction, target)?.ok_or_else(|| not_found(target))?;
        state.check_precondition(expected)?;
        let revision = log_delete(transaction, state.row_id)?;
        unindex_article(transaction, state.row_id)?;
        let mut search = SearchUpdates::default();
        search.remove(state.row_id);
        search.apply(transaction)?;
        transaction
            .prepare_cached("DELETE FROM articles WHERE seq = ?1")
            .and_then(|mut statement| statement.execute([state.row_id]))
            .context("deleting an article")?;
        Ok(Deleted {
            id: state.id,
            key: state.key,
            revision,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::encoded::DebugEncoder;
    use crate::store::sqlite::schema::migrated_in_memory;

    fn content(title: &str) -> ArticleContent {
        serde_json::from_value(serde_json::json!({
            "title": title,
            "publishedDateTime": "2024-01-01T00:00:00Z",
        }))
        .expect("test content deserializes")
    }

    fn key(text: &str) -> ArticleKey {
        ArticleKey::parse(text, "key").expect("a valid key")
    }

    #[test]
    fn a_taken_key_on_rename_is_already_exists() {
        let mut connection = migrated_in_memory();
        create(&mut connection, &DebugEncoder, key("a"), content("a")).expect("create a");
        let b = create(&mut connection, &DebugEncoder, key("b"), content("b")).expect("create b");
        let patch = ArticlePatch {
            fields: vec![crate::article::ContentField::Key],
            key: Some(key("a")),
            source: b.content.clone(),
        };
        let error = update(
            &mut connection,
            &DebugEncoder,
            &Lookup::Id(b.id),
            &patch,
            None,
        )
        .expect_err("the key is taken");
        assert!(
            matches!(&error, Error::AlreadyExists(key) if key == "a"),
            "{error:?}"
        );
        let entries: i64 = connection
            .query_row("SELECT COUNT(*) FROM change_log", [], |row| row.get(0))
            .expect("count");
        assert_eq!(entries, 2);
    }
}
