//! How requests name articles: ids, keys and URLs, checked and converted.

use crate::article::{ArticleId, ArticleKey, Lookup};
use crate::error::Error;
use crate::proto;
use crate::proto::{delete_article_request, get_article_request};

/// Most ids, keys or URLs in one BatchGetArticles request.
pub const MAX_BATCH_GET: usize = 1000;

/// The article a GetArticle request names.
pub fn from_get_request(request: &proto::GetArticleRequest) -> Result<Lookup, Error> {
    match &request.lookup {
        Some(get_article_request::Lookup::Id(id)) => Ok(Lookup::Id(ArticleId::parse(id, "id")?)),
        Some(get_article_request::Lookup::Key(key)) => {
            Ok(Lookup::Key(ArticleKey::parse(key, "key")?))
        }
        Some(get_article_request::Lookup::Url(url)) => url_lookup(url, "url"),
        None => Err(Error::invalid("lookup", "set one of id, key or url")),
    }
}

/// The articles a BatchGetArticles request names, in request order.
pub fn from_batch_request(request: &proto::BatchGetArticlesRequest) -> Result<Vec<Lookup>, Error> {
    let lists = [
        ("ids", &request.ids),
        ("keys", &request.keys),
        ("urls", &request.urls),
    ];
    let mut given = lists.iter().filter(|(_, list)| !list.is_empty());
    let Some((field, list)) = given.next() else {
        return Err(Error::invalid("ids", "set one of ids, keys or urls"));
    };
    if let Some((other, _)) = given.next() {
        return Err(Error::invalid(
            *other,
            format!("set only one of ids, keys or urls; {field} is set too"),
        ));
    }
    if list.len() > MAX_BATCH_GET {
        return Err(Error::invalid(
            *field,
            format!(
                "{} entries, more than the limit of {MAX_BATCH_GET}",
                list.len()
            ),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(index, value)| {
            let name = format!("{field}[{index}]");
            match *field {
                "ids" => Ok(Lookup::Id(ArticleId::parse(value, &name)?)),
                "keys" => Ok(Lookup::Key(ArticleKey::parse(value, &name)?)),
                _ => url_lookup(value, &name),
            }
        })
        .collect()
}

/// The article an UpdateArticle request changes: `article.id`, else
/// `article.key`.
pub fn update_target(article: &proto::Article) -> Result<Lookup, Error> {
    if !article.id.is_empty() {
        Ok(Lookup::Id(ArticleId::parse(&article.id, "article.id")?))
    } else if !article.key.is_empty() {
        Ok(Lookup::Key(ArticleKey::parse(&article.key, "article.key")?))
    } else {
        Err(Error::invalid(
            "article.id",
            "set article.id or article.key to name the article to update",
        ))
    }
}

/// The article a DeleteArticle request removes.
pub fn from_delete_request(request: &proto::DeleteArticleRequest) -> Result<Lookup, Error> {
    match &request.lookup {
        Some(delete_article_request::Lookup::Id(id)) => Ok(Lookup::Id(ArticleId::parse(id, "id")?)),
        Some(delete_article_request::Lookup::Key(key)) => {
            Ok(Lookup::Key(ArticleKey::parse(key, "key")?))
        }
        None => Err(Error::invalid("lookup", "set one of id or key")),
    }
}

fn url_lookup(url: &str, field: &str) -> Result<Lookup, Error> {
    if url.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    Ok(Lookup::Url(url.to_string()))
}
