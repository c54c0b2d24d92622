//! The synthetic generator: deterministic per seed, unique keys and URLs
//! (but for the corpus' share of shared ones), distributions that follow
//! the real corpus, documents that parse and import end to end.

mod support;

use std::collections::{HashMap, HashSet};
use std::process::Command;

use chrono::Datelike;
use newswire::article::ArticleContent;
use newswire::synthetic::history::write_history;
use newswire::synthetic::{CorpusModel, Generator, SyntheticArticle};
use support::corpus;
use support::process::{ServerProcess, binary};

/// Articles drawn for the distribution checks: enough that a share's
/// sampling error (at most 0.5 / sqrt(n) ≈ 0.004) is far below the
/// tolerances.
const SAMPLE: u64 = 15_000;

fn corpus_contents() -> Vec<ArticleContent> {
    corpus::documents()
        .iter()
        .map(|document| {
            newswire::document::parse(&document.source, &document.text).expect("corpus parses")
        })
        .collect()
}

fn generator(seed: u64) -> Generator {
    let model = CorpusModel::from_directory(&corpus::corpus_dir()).expect("the corpus is learnt");
    Generator::new(model, seed)
}

fn draw(generator: &Generator, count: u64) -> Vec<SyntheticArticle> {
    (0..count)
        .map(|index| generator.article(index).expect("an article"))
        .collect()
}

/// The share of `items` for which `test` holds.
fn share<T>(items: &[T], test: impl Fn(&T) -> bool) -> f64 {
    items.iter().filter(|item| test(item)).count() as f64 / items.len() as f64
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0), |(sum, count), value| (sum + value, count + 1));
    sum / f64::from(count)
}

#[test]
fn the_model_learns_every_corpus_document() {
    let model = CorpusModel::from_directory(&corpus::corpus_dir()).expect("the corpus is learnt");
    assert_eq!(model.documents, corpus::DOCUMENT_COUNT);
    assert!(
        (0.0..0.5).contains(&model.shared_url_share),
        "{}",
        model.shared_url_share
    );
}

#[test]
fn one_seed_gives_the_same_articles_and_another_seed_others() {
    let first = generator(7);
    let again = generator(7);
    let other = generator(8);
    for index in [0, 1, 2, 99, 12_345, 999_999] {
        let article = first.article(index).expect("an article");
        assert_eq!(
            article,
            again.article(index).expect("an article"),
            "#{index}"
        );
        assert_ne!(
            article,
            other.article(index).expect("an article"),
            "#{index}"
        );
    }
    let mut written = Vec::new();
    write_history(&first, 0..5000, &mut written).expect("written");
    let mut rewritten = Vec::new();
    write_history(&again, 0..5000, &mut rewritten).expect("written");
    assert!(written == rewritten, "two runs with one seed differ");
    // A slice of a run is that part of the whole run.
    let mut slice = Vec::new();
    write_history(&first, 4000..5000, &mut slice).expect("written");
    assert!(
        written.ends_with(&slice),
        "a slice differs from the whole run"
    );
}

#[test]
fn keys_are_unique_and_urls_too_but_for_the_corpus_share_of_shared_ones() {
    let generator = generator(1);
    let articles = draw(&generator, SAMPLE);
    let keys: HashSet<&str> = articles
        .iter()
        .map(|article| article.key.as_str())
        .collect();
    assert_eq!(keys.len(), articles.len(), "duplicate keys");

    let mut owners: HashMap<&str, usize> = HashMap::new();
    for article in &articles {
        for url in article.content.urls() {
            *owners.entry(url).or_default() += 1;
        }
    }
    let sharing = share(&articles, |article| {
        article.content.urls().iter().any(|url| owners[url] > 1)
    });
    let expected = generator.model().shared_url_share;
    // An article that reuses URLs shares them with the one it copied, so
    // up to twice as many articles have a shared URL as chose to share.
    assert!(
        sharing >= expected * 0.8 && sharing <= expected * 2.2 + 0.01,
        "{sharing} of articles share a URL; the corpus {expected}"
    );
}

#[test]
fn distributions_follow_the_corpus() {
    let real = corpus_contents();
    let synthetic: Vec<ArticleContent> = draw(&generator(3), SAMPLE)
        .into_iter()
        .map(|article| article.content)
        .collect();

    let mut checks: Vec<(String, f64, f64, f64)> = Vec::new();
    let mut compare_share = |name: &str, test: &dyn Fn(&ArticleContent) -> bool| {
        checks.push((
            name.to_string(),
            share(&real, test),
            share(&synthetic, test),
            0.03,
        ));
    };
    let categories: HashSet<Option<String>> = real.iter().map(|c| c.category.clone()).collect();
    let kinds: HashSet<Option<String>> = real.iter().map(|c| c.kind.clone()).collect();
    for category in &categories {
        compare_share(&format!("category {category:?}"), &|c| {
            c.category == *category
        });
    }
    for kind in &kinds {
        compare_share(&format!("type {kind:?}"), &|c| c.kind == *kind);
    }
    for flag in [Some(true), Some(false), None] {
        compare_share(&format!("published {flag:?}"), &|c| c.published == flag);
    }
    compare_share("heat missing", &|c| c.heat.is_none());
    compare_share("quality missing", &|c| c.quality.is_none());
    compare_share("excerpt missing", &|c| c.excerpt.is_none());
    compare_share("has images", &|c| !c.images.is_empty());
    compare_share("has related", &|c| !c.related.is_empty());
    compare_share("has an AMP URL", &|c| c.amp_web_url.is_some());
    compare_share("provider microsoft.com", &|c| {
        c.provider.as_ref().and_then(|p| p.domain.as_deref()) == Some("microsoft.com")
    });
    compare_share("published before 2021", &|c| {
        c.published_date_time.year() < 2021
    });
    let mut topic_counts: HashMap<&str, usize> = HashMap::new();
    for topic in real.iter().flat_map(|c| &c.topics) {
        *topic_counts.entry(topic).or_default() += 1;
    }
    let mut top_topics: Vec<(&str, usize)> = topic_counts.into_iter().collect();
    top_topics.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (topic, _) in top_topics.iter().take(5) {
        compare_share(&format!("topic {topic:?}"), &|c| {
            c.topics.iter().any(|t| t == topic)
        });
    }

    // Means, compared relative to the corpus' own: within 10 %.
    type Measure = fn(&ArticleContent) -> Option<f64>;
    let measures: [(&str, Measure); 6] = [
        ("heat", |c| c.heat.map(f64::from)),
        ("quality", |c| c.quality.map(f64::from)),
        ("title words", |c| {
            Some(c.title.split_whitespace().count() as f64)
        }),
        ("excerpt words", |c| {
            c.excerpt
                .as_deref()
                .map(|e| e.split_whitespace().count() as f64)
        }),
        ("topics", |c| Some(c.topics.len() as f64)),
        ("publish year", |c| {
            Some(f64::from(c.published_date_time.year()))
        }),
    ];
    for (name, measure) in measures {
        let real_mean = mean(real.iter().filter_map(measure));
        let synthetic_mean = mean(synthetic.iter().filter_map(measure));
        let tolerance = if name == "publish year" {
            0.5
        } else {
            (real_mean.abs() * 0.1).max(0.5)
        };
        checks.push((format!("mean {name}"), real_mean, synthetic_mean, tolerance));
    }

    let failures: Vec<String> = checks
        .iter()
        .filter(|(_, real, synthetic, tolerance)| (real - synthetic).abs() > *tolerance)
        .map(|(name, real, synthetic, tolerance)| {
            format!("{name}: corpus {real:.3}, synthetic {synthetic:.3} (tolerance {tolerance})")
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checks.len() > 20, "the checks cover the properties");
}

#[test]
fn every_document_renders_and_parses_back_to_the_same_article() {
    let generator = generator(5);
    for article in draw(&generator, 3000) {
        let text = newswire::document::render(&article.content);
        let parsed = newswire::document::parse(&article.source(), &text)
            .unwrap_or_else(|error| panic!("{}: {error}\n{text}", article.key));
        assert_eq!(parsed, article.content, "{}", article.key);
        let key = newswire::article::ArticleKey::default_for(Some(&article.source()), &parsed)
            .expect("a key");
        assert_eq!(key, article.key, "the source gives the key");
    }
}

#[test]
fn generate_writes_a_history_that_import_loads() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let history = directory.path().join("synthetic.jsonl");
    let corpus_dir = corpus::corpus_dir();
    let output = Command::new(binary())
        .args(["generate", "--count", "600", "--seed", "11", "--corpus"])
        .arg(&corpus_dir)
        .arg("--out")
        .arg(&history)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "generate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = std::fs::read_to_string(&history).expect("the history is written");
    assert_eq!(lines.lines().count(), 600);

    let data = tempfile::tempdir().expect("a temporary directory");
    let server = ServerProcess::start(data.path());
    let url = server.url();
    let history_argument = history.display().to_string();
    let output = Command::new(binary())
        .args(["import", "--quiet", "--server", &url, &history_argument])
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "import failed: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("created 600, updated 0, unchanged 0, failed 0"),
        "{stdout}"
    );

    let refused = Command::new(binary())
        .args(["generate", "--count", "0"])
        .output()
        .expect("the binary runs");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--count"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
