//! `newswire export`: pages through every stored article and writes each
//! back as a document named after its key.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context;

use crate::cli::ExportArgs;
use crate::convert::from_proto::article_from_proto;
use crate::document;
use crate::proto::ListArticlesRequest;

/// Writes every article of the server into `config.directory`.
pub async fn run(config: ExportArgs) -> anyhow::Result<()> {
    let mut client = super::connect(&config.server).await?;
    std::fs::create_dir_all(&config.directory)
        .with_context(|| format!("cannot create {}", config.directory.display()))?;
    let mut used_names = HashSet::new();
    let mut page_token = String::new();
    let mut written = 0;
    loop {
        let request = ListArticlesRequest {
            page_size: 1000,
            page_token,
            ..ListArticlesRequest::default()
        };
        let page = client
            .list_articles(request)
            .await
            .map_err(|status| anyhow::anyhow!("{}", status.message()))?;
        let page = page.into_inner();
        for article in &page.articles {
            let (_, content) = article_from_proto(article, "article")?;
            let name = unique_file_name(&article.key, &mut used_names);
            write(&config.directory.join(name), &document::render(&content))?;
            written += 1;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    println!(
        "exported {written} articles to {}",
        config.directory.display()
    );
    Ok(())
}

/// `KEY.md`, with characters unsafe in file names replaced, made unique.
pub fn unique_file_name(key: &str, used: &mut HashSet<String>) -> String {
    let safe: String = key
        .chars()
        .map(|character| {
            if character.is_alphanumeric() || "-_.".contains(character) {
                character
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("{safe}.md");
    let mut suffix = 2;
    while !used.insert(name.clone()) {
        name = format!("{safe}-{suffix}.md");
        suffix += 1;
    }
    name
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
