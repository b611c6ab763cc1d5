"""The feed source over a real loopback HTTP server: mapping, conditional GET, redirects."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from syndicator.config import SiteSettings, SourceSettings
from syndicator.errors import ConfigError
from syndicator.sources import Collection, collect_all
from syndicator.sources import feed as feed_module
from syndicator.sources.feed import PARALLEL_MIN, FeedSource, _worker_count, collect_feeds
from tests.fakes.feedserver import CORPUS, FeedServer, generated_feed

NOW = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
SITE = SiteSettings(url="https://news.example.com")
FISH = "Fish & Chips – a field guide"
CAFE = "“Smart” quotes – and a café crème"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    feeds = FeedServer().start()
    yield feeds
    feeds.stop()


def feed(server: FeedServer, path: str, name: str = "f", **options: object) -> FeedSource:
    settings = SourceSettings(name=name, type="feed", url=server.url(path), options=options)
    return FeedSource(settings, SITE)


def posts(collection: Collection) -> dict[str, object]:
    return {p.title: p for p in collection.changed}


@pytest.mark.parametrize(
    ("path", "titles"),
    [
        pytest.param("feeds/rss2-cdata.xml", {FISH, "Quotes “with” entities"}, id="rss2"),
        pytest.param(
            "feeds/atom-xmlbase.xml", {"겨울 준비: 화분 옮기기", "씨앗 보관법"}, id="atom10-ko"
        ),
        pytest.param(
            "feeds/jsonfeed11.json", {"Launch window math", "A plain text note"}, id="json"
        ),
        pytest.param("feeds/rss1-rdf.xml", {"An RDF item"}, id="rss10"),
        pytest.param("feeds/rss091.xml", {"Hello from 1999"}, id="rss091"),
        pytest.param("feeds/atom03.xml", {"Legacy entry"}, id="atom03"),
        pytest.param("feeds/rss-euckr.xml", {"대전 가을 축제 안내"}, id="euc-kr"),
        pytest.param("feeds/rss-windows1252.xml", {CAFE}, id="windows-1252"),
        pytest.param("feeds/mislabelled-utf8.xml", {CAFE}, id="wrong-declared-encoding"),
    ],
)
def test_formats_and_encodings(server: FeedServer, path: str, titles: set[str]) -> None:
    collection = feed(server, path).collect({}, {}, NOW)
    assert not collection.failed, collection.problems
    assert {p.title for p in collection.changed} == titles
    assert all(p.body_format == "html" and p.published.tzinfo for p in collection.changed)
    assert collection.complete is False


def test_rss_mapping_and_sanitizing(server: FeedServer) -> None:
    post = posts(feed(server, "feeds/rss2-cdata.xml").collect({}, {}, NOW))
    fish = post["Fish & Chips – a field guide"]
    assert fish.id.startswith("urn:syndicator:feed-entry:")  # guid is not a URI
    assert fish.url == "https://tinker.example.org/2025/11/fish-chips/"
    assert fish.published == datetime(2025, 11, 18, 7, 30, tzinfo=UTC)
    assert [a.name for a in fish.authors] == ["Robin Vale"]
    assert fish.categories == ("Food", "Field notes")
    assert fish.image == "https://tinker.example.org/images/thumb.jpg"
    for bad in ("<script", "onclick", "javascript:", "<iframe", "pixel.example.net"):
        assert bad not in fish.body
    assert 'href="https://tinker.example.org/tips/"' in fish.body  # resolved against the link
    assert 'src="https://tinker.example.org/2025/11/fish-chips/images/chips.jpg"' in fish.body
    assert "episode-3.mp3" in fish.body  # the enclosure, as a link
    assert fish.excerpt == "A short <b>summary</b> of the guide."


def test_atom_xml_base_and_inherited_author(server: FeedServer) -> None:
    post = posts(feed(server, "feeds/atom-xmlbase.xml").collect({}, {}, NOW))
    winter = post["겨울 준비: 화분 옮기기"]
    assert winter.url == "https://garden.example.kr/blog/2025/12/winter-pots/"
    assert 'href="https://garden.example.kr/blog/2025/12/winter-pots/checklist/"' in winter.body
    assert winter.categories == ("원예", "겨울")
    assert [a.name for a in winter.authors] == ["한결"]  # from the feed
    assert winter.language == "ko"
    seeds = post["씨앗 보관법"]
    assert 'href="https://garden.example.kr/about/"' in seeds.body
    assert [a.name for a in seeds.authors] == ["도윤"]


def test_json_feed_mapping(server: FeedServer) -> None:
    post = posts(feed(server, "feeds/jsonfeed11.json").collect({}, {}, NOW))
    launch = post["Launch window math"]
    assert launch.id == "https://orbit.example.com/posts/launch-window"
    assert launch.tags == ("space", "math")
    assert launch.updated == datetime(2025, 12, 11, 8, 30, tzinfo=UTC)
    assert "onerror" not in launch.body and "slides.pdf" in launch.body
    assert launch.excerpt == "Why the window is narrow."
    note = post["A plain text note"]
    assert note.id.startswith("urn:syndicator:feed-entry:")
    assert "Second &lt;paragraph&gt;" in note.body


def test_duplicate_and_missing_ids_and_undated_entries(server: FeedServer) -> None:
    source = feed(server, "feeds/rss-ids.xml")
    first = source.collect({}, {}, NOW)
    assert len(first.changed) == 3
    assert "duplicate entry id" in str(first.problems[0])
    undated = {p.title: p.published for p in first.changed if p.published == NOW}
    assert len(undated) == 2
    # A later poll (full fetch, no validators) gives the same dates, so nothing changes.
    state = {k: v for k, v in first.state.items() if k not in ("etag", "last_modified")}
    later = source.collect(first.stamps, state, NOW + timedelta(hours=5))
    assert later.changed == ()
    assert later.unchanged == frozenset(first.stamps)


def test_conditional_get_second_run_changes_nothing(server: FeedServer) -> None:
    source = feed(server, "feeds/rss2-cdata.xml")
    first = source.collect({}, {}, NOW)
    second = source.collect(first.stamps, first.state, NOW)
    assert second.changed == () and not second.failed
    assert second.unchanged == frozenset(first.stamps)
    assert server.counts["/feeds/rss2-cdata.xml"] == 2
    sent = server.headers["/feeds/rss2-cdata.xml"]
    assert sent["if-none-match"] == first.state["etag"]
    assert sent["if-modified-since"] == first.state["last_modified"]
    assert sent["user-agent"] == "syndicator/0.1.0 (+https://news.example.com)"
    assert "gzip" in sent["accept-encoding"]


def test_edited_entry_is_a_change_not_a_new_post(server: FeedServer) -> None:
    source = feed(server, "feeds/rss2-cdata.xml")
    first = source.collect({}, {}, NOW)
    body = (CORPUS / "rss2-cdata.xml").read_bytes().replace(b"Batter first", b"Oil first")
    server.serve("/feeds/rss2-cdata.xml", body)
    second = source.collect(first.stamps, first.state, NOW)
    assert len(second.changed) == 1
    edited = second.changed[0]
    assert "Oil first" in edited.body
    assert edited.id in first.origins.values()
    assert len(second.unchanged) == 1


@pytest.mark.parametrize(
    ("code", "moves"),
    [
        pytest.param(301, True, id="301-moves"),
        pytest.param(308, True, id="308-moves"),
        pytest.param(302, False, id="302-keeps"),
        pytest.param(307, False, id="307-keeps"),
    ],
)
def test_redirects(server: FeedServer, code: int, moves: bool) -> None:
    source = feed(server, f"redirect/{code}/feeds/rss091.xml")
    first = source.collect({}, {}, NOW)
    assert not first.failed and len(first.changed) == 1
    expected = server.url("feeds/rss091.xml") if moves else source.url
    assert first.state["url"] == expected
    source.collect(first.stamps, first.state, NOW)
    assert server.counts[f"/redirect/{code}/feeds/rss091.xml"] == (1 if moves else 2)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        pytest.param("feeds/truncated.xml", "malformed XML", id="truncated"),
        pytest.param("feeds/billion-laughs.xml", "XML bomb", id="billion-laughs"),
        pytest.param("feeds/not-a-feed.html", "malformed XML", id="html-page"),
        pytest.param("loop/a", "redirect loop", id="redirect-loop"),
        pytest.param("status/404", "HTTP 404", id="404"),
        pytest.param("status/500", "HTTP 500", id="500"),
        pytest.param("status/410", "410 Gone", id="410"),
        pytest.param("slow", "timed out", id="slow-loris"),
        pytest.param("huge", "larger than", id="oversized-chunked"),
        pytest.param("huge-declared", "larger than", id="oversized-declared"),
    ],
)
def test_failures_are_reported_and_keep_stored_posts(
    server: FeedServer, path: str, reason: str
) -> None:
    source = feed(server, path, timeout=1, max_bytes=1_000_000)
    known = {"old-entry": "stamp"}
    collection = source.collect(known, {}, NOW)
    assert collection.failed
    assert collection.unchanged == frozenset(known) and collection.changed == ()
    (problem,) = collection.problems
    assert reason in str(problem) and "127.0.0.1" in str(problem)


def test_connection_refused_is_a_failure() -> None:
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.xml"
    source = FeedSource(SourceSettings(name="f", type="feed", url=url), SITE)
    collection = source.collect({}, {}, NOW)
    assert collection.failed and "connection refused" in str(collection.problems[0])


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"timeout": 0}, id="zero-timeout"),
        pytest.param({"max_bytes": "big"}, id="text-size"),
        pytest.param({"colour": "red"}, id="unknown-option"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object]) -> None:
    settings = SourceSettings(name="f", type="feed", url="https://x.example/f", options=options)
    with pytest.raises(ConfigError, match=f"sources.f.{next(iter(options))}"):
        FeedSource(settings, SITE)


def test_failures_do_not_stop_the_others(server: FeedServer) -> None:
    sources = [
        feed(server, "status/500", name="broken"),
        feed(server, "feeds/jsonfeed11.json", name="good"),
        feed(server, "feeds/billion-laughs.xml", name="bomb"),
    ]
    results = collect_all(sources, {}, {}, NOW)
    assert [c.source for c in results] == ["broken", "good", "bomb"]
    assert [c.failed for c in results] == [True, False, True]
    assert len(results[1].changed) == 2


def test_repeated_failures_back_off(server: FeedServer) -> None:
    source = feed(server, "status/503")
    first = source.collect({}, {}, NOW)
    second = source.collect({}, first.state, NOW + timedelta(minutes=15))
    assert second.state["failures"] == 2
    retry = datetime.fromisoformat(second.state["next_attempt"])
    assert retry == NOW + timedelta(minutes=45)
    skipped = source.collect({"a": "1"}, second.state, NOW + timedelta(minutes=30))
    assert not skipped.failed and skipped.unchanged == frozenset({"a"})
    assert server.counts["/status/503"] == 2
    server.serve("/status/503", (CORPUS / "rss091.xml").read_bytes())
    recovered = source.collect({}, skipped.state, retry)
    assert not recovered.failed and "failures" not in recovered.state


def test_gone_feed_is_not_polled_again(server: FeedServer) -> None:
    source = feed(server, "status/410")
    first = source.collect({}, {}, NOW)
    assert first.state["gone"] is True
    later = source.collect({}, first.state, NOW + timedelta(days=30))
    assert not later.failed and "not polled" in str(later.problems[0])
    assert server.counts["/status/410"] == 1


def test_many_feeds_concurrently(server: FeedServer) -> None:
    server.generated.update({n: generated_feed(n) for n in range(16)})
    sources = [feed(server, f"gen/{n}.xml", name=f"g{n}") for n in range(16)]
    results = collect_feeds(sources, {}, {}, NOW)
    assert all(not c.failed and len(c.changed) == 20 for c in results)
    ids = {p.id for c in results for p in c.changed}
    assert len(ids) == 320


def test_worker_processes_collect_exactly_what_one_process_does(server: FeedServer) -> None:
    server.generated.update({n: generated_feed(n) for n in range(6)})
    paths = [f"gen/{n}.xml" for n in range(6)] + [
        "feeds/rss-ids.xml",  # duplicate and missing ids, undated entries: problems, first_seen
        "feeds/not-a-feed.html",  # a parse failure inside the worker
        "status/500",
    ]
    sources = [feed(server, path, name=f"s{n}") for n, path in enumerate(paths)]
    alone = collect_feeds(sources, {}, {}, NOW, workers=0)
    pooled = collect_feeds(sources, {}, {}, NOW, workers=2)
    assert [c.changed for c in pooled] == [c.changed for c in alone]
    assert [p.content_hash for c in pooled for p in c.changed] == [
        p.content_hash for c in alone for p in c.changed
    ]
    for a, b in zip(alone, pooled, strict=True):
        assert (b.stamps, b.origins, b.state, b.failed) == (a.stamps, a.origins, a.state, a.failed)
        assert [str(p) for p in b.problems] == [str(p) for p in a.problems]
    assert sum(len(c.changed) for c in pooled) > 120 and pooled[6].problems
    assert pooled[7].failed and pooled[8].failed


def test_small_runs_and_threaded_processes_parse_in_process(server: FeedServer) -> None:
    assert _worker_count(PARALLEL_MIN - 1, None) == 0  # too few feeds to pay for a fork
    assert _worker_count(PARALLEL_MIN, None) == 0  # the server's thread: forking is unsafe
    assert (_worker_count(3, 2), _worker_count(3, 1)) == (2, 0)


_PARENT = os.getpid()
_real_digest = feed_module._digest


def _digest_or_die(*args: Any) -> Any:
    if os.getpid() != _PARENT:
        os._exit(3)  # a parse worker killed mid-parse
    return _real_digest(*args)


def test_a_dead_worker_means_parsing_here(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server.generated.update({n: generated_feed(n) for n in range(4)})
    sources = [feed(server, f"gen/{n}.xml", name=f"g{n}") for n in range(4)]
    alone = collect_feeds(sources, {}, {}, NOW, workers=0)
    monkeypatch.setattr(feed_module, "_digest", _digest_or_die)
    pooled = collect_feeds(sources, {}, {}, NOW, workers=2)
    assert [c.changed for c in pooled] == [c.changed for c in alone]
    assert [c.stamps for c in pooled] == [c.stamps for c in alone]
    assert "parsing worker died" in caplog.text


def test_feeds_with_validators_are_parsed_without_forking(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers are for bodies that are sure to come: conditional GETs mostly get 304s."""
    server.generated.update({n: generated_feed(n) for n in range(PARALLEL_MIN)})
    sources = [feed(server, f"gen/{n}.xml", name=f"g{n}") for n in range(PARALLEL_MIN)]
    expected: list[int] = []
    monkeypatch.setattr(feed_module, "_worker_count", lambda n, _: expected.append(n) or 0)
    first = collect_feeds(sources, {}, {}, NOW)
    known = {c.source: dict(c.stamps) for c in first}
    states = {c.source: dict(c.state) for c in first}
    server.serve("gen/0.xml", generated_feed(0).replace(b"post 3 &amp;", b"post 3 (edited) &amp;"))
    second = collect_feeds(sources, known, states, NOW)
    assert expected == [PARALLEL_MIN, 0]
    assert [len(c.changed) for c in second] == [1] + [0] * (PARALLEL_MIN - 1)
