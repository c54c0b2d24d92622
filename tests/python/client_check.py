"""Drives a running newswire server through a Python client generated from proto/.

Run by tests/python_client.rs, which starts the server and generates the
stubs first:

    python client_check.py --address 127.0.0.1:PORT --generated DIR --corpus DIR

It imports a few real corpus documents, reads them back by key, id and URL
and compares them with their YAML front matter, lists with a filter page by
page, and checks that bad requests get the documented status codes. It exits
0 when every check passes; on the first failed check it prints what was
expected and what came back, and exits 1.
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

# Every call has a deadline, so a hung server fails the check instead of
# hanging the test.
RPC_TIMEOUT_SECONDS = 30

# Optional scalar fields of Article: proto field name -> front-matter key.
OPTIONAL_SCALAR_FIELDS = {
    "category": "category",
    "excerpt": "excerpt",
    "original_url": "originalUrl",
    "web_url": "webUrl",
    "amp_web_url": "ampWebUrl",
    "cdn_amp_web_url": "cdnAmpWebUrl",
    "type": "type",
    "quality": "quality",
    "heat": "heat",
    "published": "published",
    "featured_content": "featuredContent",
    "secured": "secured",
}

# Optional scalar fields of Image: proto field name -> front-matter key.
IMAGE_FIELDS = {
    "url": "url",
    "width": "width",
    "height": "height",
    "title": "title",
    "attribution": "attribution",
    "is_cached": "isCached",
}


class CheckFailed(Exception):
    """A check whose expectation the server did not meet."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def check_equal(actual: Any, expected: Any, what: str) -> None:
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


@dataclass
class CorpusDocument:
    """One corpus file: its raw text and its parsed front matter."""

    path: Path
    text: str
    front_matter: dict[str, Any]
    body: str

    @property
    def source(self) -> str:
        return self.path.name

    @property
    def key(self) -> str:
        # The documented default key: the file name without its extension.
        return self.path.stem


def split_front_matter(path: Path) -> CorpusDocument:
    text = path.read_text(encoding="utf-8")
    check(text.startswith("---\n"), f"{path}: corpus document does not start with '---'")
    closing = text.find("\n---\n", 3)
    check(closing >= 0, f"{path}: corpus document has no closing '---' line")
    front_matter = yaml.safe_load(text[4 : closing + 1]) or {}
    body = text[closing + len("\n---\n") :]
    return CorpusDocument(path=path, text=text, front_matter=front_matter, body=body)


def pick_documents(corpus_dir: Path) -> list[CorpusDocument]:
    """A few documents from each corpus folder, in a fixed order."""
    paths: list[Path] = []
    for folder, count in (("seed", 1), ("ai-news-sample", 3), ("powerapps-news", 3)):
        candidates = sorted(
            path for path in (corpus_dir / folder).iterdir() if path.suffix in (".md", ".txt")
        )
        check(len(candidates) >= count, f"corpus folder {folder} has fewer than {count} documents")
        paths.extend(candidates[:count])
    return [split_front_matter(path) for path in paths]


def as_utc(value: Any) -> datetime.datetime:
    """A front-matter timestamp as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    check(isinstance(value, datetime.datetime), f"not a timestamp: {value!r}")
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def timestamp_as_utc(timestamp: Any) -> datetime.datetime:
    return timestamp.ToDatetime(tzinfo=datetime.timezone.utc)


def compare_optional_scalars(message: Any, fields: dict[str, str], yaml_map: dict, what: str) -> None:
    for proto_field, yaml_key in fields.items():
        if yaml_key in yaml_map:
            check(message.HasField(proto_field), f"{what}.{proto_field}: missing, expected {yaml_map[yaml_key]!r}")
            check_equal(getattr(message, proto_field), yaml_map[yaml_key], f"{what}.{proto_field}")
        else:
            check(
                not message.HasField(proto_field),
                f"{what}.{proto_field}: absent from the document but set to {getattr(message, proto_field)!r}",
            )


def compare_images(images: Any, yaml_images: list, what: str) -> None:
    check_equal(len(images), len(yaml_images), f"{what} count")
    for index, (image, yaml_image) in enumerate(zip(images, yaml_images)):
        compare_optional_scalars(image, IMAGE_FIELDS, yaml_image, f"{what}[{index}]")


def compare_article(article: Any, document: CorpusDocument) -> None:
    """Every field the front matter sets, plus presence of those it doesn't."""
    what = f"article {document.key}"
    front_matter = document.front_matter
    check(article.id != "", f"{what}: empty id")
    check_equal(article.key, document.key, f"{what}.key")
    check_equal(article.title, front_matter["title"], f"{what}.title")
    check_equal(
        timestamp_as_utc(article.published_date_time),
        as_utc(front_matter["publishedDateTime"]),
        f"{what}.published_date_time",
    )
    compare_optional_scalars(article, OPTIONAL_SCALAR_FIELDS, front_matter, what)
    check_equal(list(article.topics), front_matter.get("topics", []), f"{what}.topics")
    compare_images(article.images, front_matter.get("images", []), f"{what}.images")

    yaml_provider = front_matter.get("provider")
    if yaml_provider is not None:
        check(article.HasField("provider"), f"{what}.provider: missing")
        compare_optional_scalars(
            article.provider, {"name": "name", "domain": "domain"}, yaml_provider, f"{what}.provider"
        )
        compare_images(article.provider.images, yaml_provider.get("images", []), f"{what}.provider.images")

    yaml_related = front_matter.get("related", [])
    check_equal(len(article.related), len(yaml_related), f"{what}.related count")
    for index, (related, yaml_item) in enumerate(zip(article.related, yaml_related)):
        if "title" in yaml_item:
            check_equal(related.title, yaml_item["title"], f"{what}.related[{index}].title")
        if "webUrl" in yaml_item:
            check_equal(related.web_url, yaml_item["webUrl"], f"{what}.related[{index}].web_url")

    check_equal(article.body, document.body, f"{what}.body")
    check(article.revision > 0, f"{what}.revision: expected > 0, got {article.revision}")
    check(article.etag != "", f"{what}.etag: empty")


def expect_status(call: Callable[[], Any], code: Any, what: str) -> None:
    import grpc

    try:
        call()
    except grpc.RpcError as error:
        check_equal(error.code(), code, f"{what}: status code (details: {error.details()!r})")
        print(f"  ok: {what} -> {error.code().name}: {error.details()}")
        return
    raise CheckFailed(f"{what}: expected {code.name}, but the call succeeded")


class Checks:
    def __init__(self, stub: Any, pb: Any, documents: list[CorpusDocument]) -> None:
        self.stub = stub
        self.pb = pb
        self.documents = documents
        self.last_revision = 0

    def import_documents(
        self, documents: list[CorpusDocument], extra: tuple[tuple[str, str], ...] = ()
    ) -> Any:
        requests = [self.pb.ImportArticlesRequest(source=d.source, document=d.text) for d in documents]
        requests += [self.pb.ImportArticlesRequest(source=source, document=text) for source, text in extra]
        return self.stub.ImportArticles(iter(requests), timeout=RPC_TIMEOUT_SECONDS)

    def check_import(self) -> None:
        count = len(self.documents)
        print(f"ImportArticles: {count} corpus documents")
        response = self.import_documents(self.documents)
        failures = [(f.index, f.source, f.reason) for f in response.failures]
        check_equal(failures, [], "first import: failures")
        check_equal(
            (response.created, response.updated, response.unchanged, response.failed),
            (count, 0, 0, 0),
            "first import: (created, updated, unchanged, failed)",
        )
        check(response.last_revision > 0, f"first import: last_revision {response.last_revision} is not > 0")
        self.last_revision = response.last_revision

        print("ImportArticles again, plus one document without a title or date")
        bad_source = "broken-document.md"
        bad_text = "---\ncategory: news\n---\nno title, no publishedDateTime\n"
        response = self.import_documents(self.documents, extra=((bad_source, bad_text),))
        check_equal(
            (response.created, response.updated, response.unchanged, response.failed),
            (0, 0, count, 1),
            "second import: (created, updated, unchanged, failed)",
        )
        check_equal(len(response.failures), 1, "second import: number of failures")
        failure = response.failures[0]
        check_equal(failure.index, count, "second import: failure index")
        check_equal(failure.source, bad_source, "second import: failure source")
        check(failure.reason != "", "second import: failure has no reason")
        check_equal(response.last_revision, 0, "second import wrote nothing, so last_revision")
        print(f"  ok: unchanged={response.unchanged}, failure reason: {failure.reason}")

    def check_get(self) -> None:
        for document in self.documents:
            article = self.stub.GetArticle(
                self.pb.GetArticleRequest(key=document.key), timeout=RPC_TIMEOUT_SECONDS
            ).article
            compare_article(article, document)
            by_id = self.stub.GetArticle(
                self.pb.GetArticleRequest(id=article.id), timeout=RPC_TIMEOUT_SECONDS
            ).article
            check_equal(by_id, article, f"GetArticle(id={article.id}) vs GetArticle(key={document.key})")
        print(f"GetArticle by key and id: {len(self.documents)} articles match their front matter")

        # By URL: a document whose original URL no other picked document shares.
        url_owners: dict[str, list[str]] = {}
        for document in self.documents:
            for key in ("originalUrl", "webUrl", "ampWebUrl", "cdnAmpWebUrl"):
                if key in document.front_matter:
                    url_owners.setdefault(document.front_matter[key], []).append(document.key)
        document = next(
            (
                d
                for d in self.documents
                if "originalUrl" in d.front_matter
                and set(url_owners[d.front_matter["originalUrl"]]) == {d.key}
            ),
            None,
        )
        check(document is not None, "no picked document has an original URL of its own")
        url = document.front_matter["originalUrl"]
        article = self.stub.GetArticle(self.pb.GetArticleRequest(url=url), timeout=RPC_TIMEOUT_SECONDS).article
        compare_article(article, document)
        print(f"GetArticle by URL {url}: ok")

    def list_all_pages(self, query: Any, page_size: int) -> list[list[Any]]:
        pages: list[list[Any]] = []
        token = ""
        while True:
            check(len(pages) <= 100, "ListArticles: more than 100 pages; next_page_token never ends")
            response = self.stub.ListArticles(
                self.pb.ListArticlesRequest(query=query, page_size=page_size, page_token=token),
                timeout=RPC_TIMEOUT_SECONDS,
            )
            check(
                len(response.articles) <= page_size,
                f"ListArticles: page of {len(response.articles)} articles exceeds page_size {page_size}",
            )
            pages.append(list(response.articles))
            token = response.next_page_token
            if not token:
                return pages

    def check_list(self, query: Any, expected: list[CorpusDocument], page_size: int, what: str) -> None:
        pages = self.list_all_pages(query, page_size)
        keys = [article.key for page in pages for article in page]
        check_equal(len(keys), len(set(keys)), f"{what}: no article listed twice ({keys})")
        check_equal(sorted(keys), sorted(d.key for d in expected), f"{what}: listed keys")
        # A full last page may still carry a token; then one empty page follows.
        most_pages = math.ceil(len(expected) / page_size) + 1
        check(len(pages) <= most_pages, f"{what}: {len(pages)} pages for {len(expected)} articles")
        # The default order: published_date_time descending, ties by id.
        articles = [article for page in pages for article in page]
        order = [(timestamp_as_utc(a.published_date_time), a.id) for a in articles]
        check(order == sorted(order, reverse=True), f"{what}: not in published_date_time desc order: {keys}")
        print(f"{what}: {len(keys)} articles in {len(pages)} pages of at most {page_size}: ok")

    def check_lists(self) -> None:
        topic_counts: dict[str, int] = {}
        for document in self.documents:
            for topic in document.front_matter.get("topics", []):
                topic_counts[topic] = topic_counts.get(topic, 0) + 1
        topic = max(sorted(topic_counts), key=lambda name: topic_counts[name])
        with_topic = [d for d in self.documents if topic in d.front_matter.get("topics", [])]
        check(len(with_topic) >= 3, f"need 3 picked documents sharing a topic, best is {topic!r}")
        self.check_list(
            self.pb.ArticleQuery(topics=[topic]),
            with_topic,
            page_size=2,
            what=f"ListArticles(topics=[{topic!r}], page_size=2)",
        )
        self.check_list(self.pb.ArticleQuery(), self.documents, page_size=3, what="ListArticles(all, page_size=3)")

    def check_stream(self) -> None:
        print("StreamArticles: every article, then resumed after the second")
        messages = list(
            self.stub.StreamArticles(self.pb.StreamArticlesRequest(read_batch_size=2), timeout=RPC_TIMEOUT_SECONDS)
        )
        check_equal(
            sorted(m.article.key for m in messages), sorted(d.key for d in self.documents), "streamed keys"
        )
        resumed = list(
            self.stub.StreamArticles(
                self.pb.StreamArticlesRequest(start_after=messages[1].resume_token), timeout=RPC_TIMEOUT_SECONDS
            )
        )
        check_equal([m.article.key for m in resumed], [m.article.key for m in messages[2:]], "resumed keys")

    def check_watch(self) -> None:
        """A watch from revision 0 replays the import's changes in order; a
        snapshot watch lists every article, then marks the snapshot."""
        event_type = self.pb.ArticleEvent.Type
        print(f"WatchArticles(start_revision=0) through revision {self.last_revision}")
        request = self.pb.WatchArticlesRequest(start_revision=0)
        request.progress_interval.FromMilliseconds(200)
        call = self.stub.WatchArticles(request, timeout=RPC_TIMEOUT_SECONDS)
        changes = []
        for response in call:
            event = response.event
            if event.type == event_type.TYPE_CREATED:
                changes.append((event.revision, event.article.key))
            if event.revision >= self.last_revision:
                break
        call.cancel()
        check_equal(
            changes,
            [(index + 1, d.key) for index, d in enumerate(self.documents)],
            "watched (revision, key) of the import",
        )

        print("WatchArticles(send_initial=True)")
        call = self.stub.WatchArticles(self.pb.WatchArticlesRequest(send_initial=True), timeout=RPC_TIMEOUT_SECONDS)
        initial = []
        for response in call:
            event = response.event
            if event.type == event_type.TYPE_INITIAL:
                initial.append(event.article.key)
            elif event.type == event_type.TYPE_INITIAL_DONE:
                check_equal(event.revision, self.last_revision, "snapshot revision")
                break
        call.cancel()
        check_equal(sorted(initial), sorted(d.key for d in self.documents), "snapshot keys")

    def check_errors(self) -> None:
        import grpc

        print("Bad requests:")
        expect_status(
            lambda: self.stub.ListArticles(self.pb.ListArticlesRequest(page_size=-1), timeout=RPC_TIMEOUT_SECONDS),
            grpc.StatusCode.INVALID_ARGUMENT,
            "ListArticles(page_size=-1)",
        )
        expect_status(
            lambda: self.stub.GetArticle(self.pb.GetArticleRequest(), timeout=RPC_TIMEOUT_SECONDS),
            grpc.StatusCode.INVALID_ARGUMENT,
            "GetArticle with no id, key or url",
        )
        expect_status(
            lambda: self.stub.GetArticle(
                self.pb.GetArticleRequest(key="no-such-article-key"), timeout=RPC_TIMEOUT_SECONDS
            ),
            grpc.StatusCode.NOT_FOUND,
            "GetArticle(key='no-such-article-key')",
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", required=True, help="host:port of a running newswire server")
    parser.add_argument("--generated", required=True, type=Path, help="where grpc_tools.protoc wrote the stubs")
    parser.add_argument("--corpus", required=True, type=Path, help="the corpus folder (seed/, ...)")
    arguments = parser.parse_args()

    sys.path.insert(0, str(arguments.generated))
    import grpc
    from newswire.v1 import article_service_pb2 as pb
    from newswire.v1 import article_service_pb2_grpc as pb_grpc

    documents = pick_documents(arguments.corpus)
    with grpc.insecure_channel(arguments.address) as channel:
        grpc.channel_ready_future(channel).result(timeout=RPC_TIMEOUT_SECONDS)
        checks = Checks(pb_grpc.ArticleServiceStub(channel), pb, documents)
        try:
            checks.check_import()
            checks.check_get()
            checks.check_lists()
            checks.check_stream()
            checks.check_watch()
            checks.check_errors()
        except CheckFailed as failure:
            print(f"FAILED: {failure}", file=sys.stderr)
            return 1
        except grpc.RpcError as error:
            print(f"FAILED: unexpected RPC error {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    print("client_check: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
