//! The write messages as they arrive: bytes decoded by prost as an
//! ImportArticlesRequest (then the server's own item conversion, document
//! or article) and as a CreateArticleRequest (then the conversion
//! CreateArticle does). Content they accept must be valid, must read back
//! from the form the stores keep (front-matter JSON and body) unchanged, and
//! must convert back from its protobuf form unchanged.

use chrono::Utc;
use newswire::article::{Article, ArticleContent, ArticleId, ArticleKey, Revision};
use newswire::convert::from_proto::article_from_proto;
use newswire::convert::requests::{create_from_proto, import_item_from_proto};
use newswire::convert::to_proto::article_to_proto;
use newswire::proto;
use prost::Message;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(message) = proto::ImportArticlesRequest::decode(data)
            && let Ok(item) = import_item_from_proto(&message)
        {
            check_accepted(item.key, item.content);
        }
        if let Ok(request) = proto::CreateArticleRequest::decode(data)
            && let Ok((key, content)) = create_from_proto(&request)
        {
            check_accepted(key, content);
        }
    });
}

/// What holds for every article a write accepts.
fn check_accepted(key: ArticleKey, content: ArticleContent) {
    assert!(content.validate().is_ok(), "accepted invalid content");
    let stored = ArticleContent::from_stored(&content.front_matter_json(), content.body.clone());
    assert_eq!(
        stored.as_ref().ok(),
        Some(&content),
        "the stored form reads back differently: {stored:?}"
    );
    let now = Utc::now();
    let article = Article {
        id: ArticleId::generate(),
        etag: content.etag(&key),
        key: key.clone(),
        content: content.clone(),
        create_time: now,
        update_time: now,
        revision: Revision(1),
    };
    let converted = article_from_proto(&article_to_proto(&article), "article");
    assert_eq!(
        converted.as_ref().ok(),
        Some(&(Some(key), content)),
        "the protobuf form converts back differently: {converted:?}"
    );
}
