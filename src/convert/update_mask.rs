//! Which fields an UpdateArticle request changes.

use prost_types::FieldMask;

use crate::article::ContentField;
use crate::error::{Error, FieldViolation};
use crate::proto;

/// Fields the server owns; naming them in a mask is an error.
const OUTPUT_ONLY: [&str; 5] = ["id", "create_time", "update_time", "revision", "etag"];

/// The fields to change: those the mask names, every field for `*`, or
/// every field set in `article` for an empty mask. A change of
/// `published_date_time` must come with a value.
pub fn fields(
    article: &proto::Article,
    mask: Option<&FieldMask>,
) -> Result<Vec<ContentField>, Error> {
    let paths = mask.map(|mask| mask.paths.as_slice()).unwrap_or_default();
    let fields = if paths.is_empty() {
        set_fields(article)
    } else if paths == ["*"] {
        ContentField::ALL.to_vec()
    } else {
        named_fields(paths)?
    };
    if fields.contains(&ContentField::PublishedDateTime) && article.published_date_time.is_none() {
        return Err(Error::invalid(
            "article.published_date_time",
            "is required when the update changes it",
        ));
    }
    if fields.is_empty() {
        return Err(Error::invalid(
            "update_mask",
            "names no field, and article sets none",
        ));
    }
    Ok(fields)
}

fn named_fields(paths: &[String]) -> Result<Vec<ContentField>, Error> {
    let mut violations = Vec::new();
    let mut fields = Vec::new();
    for (index, path) in paths.iter().enumerate() {
        let field = format!("update_mask.paths[{index}]");
        match ContentField::from_path(path) {
            Some(found) if !fields.contains(&found) => fields.push(found),
            Some(_) => {}
            None if OUTPUT_ONLY.contains(&path.as_str()) => {
                violations.push(FieldViolation::new(
                    field,
                    format!("{path:?} is output only"),
                ));
            }
            None if path == "*" => {
                violations.push(FieldViolation::new(field, "\"*\" must be the only path"));
            }
            None => violations.push(FieldViolation::new(
                field,
                format!("{path:?} is not an Article field"),
            )),
        }
    }
    if violations.is_empty() {
        Ok(fields)
    } else {
        Err(Error::InvalidArgument(violations))
    }
}

/// The fields a caller set, for an update without a mask. A key counts only
/// when the article is named by id (otherwise the key names it).
fn set_fields(article: &proto::Article) -> Vec<ContentField> {
    let set = [
        (
            ContentField::Key,
            !article.id.is_empty() && !article.key.is_empty(),
        ),
        (ContentField::Category, article.category.is_some()),
        (ContentField::Title, !article.title.is_empty()),
        (ContentField::Excerpt, article.excerpt.is_some()),
        (
            ContentField::PublishedDateTime,
            article.published_date_time.is_some(),
        ),
        (ContentField::OriginalUrl, article.original_url.is_some()),
        (ContentField::WebUrl, article.web_url.is_some()),
        (ContentField::AmpWebUrl, article.amp_web_url.is_some()),
        (
            ContentField::CdnAmpWebUrl,
            article.cdn_amp_web_url.is_some(),
        ),
        (ContentField::Type, article.r#type.is_some()),
        (ContentField::Quality, article.quality.is_some()),
        (ContentField::Heat, article.heat.is_some()),
        (ContentField::Published, article.published.is_some()),
        (
            ContentField::FeaturedContent,
            article.featured_content.is_some(),
        ),
        (ContentField::Secured, article.secured.is_some()),
        (ContentField::Provider, article.provider.is_some()),
        (ContentField::Topics, !article.topics.is_empty()),
        (ContentField::Images, !article.images.is_empty()),
        (ContentField::Related, !article.related.is_empty()),
        (ContentField::Extra, article.extra.is_some()),
        (ContentField::Body, !article.body.is_empty()),
    ];
    set.into_iter()
        .filter(|(_, is_set)| *is_set)
        .map(|(field, _)| field)
        .collect()
}
