"""The lxml fast path reads every feed it accepts exactly as the feedparser path does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import syndicator.sources.feedxml as feedxml
from syndicator.sources.feedmap import map_entries
from syndicator.sources.feedparse import ParsedFeed, parse_feed
from tests.fakes.feedserver import CORPUS, generated_feed

NOW = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
URL = "https://reader.example.com/feeds/source.xml"
# The fast path must take these (well-formed UTF-8 RSS 2.0 / Atom 1.0) and decline the rest.
FAST = {"rss2-cdata.xml", "rss-ids.xml", "rss2-wordpress.xml", "atom-blog.xml"}
CONTENT_TYPES = [
    pytest.param("application/rss+xml", id="rss+xml"),
    pytest.param("application/atom+xml; charset=utf-8", id="atom+xml-utf8"),
    pytest.param("", id="no-content-type"),
    pytest.param("text/xml", id="text-xml-no-charset"),
    pytest.param("application/xml; charset=iso-8859-1", id="latin1-charset"),
]


def _feedparser_path(body: bytes, content_type: str, monkeypatch: pytest.MonkeyPatch) -> ParsedFeed:
    with monkeypatch.context() as patch:
        patch.setattr(feedxml, "parse_fast", lambda *args: None)
        return parse_feed(body, content_type, URL)


def _documents() -> list[object]:
    files = sorted(p for p in CORPUS.iterdir() if p.suffix == ".xml")
    params = [pytest.param(p.read_bytes(), p.name, id=p.name) for p in files]
    params.append(pytest.param(generated_feed(7), "generated", id="bench-generated"))
    return params


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize(("body", "name"), _documents())
def test_fast_path_equals_feedparser_on_the_corpus(
    body: bytes, name: str, content_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = feedxml.parse_fast(body, content_type, URL)
    utf8_xml = "text/xml" not in content_type and "iso-8859-1" not in content_type
    assert (fast is not None) == (utf8_xml and name in FAST | {"generated"})
    if fast is None:
        return
    slow = _feedparser_path(body, content_type, monkeypatch)
    assert fast == slow
    assert parse_feed(body, content_type, URL) == fast  # parse_feed does take the fast path
    fast_posts = map_entries(fast, source="s", feed_url=URL, first_seen={}, now=NOW)
    slow_posts = map_entries(slow, source="s", feed_url=URL, first_seen={}, now=NOW)
    assert fast_posts.posts == slow_posts.posts
    assert fast_posts.posts  # something was compared
    assert fast_posts.first_seen == slow_posts.first_seen
    assert [str(p) for p in fast_posts.problems] == [str(p) for p in slow_posts.problems]


def _rss(item: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>'
        f"<link>https://t.example/</link>{channel}<item>{item}</item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_rss("<title>A &lt;b&gt;bold&lt;/b&gt; title</title>"), id="html-title"),
        pytest.param(_rss("<author>a@t.example (A)</author>"), id="rss-author-email"),
        pytest.param(_rss("<dc:creator>A</dc:creator><dc:creator>B</dc:creator>"), id="two-dc"),
        pytest.param(_rss("<pubDate>Tue, 18 Nov 2025 08:30:00 EST</pubDate>"), id="named-zone"),
        pytest.param(_rss("<pubDate>18 Nov 25 08:30 +0000</pubDate>"), id="two-digit-year"),
        pytest.param(_rss("<description>a</description><description>b</description>"), id="2x"),
        pytest.param(_rss("<x:y xmlns:x='urn:x'>?</x:y>"), id="unknown-namespace"),
        pytest.param(_rss("", "<managingEditor>e@t.example</managingEditor>"), id="feed-author"),
        pytest.param(_rss("<title>café</title>").replace(b"UTF-8", b"ISO-8859-1"), id="latin1"),
        pytest.param(_rss("<title>x &nbsp; y</title>"), id="undeclared-entity"),
        pytest.param(_rss("<title>x</title>").replace(b"2.0", b"0.92"), id="rss092"),
    ],
)
def test_fast_path_declines_what_only_feedparser_reads_right(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert feedxml.parse_fast(body, "application/rss+xml", URL) is None
    try:  # the fallback still reads it (or reports it) the feedparser way
        expected: object = _feedparser_path(body, "application/rss+xml", monkeypatch)
    except Exception as exc:
        expected = type(exc)
    try:
        actual: object = parse_feed(body, "application/rss+xml", URL)
    except Exception as exc:
        actual = type(exc)
    assert actual == expected


def test_fast_path_refuses_dtds_and_entities() -> None:
    bomb = (CORPUS / "billion-laughs.xml").read_bytes()
    assert feedxml.parse_fast(bomb, "application/rss+xml", URL) is None
    external = _rss("<title>&ext;</title>").replace(
        b"<rss", b'<!DOCTYPE rss [<!ENTITY ext SYSTEM "file:///etc/passwd">]><rss'
    )
    assert feedxml.parse_fast(external, "application/rss+xml", URL) is None


def test_generated_bench_feed_is_read_fast_and_whole() -> None:
    parsed = feedxml.parse_fast(generated_feed(3), "application/rss+xml", URL)
    assert parsed is not None and len(parsed.entries) == 20
    first = parsed.entries[0]
    assert first.title == "Blog 3 post 0 & more"
    assert first.published == datetime(2025, 6, 4, 0, 0, tzinfo=UTC)
    assert first.categories == ("cat0",)
    assert Path(first.link).name == "0"
