//! Synthetic articles drawn from a real corpus' distributions, so tests and
//! benchmarks can run at a million articles.
//!
//! `CorpusModel` (in `model`) learns from real documents what each
//! property looks like; `Generator` draws article number `index` from it.
//! Article `index` depends only on the model, the seed and `index` (each
//! has a random stream of its own), so any slice of a run can be made on
//! its own, in parallel, and two runs with one seed are identical.
//!
//! Keys are unique by construction (they end in the seed and the index).
//! URLs are unique too, except that a share of articles (the corpus' own
//! share, 1 to 2 %) reuses the URLs of an earlier article, as
//! republished stories do in the real feed. `history` writes a run as a
//! history file that `newswire import` reads.

pub mod history;
pub mod model;

use chrono::{Datelike, Duration};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

pub use self::model::CorpusModel;
use crate::article::{ArticleContent, ArticleKey, Provider};
use crate::error::Error;
use crate::query::search_words;

/// How far a synthetic publish time strays from the real one it is drawn
/// from, either way: a million articles do not pile up on the corpus' few
/// hundred instants, and the shape over the years is kept.
const PUBLISH_TIME_JITTER: Duration = Duration::days(15);
/// Most title words a key's slug keeps.
const SLUG_WORDS: usize = 8;
/// The host of an article whose provider names no domain.
const FALLBACK_DOMAIN: &str = "news.example";

/// One synthetic article.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticArticle {
    pub key: ArticleKey,
    pub content: ArticleContent,
}

impl SyntheticArticle {
    /// The import source that gives the article its key
    /// (`ArticleKey::default_for` keeps the file name's stem).
    pub fn source(&self) -> String {
        format!("synthetic/{}.md", self.key)
    }
}

/// The independent random streams of one article.
#[derive(Clone, Copy)]
enum Stream {
    Content = 1,
    /// Its provider and URLs, which an article sharing its URLs redraws.
    Identity = 2,
}

/// Draws synthetic articles from a model.
#[derive(Debug, Clone)]
pub struct Generator {
    model: CorpusModel,
    seed: u64,
}

impl Generator {
    pub fn new(model: CorpusModel, seed: u64) -> Self {
        Self { model, seed }
    }

    pub fn model(&self) -> &CorpusModel {
        &self.model
    }

    /// Article number `index` of this seed.
    pub fn article(&self, index: u64) -> Result<SyntheticArticle, Error> {
        let model = &self.model;
        let mut random = self.random(index, Stream::Content);
        let (provider, mut urls) = self.identity(index);
        if index > 0 && random.random_bool(model.shared_url_share) {
            let earlier = random.random_range(0..index);
            urls = self.identity(earlier).1;
        }
        let title_length = model.title_lengths.sample(&mut random).copied();
        let title = words(&mut random, title_length, &model.title_words);
        let excerpt = model
            .excerpt_lengths
            .sample(&mut random)
            .copied()
            .flatten()
            .map(|length| words(&mut random, Some(length), &model.excerpt_words));
        let body_length = model.body_lengths.sample(&mut random).copied();
        let body = words(&mut random, body_length, &model.body_words);
        let jitter = random
            .random_range(-PUBLISH_TIME_JITTER.num_seconds()..=PUBLISH_TIME_JITTER.num_seconds());
        let published_date_time = model
            .published_times
            .sample(&mut random)
            .copied()
            .unwrap_or_default()
            + Duration::seconds(jitter);
        let title = if title.trim().is_empty() {
            format!("Synthetic article {index}")
        } else {
            title
        };
        let content = ArticleContent {
            category: model.categories.sample(&mut random).cloned().flatten(),
            excerpt,
            published_date_time,
            original_url: urls.original,
            web_url: urls.web,
            amp_web_url: urls.amp,
            cdn_amp_web_url: urls.cdn_amp,
            kind: model.kinds.sample(&mut random).cloned().flatten(),
            quality: model.qualities.sample(&mut random).copied().flatten(),
            heat: model.heats.sample(&mut random).copied().flatten(),
            published: model.published_flags.sample(&mut random).copied().flatten(),
            featured_content: model
                .featured_contents
                .sample(&mut random)
                .cloned()
                .flatten(),
            provider,
            topics: model
                .topic_lists
                .sample(&mut random)
                .cloned()
                .unwrap_or_default(),
            images: model
                .image_lists
                .sample(&mut random)
                .cloned()
                .unwrap_or_default(),
            related: model
                .related_lists
                .sample(&mut random)
                .cloned()
                .unwrap_or_default(),
            secured: model.secured.sample(&mut random).cloned().flatten(),
            extra: Default::default(),
            body,
            title,
        };
        let key = ArticleKey::parse(&self.key_text(index, &content), "key")?;
        Ok(SyntheticArticle { key, content })
    }

    /// `2021-06-10-power-apps-news-…-SEED-INDEX`, like the feed's file
    /// names, unique by its suffix.
    fn key_text(&self, index: u64, content: &ArticleContent) -> String {
        let date = content.published_date_time.date_naive();
        let slug: Vec<String> = search_words(&content.title)
            .into_iter()
            .take(SLUG_WORDS)
            .collect();
        format!(
            "{:04}-{:02}-{:02}-{}-{}-{index}",
            date.year(),
            date.month(),
            date.day(),
            slug.join("-"),
            self.seed
        )
    }

    /// Article `index`'s provider and its own URLs.
    fn identity(&self, index: u64) -> (Option<Provider>, Urls) {
        let mut random = self.random(index, Stream::Identity);
        let provider = self.model.providers.sample(&mut random).cloned().flatten();
        let shape = self.model.url_shapes.sample(&mut random).copied();
        let domain = provider
            .as_ref()
            .and_then(|provider| provider.domain.clone())
            .unwrap_or_else(|| FALLBACK_DOMAIN.to_string());
        let path = format!("synthetic/{}/{index}", self.seed);
        let original = format!("https://{domain}/{path}");
        let amp = format!("https://{domain}/amp/{path}");
        let urls = match shape {
            None => Urls::default(),
            Some(shape) => Urls {
                web: shape.web.then(|| {
                    if shape.web_is_original {
                        original.clone()
                    } else {
                        format!("https://{domain}/web/{path}")
                    }
                }),
                cdn_amp: shape.cdn_amp.then(|| {
                    format!(
                        "https://{}.cdn.ampproject.org/c/s/{domain}/amp/{path}",
                        domain.replace('.', "-")
                    )
                }),
                amp: shape.amp.then_some(amp),
                original: shape.original.then_some(original),
            },
        };
        (provider, urls)
    }

    /// The random stream `stream` of article `index`.
    fn random(&self, index: u64, stream: Stream) -> Xoshiro256PlusPlus {
        let mixed =
            split_mix(split_mix(self.seed) ^ split_mix(index.wrapping_mul(4) + stream as u64));
        Xoshiro256PlusPlus::seed_from_u64(mixed)
    }
}

/// An article's four URLs.
#[derive(Debug, Default)]
struct Urls {
    original: Option<String>,
    web: Option<String>,
    amp: Option<String>,
    cdn_amp: Option<String>,
}

/// `length` words drawn from `pool`, joined by spaces.
fn words(
    random: &mut Xoshiro256PlusPlus,
    length: Option<usize>,
    pool: &model::Empirical<String>,
) -> String {
    let mut text = String::new();
    for _ in 0..length.unwrap_or(0) {
        if let Some(word) = pool.sample(random) {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(word);
        }
    }
    text
}

/// SplitMix64's finaliser: spreads nearby inputs (seeds, indexes) over the
/// whole range, so neighbouring articles' streams are unrelated.
fn split_mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
