//! The query model shared by listing (and, later, streaming and watching):
//! filters, a total order, and keyset positions within that order.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::article::{Article, ArticleContent, ArticleId};
use crate::error::Error;

/// Longest free-text query, in bytes.
pub const MAX_TEXT_BYTES: usize = 256;
/// Most topics in one query.
pub const MAX_QUERY_TOPICS: usize = 50;
/// Page size when the caller gives none.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page size.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Filters over articles; every filter set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ArticleQuery {
    /// Words that must all appear in the title or excerpt, each as a prefix.
    pub text: Option<String>,
    /// Matches articles with at least one of these topics.
    pub topics: Vec<String>,
    /// Matches articles with this URL among their four.
    pub url: Option<String>,
    pub category: Option<String>,
    pub kind: Option<String>,
    pub provider_domain: Option<String>,
    pub published: Option<bool>,
    pub min_quality: Option<i32>,
    pub max_quality: Option<i32>,
    pub min_heat: Option<i32>,
    pub max_heat: Option<i32>,
    /// Inclusive.
    pub published_after: Option<DateTime<Utc>>,
    /// Exclusive.
    pub published_before: Option<DateTime<Utc>>,
}

impl ArticleQuery {
    /// Checks the query's own consistency; `prefix` is the request field
    /// holding it (`query`), for error messages.
    pub fn validate(&self, prefix: &str) -> Result<(), Error> {
        let field = |name: &str| format!("{prefix}.{name}");
        if let Some(text) = &self.text {
            if text.len() > MAX_TEXT_BYTES {
                return Err(Error::invalid(
                    field("text"),
                    format!("longer than {MAX_TEXT_BYTES} bytes"),
                ));
            }
            if search_words(text).is_empty() {
                return Err(Error::invalid(field("text"), "has no word to search for"));
            }
        }
        if self.topics.len() > MAX_QUERY_TOPICS {
            return Err(Error::invalid(
                field("topics"),
                format!("more than {MAX_QUERY_TOPICS} topics"),
            ));
        }
        if let (Some(min), Some(max)) = (self.min_quality, self.max_quality)
            && min > max
        {
            return Err(Error::invalid(
                field("min_quality"),
                format!("{min} is above max_quality {max}"),
            ));
        }
        if let (Some(min), Some(max)) = (self.min_heat, self.max_heat)
            && min > max
        {
            return Err(Error::invalid(
                field("min_heat"),
                format!("{min} is above max_heat {max}"),
            ));
        }
        if let (Some(after), Some(before)) = (self.published_after, self.published_before)
            && after >= before
        {
            return Err(Error::invalid(
                field("published_after"),
                "must be before published_before",
            ));
        }
        Ok(())
    }

    /// Whether `article` matches; the reference semantics the stores'
    /// SQL must agree with (used by tests and by the change feed).
    pub fn matches(&self, article: &Article) -> bool {
        self.matches_content(&article.content)
    }

    /// Whether content matches; filters never read the body.
    pub fn matches_content(&self, content: &ArticleContent) -> bool {
        let text_matches = self.text.as_deref().is_none_or(|text| {
            let haystack = format!(
                "{} {}",
                content.title,
                content.excerpt.as_deref().unwrap_or_default()
            );
            let haystack_words = search_words(&haystack);
            search_words(text).iter().all(|word| {
                haystack_words
                    .iter()
                    .any(|candidate| candidate.starts_with(word.as_str()))
            })
        });
        let within = |value: Option<i32>, min: Option<i32>, max: Option<i32>| match value {
            Some(value) => min.is_none_or(|min| value >= min) && max.is_none_or(|max| value <= max),
            None => min.is_none() && max.is_none(),
        };
        text_matches
            && (self.topics.is_empty()
                || content
                    .topics
                    .iter()
                    .any(|topic| self.topics.contains(topic)))
            && self
                .url
                .as_deref()
                .is_none_or(|url| content.urls().contains(&url))
            && equal_if_set(&self.category, &content.category)
            && equal_if_set(&self.kind, &content.kind)
            && equal_if_set(
                &self.provider_domain,
                &content
                    .provider
                    .as_ref()
                    .and_then(|provider| provider.domain.clone()),
            )
            && self
                .published
                .is_none_or(|published| content.published == Some(published))
            && within(content.quality, self.min_quality, self.max_quality)
            && within(content.heat, self.min_heat, self.max_heat)
            && self
                .published_after
                .is_none_or(|after| content.published_date_time >= after)
            && self
                .published_before
                .is_none_or(|before| content.published_date_time < before)
    }

    /// A stable fingerprint, so a page token can only continue the query it
    /// was made for.
    pub fn fingerprint(&self, order: Order) -> String {
        let mut hasher = Sha256::new();
        hasher.update(format!("{self:?}|{order:?}").as_bytes());
        hasher.finalize()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

fn equal_if_set(wanted: &Option<String>, actual: &Option<String>) -> bool {
    wanted
        .as_ref()
        .is_none_or(|wanted| actual.as_ref() == Some(wanted))
}

/// The words of a text as full-text search sees them: runs of letters and
/// digits, lower-cased. Both stores tokenize the same way.
pub fn search_words(text: &str) -> Vec<String> {
    text.split(|character: char| !character.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// What a list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    PublishedDateTime,
    Heat,
    Quality,
}

/// An article's place in a list is part of the query model, so it is
/// defined here rather than in `article`, which knows nothing of queries.
impl ArticleContent {
    /// The value this article sorts by for `field`. Missing heat or quality
    /// sorts below every present value.
    pub fn sort_value(&self, field: SortField) -> i64 {
        match field {
            SortField::PublishedDateTime => self.published_date_time.timestamp_micros(),
            SortField::Heat => self.heat.map_or(i64::MIN, i64::from),
            SortField::Quality => self.quality.map_or(i64::MIN, i64::from),
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Ascending,
    Descending,
}

/// A total order: the sort field, then the article id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Order {
    pub field: SortField,
    pub direction: Direction,
}

impl Default for Order {
    /// Newest first.
    fn default() -> Self {
        Self {
            field: SortField::PublishedDateTime,
            direction: Direction::Descending,
        }
    }
}

impl Order {
    /// Parses `order_by`: a field name, optionally followed by `asc` or
    /// `desc`; empty means the default.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut words = text.split_whitespace();
        let Some(field_name) = words.next() else {
            return Ok(Self::default());
        };
        let field = match field_name {
            "published_date_time" | "publishedDateTime" => SortField::PublishedDateTime,
            "heat" => SortField::Heat,
            "quality" => SortField::Quality,
            other => {
                return Err(Error::invalid(
                    "order_by",
                    format!("unknown field {other:?}; use published_date_time, heat or quality"),
                ));
            }
        };
        let direction = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("desc") => Direction::Descending,
            Some("asc") => Direction::Ascending,
            Some(other) => {
                return Err(Error::invalid(
                    "order_by",
                    format!("unknown direction {other:?}; use asc or desc"),
                ));
            }
        };
        if let Some(extra) = words.next() {
            return Err(Error::invalid(
                "order_by",
                format!("unexpected {extra:?} after the direction"),
            ));
        }
        Ok(Self { field, direction })
    }

    /// The position of `article` in this order.
    pub fn cursor_of(&self, article: &Article) -> Cursor {
        Cursor {
            sort_value: article.content.sort_value(self.field),
            id: article.id,
        }
    }
}

/// A keyset position: the sort value and id of the last row returned.
/// The next page holds the rows strictly after it in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub sort_value: i64,
    pub id: ArticleId,
}

/// A validated page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(usize);

impl PageSize {
    /// 0 means the default; otherwise 1 to `MAX_PAGE_SIZE`.
    pub fn parse(requested: i32) -> Result<Self, Error> {
        match requested {
            0 => Ok(Self(DEFAULT_PAGE_SIZE)),
            size if size < 0 => Err(Error::invalid("page_size", "must not be negative")),
            size if size as usize > MAX_PAGE_SIZE => Err(Error::invalid(
                "page_size",
                format!("{size} is above the maximum of {MAX_PAGE_SIZE}"),
            )),
            size => Ok(Self(size as usize)),
        }
    }

    /// The size as a count.
    pub fn get(self) -> usize {
        self.0
    }
}

/// One page of a query.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub query: ArticleQuery,
    pub order: Order,
    pub size: PageSize,
    /// Start after this position; `None` starts at the beginning.
    pub after: Option<Cursor>,
}

/// The rows of a page, and where the next page starts if there is one.
#[derive(Debug, Clone)]
pub struct Page {
    pub articles: Vec<Article>,
    pub next: Option<Cursor>,
}
