/**
 * The corpus documents the check imports, and the few front-matter values
 * it compares with what the server returns.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One corpus document and what the check expects of its article. */
export interface CorpusDocument {
  /** The file name: the import source, so the key's origin. */
  source: string;
  /** The key the server gives it: the source without its extension. */
  key: string;
  /** The whole document, as ImportArticles takes it. */
  text: string;
  title: string;
  /** Absent when the front matter has no `heat`: the article has none either. */
  heat: number | undefined;
  webUrl: string | undefined;
}

/** The folder of the corpus the check imports from (topic AI, some without heat). */
const FOLDER = "ai-news-sample";

/** The first `count` documents of the folder, in file-name order. */
export function readDocuments(corpusDirectory: string, count: number): CorpusDocument[] {
  const folder = join(corpusDirectory, FOLDER);
  return readdirSync(folder)
    .sort()
    .slice(0, count)
    .map((source) => parseDocument(source, readFileSync(join(folder, source), "utf8")));
}

function parseDocument(source: string, text: string): CorpusDocument {
  const frontMatter = topLevelScalars(text);
  const title = frontMatter.get("title");
  if (title === undefined) {
    throw new Error(`${source}: the front matter has no title`);
  }
  const heat = frontMatter.get("heat");
  return {
    source,
    key: source.replace(/\.[^.]*$/, ""),
    text,
    title,
    heat: heat === undefined ? undefined : Number.parseInt(heat, 10),
    webUrl: frontMatter.get("webUrl"),
  };
}

/**
 * The top-level `name: value` lines of the front matter (between the first
 * two `---` lines). Enough for the scalars the check reads, which the corpus
 * writes on one line, plain or double-quoted; not a YAML parser.
 */
function topLevelScalars(text: string): Map<string, string> {
  const lines = text.split("\n");
  const end = lines.indexOf("---", 1);
  if (lines[0] !== "---" || end < 0) {
    throw new Error("a document starts with front matter between --- lines");
  }
  const scalars = new Map<string, string>();
  for (const line of lines.slice(1, end)) {
    const match = /^([A-Za-z]+): (.+)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      const value = match[2];
      // A double-quoted YAML scalar of the corpus reads as a JSON string.
      scalars.set(match[1], value.startsWith('"') ? (JSON.parse(value) as string) : value);
    }
  }
  return scalars;
}
