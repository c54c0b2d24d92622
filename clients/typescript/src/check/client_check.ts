/**
 * Drives a running newswire through the generated TypeScript client. Run by
 * tests/typescript_client.rs, which starts the server and, when this prints
 * `WAITING_FOR_CHANGE`, creates the article `--watch-key` with the Rust
 * client:
 *
 *   node build/check/client_check.js --address HOST:PORT --token TOKEN \
 *     --corpus DIR --watch-key KEY
 *
 * It imports a few corpus documents, gets them by key and URL (absent `heat`
 * stays absent), lists with a filter page by page, streams them, checks the
 * BadRequest of a bad page token, and watches with `send_initial` until the
 * other client's change arrives. Exits 0 when every check passes, else
 * prints the first failed check and exits 1.
 */
import { parseArgs } from "node:util";

import { isFieldSet } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, type CallOptions } from "@connectrpc/connect";

import { createArticleServiceClient, type ArticleServiceClient } from "../client.js";
import { badRequestOf, STATUS_DETAILS_TRAILER } from "../error_details.js";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb.js";
import { ArticleSchema, type Article } from "../gen/newswire/v1/article_pb.js";
import { ArticleEvent_Type } from "../gen/newswire/v1/article_service_pb.js";
import { readDocuments, type CorpusDocument } from "./corpus.js";
import { check, checkEqual, expectError } from "./expect.js";

/** How many corpus documents the check imports. */
const DOCUMENT_COUNT = 12;
/** The ListArticles filter: articles with heat >= this (5 of the 12). */
const MIN_HEAT = 100;
/** Small, so the filtered list takes several pages. */
const PAGE_SIZE = 2;
/** Every unary call's deadline: a hung server fails the check, not the test run. */
const CALL: CallOptions = { timeoutMs: 30_000 };
/** How long the watch waits for the other client's change. */
const WATCH_DEADLINE_MS = 60_000;

interface Arguments {
  address: string;
  token: string;
  corpus: string;
  watchKey: string;
}

function parseArguments(): Arguments {
  const { values } = parseArgs({
    options: {
      address: { type: "string" },
      token: { type: "string" },
      corpus: { type: "string" },
      "watch-key": { type: "string" },
    },
  });
  const { address, token, corpus } = values;
  const watchKey = values["watch-key"];
  if (address === undefined || token === undefined || corpus === undefined || watchKey === undefined) {
    throw new Error("usage: client_check --address HOST:PORT --token TOKEN --corpus DIR --watch-key KEY");
  }
  return { address, token, corpus, watchKey };
}

function passed(what: string): void {
  console.log(`ok: ${what}`);
}

/** Without a token the gate refuses the call; with one it answers. */
async function checkAuthentication(address: string): Promise<void> {
  const anonymous = createArticleServiceClient({ baseUrl: `http://${address}` });
  await expectError(
    anonymous.getArticle({ lookup: { case: "key", value: "anything" } }, CALL),
    Code.Unauthenticated,
    "GetArticle without a bearer token",
  );
  passed("a call without a bearer token is UNAUTHENTICATED");
}

/** ImportArticles, a client stream of documents. */
async function checkImport(client: ArticleServiceClient, documents: CorpusDocument[]): Promise<bigint> {
  async function* requests() {
    for (const document of documents) {
      yield { source: document.source, item: { case: "document" as const, value: document.text } };
    }
  }
  const response = await client.importArticles(requests(), CALL);
  checkEqual(response.failures, [], "ImportArticles failures");
  checkEqual(response.created, BigInt(documents.length), "ImportArticles created");
  check(response.lastRevision > 0n, `ImportArticles last_revision ${response.lastRevision} is positive`);
  passed(`ImportArticles created ${response.created} articles up to revision ${response.lastRevision}`);
  return response.lastRevision;
}

/** The article matches its document, `heat` present exactly when the document has one. */
function checkArticle(article: Article | undefined, document: CorpusDocument, what: string): Article {
  check(article !== undefined, `${what}: the response has no article`);
  checkEqual(article.key, document.key, `${what}: key`);
  checkEqual(article.title, document.title, `${what}: title`);
  checkEqual(isFieldSet(article, ArticleSchema.field.heat), document.heat !== undefined, `${what}: heat is set`);
  checkEqual(article.heat, document.heat, `${what}: heat`);
  return article;
}

async function checkGetByKeyAndUrl(client: ArticleServiceClient, documents: CorpusDocument[]): Promise<void> {
  for (const document of documents) {
    const response = await client.getArticle({ lookup: { case: "key", value: document.key } }, CALL);
    checkArticle(response.article, document, `GetArticle key=${document.key}`);
  }
  const withoutHeat = documents.filter((document) => document.heat === undefined).length;
  check(withoutHeat > 0, "the imported documents include one without heat");
  passed(`GetArticle by key for ${documents.length} articles (${withoutHeat} without heat: heat absent)`);

  const byUrl = documents.find((document) => document.webUrl !== undefined);
  check(byUrl?.webUrl !== undefined, "an imported document has a webUrl");
  const response = await client.getArticle({ lookup: { case: "url", value: byUrl.webUrl } }, CALL);
  checkArticle(response.article, byUrl, `GetArticle url=${byUrl.webUrl}`);
  passed(`GetArticle by URL ${byUrl.webUrl}`);
}

/** ListArticles with `min_heat`, ordered by heat, followed through its page tokens. */
async function checkListPages(client: ArticleServiceClient, documents: CorpusDocument[]): Promise<void> {
  const expectedKeys = documents
    .filter((document) => document.heat !== undefined && document.heat >= MIN_HEAT)
    .map((document) => document.key)
    .sort();
  const listed: Article[] = [];
  let pages = 0;
  let pageToken = "";
  do {
    const response = await client.listArticles(
      { query: { minHeat: MIN_HEAT }, orderBy: "heat desc", pageSize: PAGE_SIZE, pageToken },
      CALL,
    );
    check(response.articles.length <= PAGE_SIZE, `ListArticles page ${pages}: at most ${PAGE_SIZE} articles`);
    listed.push(...response.articles);
    pageToken = response.nextPageToken;
    pages += 1;
    check(pages <= expectedKeys.length + 1, "ListArticles: next_page_token never ends");
  } while (pageToken !== "");
  checkEqual(listed.map((article) => article.key).sort(), expectedKeys, `ListArticles min_heat=${MIN_HEAT}`);
  check(pages >= 3, `ListArticles took ${pages} pages of ${PAGE_SIZE} for ${expectedKeys.length} articles`);
  const heats = listed.map((article) => article.heat ?? Number.NaN);
  check(
    heats.every((heat, index) => index === 0 || heat <= (heats[index - 1] ?? Number.NaN)),
    `ListArticles order heat desc: ${JSON.stringify(heats)}`,
  );
  passed(`ListArticles min_heat=${MIN_HEAT}: ${listed.length} articles over ${pages} pages, heat desc`);
}

/** StreamArticles in full, then resumed from one of its resume tokens. */
async function checkStream(client: ArticleServiceClient, documents: CorpusDocument[]): Promise<void> {
  const request = { orderBy: "published_date_time asc" };
  const keys: string[] = [];
  const resumeTokens: string[] = [];
  let previousPublished = Number.NEGATIVE_INFINITY;
  for await (const response of client.streamArticles(request, CALL)) {
    check(response.article !== undefined, "StreamArticles: a message without an article");
    const publishedDateTime = response.article.publishedDateTime;
    check(publishedDateTime !== undefined, `StreamArticles: ${response.article.key} has a published_date_time`);
    const published = timestampMs(publishedDateTime);
    check(published >= previousPublished, "StreamArticles: published_date_time ascending");
    previousPublished = published;
    keys.push(response.article.key);
    resumeTokens.push(response.resumeToken);
  }
  checkEqual([...keys].sort(), documents.map((document) => document.key).sort(), "StreamArticles keys");

  const resumeAfter = 4;
  const resumed: string[] = [];
  for await (const response of client.streamArticles(
    { ...request, startAfter: resumeTokens[resumeAfter - 1] },
    CALL,
  )) {
    resumed.push(response.article?.key ?? "");
  }
  checkEqual(resumed, keys.slice(resumeAfter), `StreamArticles resumed after article ${resumeAfter}`);
  passed(`StreamArticles: ${keys.length} articles, resumed after ${resumeAfter} with the rest`);
}

/** A bad page token: INVALID_ARGUMENT with a BadRequest naming `page_token`. */
async function checkBadPageToken(client: ArticleServiceClient): Promise<void> {
  const error = await expectError(
    client.listArticles({ pageToken: "not-a-page-token" }, CALL),
    Code.InvalidArgument,
    "ListArticles with a bad page token",
  );
  check(error.metadata.has(STATUS_DETAILS_TRAILER), `the error carries the ${STATUS_DETAILS_TRAILER} trailer`);
  const badRequest = badRequestOf(error);
  check(badRequest !== undefined, "the trailer's google.rpc.Status holds a google.rpc.BadRequest");
  checkEqual(
    badRequest.fieldViolations.map((violation) => violation.field),
    ["page_token"],
    "BadRequest field violations",
  );
  // Connect decodes the same trailer into `details`: both readings agree.
  checkEqual(
    error.findDetails(BadRequestSchema).map((detail) => detail.fieldViolations.map((v) => v.field)),
    [["page_token"]],
    "ConnectError.findDetails(BadRequest)",
  );
  passed(`bad page token: INVALID_ARGUMENT, BadRequest on page_token (${badRequest.fieldViolations[0]?.description})`);
}

/**
 * WatchArticles with `send_initial`: the snapshot is every imported article,
 * then, after `WAITING_FOR_CHANGE`, the other client's create arrives.
 */
async function checkWatch(
  client: ArticleServiceClient,
  documents: CorpusDocument[],
  importedUpTo: bigint,
  watchKey: string,
): Promise<void> {
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(new Error("the watch deadline passed")), WATCH_DEADLINE_MS);
  const initialKeys: string[] = [];
  let snapshotRevision: bigint | undefined;
  try {
    for await (const { event } of client.watchArticles({ sendInitial: true }, { signal: controller.signal })) {
      check(event !== undefined, "WatchArticles: a response without an event");
      if (snapshotRevision === undefined) {
        if (event.type === ArticleEvent_Type.INITIAL) {
          initialKeys.push(event.article?.key ?? "");
          continue;
        }
        checkEqual(ArticleEvent_Type[event.type], "INITIAL_DONE", "WatchArticles: the event after the snapshot");
        checkEqual(initialKeys.sort(), documents.map((document) => document.key).sort(), "the snapshot's keys");
        check(event.revision >= importedUpTo, `the snapshot revision ${event.revision} >= ${importedUpTo}`);
        snapshotRevision = event.revision;
        // The Rust test makes its change when it reads this line.
        console.log(`WAITING_FOR_CHANGE revision=${snapshotRevision}`);
        continue;
      }
      if (event.type === ArticleEvent_Type.PROGRESS) {
        continue;
      }
      checkEqual(ArticleEvent_Type[event.type], "CREATED", "WatchArticles: the change event");
      checkEqual(event.article?.key, watchKey, "the created article's key");
      check(event.revision > snapshotRevision, `the change's revision ${event.revision} > ${snapshotRevision}`);
      passed(`WatchArticles: ${initialKeys.length} initial, then ${watchKey} created at revision ${event.revision}`);
      return;
    }
    check(false, "WatchArticles ended before the change arrived");
  } catch (error) {
    if (controller.signal.aborted) {
      check(false, `WatchArticles: no change to ${watchKey} within ${WATCH_DEADLINE_MS} ms`);
    }
    throw error;
  } finally {
    clearTimeout(deadline);
    controller.abort();
  }
}

async function main(): Promise<void> {
  const { address, token, corpus, watchKey } = parseArguments();
  const documents = readDocuments(corpus, DOCUMENT_COUNT);
  const client = createArticleServiceClient({ baseUrl: `http://${address}`, token });
  await checkAuthentication(address);
  const importedUpTo = await checkImport(client, documents);
  await checkGetByKeyAndUrl(client, documents);
  await checkListPages(client, documents);
  await checkStream(client, documents);
  await checkBadPageToken(client);
  await checkWatch(client, documents, importedUpTo, watchKey);
  console.log("all checks passed");
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
