//! The GetArticle answers of the articles a store's read cache shares, kept
//! encoded.
//!
//! A store with a read cache hands out the same `Arc<Article>` on every hit
//! (`Store::get_shared`), so every answer for it is the same bytes.
//! `EncodedAnswers` keeps them by article id, together with a weak pointer
//! to the article they encode, and serves them only for that very `Arc`:
//! while the weak pointer lives, no other article can be allocated at its
//! address, so bytes are never the answer of another version. A hit then
//! costs neither the copy into a message nor its encoding.

use std::sync::{Arc, Mutex, Weak};

use hashlink::LruCache;
use prost::Message;
use prost::bytes::Bytes;

use crate::api::preencoded::GetArticleResponse;
use crate::article::{Article, ArticleId};
use crate::convert::to_proto::article_to_proto;

/// Articles whose answers are kept, least recently served dropped first:
/// as many as the PostgreSQL store's default read cache holds. Each costs
/// about the article's encoded size (1–10 KB); an article the store's cache
/// has evicted keeps only its bytes until its entry is dropped or replaced.
pub const ENCODED_ANSWERS: usize = crate::store::postgres::DEFAULT_READ_CACHE_ARTICLES;

/// The encoded answers of the articles served lately.
pub struct EncodedAnswers {
    answers: Mutex<LruCache<ArticleId, (Weak<Article>, Bytes)>>,
}

impl EncodedAnswers {
    /// Keeps the answers of at most `capacity` articles (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            answers: Mutex::new(LruCache::new(capacity.max(1))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<ArticleId, (Weak<Article>, Bytes)>> {
        // Every change under the lock is a single insert or lookup, so a
        // panic elsewhere while holding it leaves nothing half done.
        self.answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The answer for `article`, as the store returned it.
    pub fn answer(&self, article: &Arc<Article>) -> GetArticleResponse {
        // Only an article someone else holds (the store's cache) can come
        // back as the same `Arc`; keeping the bytes of any other is waste.
        let shared = Arc::strong_count(article) > 1;
        if shared
            && let Some((encoded_from, bytes)) = self.lock().get(&article.id)
            && std::ptr::eq(encoded_from.as_ptr(), Arc::as_ptr(article))
        {
            return GetArticleResponse {
                article: bytes.clone(),
            };
        }
        let bytes = Bytes::from(article_to_proto(article).encode_to_vec());
        if shared {
            self.lock()
                .insert(article.id, (Arc::downgrade(article), bytes.clone()));
        }
        GetArticleResponse { article: bytes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::{ArticleContent, Revision};
    use crate::proto;

    fn article(title: &str) -> Arc<Article> {
        let content: ArticleContent = serde_json::from_value(serde_json::json!({
            "title": title,
            "publishedDateTime": "2026-01-02T03:04:05Z",
        }))
        .expect("valid front matter");
        Arc::new(Article::for_test("encoded-answer", content, 7))
    }

    fn decoded(answer: &GetArticleResponse) -> proto::GetArticleResponse {
        proto::GetArticleResponse::decode(answer.encode_to_vec().as_slice()).expect("decodes")
    }

    #[test]
    fn an_answer_decodes_as_the_message_article_to_proto_builds() {
        let answers = EncodedAnswers::new(10);
        let first = article("First");
        let held_by_a_cache = Arc::clone(&first);
        let expected = proto::GetArticleResponse {
            article: Some(article_to_proto(&first)),
        };
        let kept = answers.answer(&first).article;
        assert_eq!(
            decoded(&GetArticleResponse {
                article: kept.clone()
            }),
            expected
        );
        for _ in 0..2 {
            let answer = answers.answer(&first);
            assert_eq!(answer.article.as_ptr(), kept.as_ptr(), "the kept bytes");
            assert_eq!(decoded(&answer), expected);
        }
        drop(held_by_a_cache);
        assert_ne!(answers.answer(&first).article.as_ptr(), kept.as_ptr());
    }

    #[test]
    fn another_version_of_the_same_article_is_encoded_afresh() {
        let answers = EncodedAnswers::new(10);
        let first = article("First");
        let _cached_first = Arc::clone(&first);
        answers.answer(&first);
        let mut changed = (*first).clone();
        changed.content.title = "Second".to_string();
        changed.revision = Revision(8);
        let second = Arc::new(changed);
        let _cached_second = Arc::clone(&second);
        let answer = decoded(&answers.answer(&second));
        let served = answer.article.expect("an article");
        assert_eq!((served.title.as_str(), served.revision), ("Second", 8));
    }
}
