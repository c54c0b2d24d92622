//! What a corpus says about its articles, as empirical distributions.
//!
//! Each distribution is the list of values the corpus holds, one per
//! occurrence: drawing uniformly from the list reproduces the corpus'
//! frequencies exactly, joint quirks included (an image list is drawn
//! whole, so its length and its contents stay realistic together), with no
//! fitting and nothing to tune.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;

use crate::article::{ArticleContent, Image, Provider, RelatedArticle};
use crate::input_files::{Input, collect_inputs};

/// The values one property takes in the corpus, one per occurrence.
#[derive(Debug, Clone)]
pub struct Empirical<T> {
    values: Vec<T>,
}

impl<T> Empirical<T> {
    fn new(values: Vec<T>) -> Self {
        Self { values }
    }

    /// A value drawn with the corpus' frequency; `None` only if the corpus
    /// never showed one (an empty pool of words, say).
    pub fn sample(&self, random: &mut Xoshiro256PlusPlus) -> Option<&T> {
        if self.values.is_empty() {
            return None;
        }
        self.values.get(random.random_range(0..self.values.len()))
    }

    /// Every value, one per occurrence.
    pub fn values(&self) -> &[T] {
        &self.values
    }
}

/// Which of its four URLs an article has, and whether its web URL is its
/// original URL (as it mostly is in the feed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlShape {
    pub original: bool,
    pub web: bool,
    pub web_is_original: bool,
    pub amp: bool,
    pub cdn_amp: bool,
}

/// The distributions `Generator` draws from, learnt from real articles.
#[derive(Debug, Clone)]
pub struct CorpusModel {
    pub documents: usize,
    pub categories: Empirical<Option<String>>,
    pub kinds: Empirical<Option<String>>,
    pub providers: Empirical<Option<Provider>>,
    /// Each article's topics, drawn whole: topics co-occur (nine in ten
    /// feed articles carry "Power Apps" beside others), which independent
    /// draws would lose.
    pub topic_lists: Empirical<Vec<String>>,
    /// Words per title; titles are whitespace-separated words as written.
    pub title_lengths: Empirical<usize>,
    pub title_words: Empirical<String>,
    /// Words per excerpt; `None` for an article without one.
    pub excerpt_lengths: Empirical<Option<usize>>,
    pub excerpt_words: Empirical<String>,
    /// Words per body (the corpus' bodies are empty: so are the synthetic).
    pub body_lengths: Empirical<usize>,
    pub body_words: Empirical<String>,
    pub published_times: Empirical<DateTime<Utc>>,
    pub heats: Empirical<Option<i32>>,
    pub qualities: Empirical<Option<i32>>,
    pub published_flags: Empirical<Option<bool>>,
    pub image_lists: Empirical<Vec<Image>>,
    pub related_lists: Empirical<Vec<RelatedArticle>>,
    pub featured_contents: Empirical<Option<String>>,
    pub secured: Empirical<Option<String>>,
    pub url_shapes: Empirical<UrlShape>,
    /// The share of articles that have a URL another article has too.
    pub shared_url_share: f64,
}

impl CorpusModel {
    /// Learns from `contents`; fails on none.
    pub fn learn(contents: &[ArticleContent]) -> anyhow::Result<Self> {
        if contents.is_empty() {
            bail!("no articles to learn from");
        }
        let collect = |pick: &dyn Fn(&ArticleContent) -> Vec<String>| {
            Empirical::new(contents.iter().flat_map(pick).collect())
        };
        let words =
            |text: &str| -> Vec<String> { text.split_whitespace().map(str::to_string).collect() };
        let mut url_owners: HashMap<&str, usize> = HashMap::new();
        for content in contents {
            for url in content.urls() {
                *url_owners.entry(url).or_default() += 1;
            }
        }
        let sharing = contents
            .iter()
            .filter(|content| content.urls().iter().any(|url| url_owners[url] > 1))
            .count();
        Ok(Self {
            documents: contents.len(),
            categories: Empirical::new(contents.iter().map(|c| c.category.clone()).collect()),
            kinds: Empirical::new(contents.iter().map(|c| c.kind.clone()).collect()),
            providers: Empirical::new(contents.iter().map(|c| c.provider.clone()).collect()),
            topic_lists: Empirical::new(contents.iter().map(|c| c.topics.clone()).collect()),
            title_lengths: Empirical::new(
                contents
                    .iter()
                    .map(|c| c.title.split_whitespace().count())
                    .collect(),
            ),
            title_words: collect(&|c| words(&c.title)),
            excerpt_lengths: Empirical::new(
                contents
                    .iter()
                    .map(|c| c.excerpt.as_deref().map(|e| e.split_whitespace().count()))
                    .collect(),
            ),
            excerpt_words: collect(&|c| words(c.excerpt.as_deref().unwrap_or_default())),
            body_lengths: Empirical::new(
                contents
                    .iter()
                    .map(|c| c.body.split_whitespace().count())
                    .collect(),
            ),
            body_words: collect(&|c| words(&c.body)),
            published_times: Empirical::new(
                contents.iter().map(|c| c.published_date_time).collect(),
            ),
            heats: Empirical::new(contents.iter().map(|c| c.heat).collect()),
            qualities: Empirical::new(contents.iter().map(|c| c.quality).collect()),
            published_flags: Empirical::new(contents.iter().map(|c| c.published).collect()),
            image_lists: Empirical::new(contents.iter().map(|c| c.images.clone()).collect()),
            related_lists: Empirical::new(contents.iter().map(|c| c.related.clone()).collect()),
            featured_contents: Empirical::new(
                contents
                    .iter()
                    .map(|c| c.featured_content.clone())
                    .collect(),
            ),
            secured: Empirical::new(contents.iter().map(|c| c.secured.clone()).collect()),
            url_shapes: Empirical::new(
                contents
                    .iter()
                    .map(|c| UrlShape {
                        original: c.original_url.is_some(),
                        web: c.web_url.is_some(),
                        web_is_original: c.web_url.is_some() && c.web_url == c.original_url,
                        amp: c.amp_web_url.is_some(),
                        cdn_amp: c.cdn_amp_web_url.is_some(),
                    })
                    .collect(),
            ),
            shared_url_share: sharing as f64 / contents.len() as f64,
        })
    }

    /// Learns from every document below `directory`, found and read as
    /// `newswire import` finds them (every file but history files, hidden
    /// entries skipped), parsed with `document::parse`. A document that
    /// does not parse is an error: the model never silently learns from
    /// less.
    pub fn from_directory(directory: &Path) -> anyhow::Result<Self> {
        let inputs = collect_inputs(&[directory.to_path_buf()])?;
        let contents = inputs
            .iter()
            .filter_map(|input| match input {
                Input::Document(path) => Some(path),
                Input::History(_) => None,
            })
            .map(|path| {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let source = path.display().to_string();
                crate::document::parse(&source, &text).map_err(anyhow::Error::from)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if contents.is_empty() {
            bail!("no documents below {}", directory.display());
        }
        Self::learn(&contents)
    }
}
