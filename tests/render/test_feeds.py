"""Rendered feeds: parse cleanly, pass offline validator rules and the schema, match goldens."""

from __future__ import annotations

import dataclasses
import json
import random
import time
from calendar import timegm
from datetime import datetime
from pathlib import Path

import feedparser
import jsonschema  # type: ignore[import-untyped]
import pytest

from syndicator.config import FeedsSettings, SiteSettings
from syndicator.errors import RenderError
from syndicator.model import Entry
from syndicator.render.feedplan import FeedPlan, feed_paths, feed_url, plan_feeds
from syndicator.render.feeds import render_feed
from tests.conftest import ROOT, check_golden
from tests.render.feed_checks import check_atom, check_rss
from tests.render.feed_samples import BASE, FEEDS, SITE, entry, post, sample_entries

SCHEMA = json.loads((ROOT / "tests/data/feeds/jsonfeed-1.1.schema.json").read_text("utf-8"))
GOLDEN = ROOT / "tests/golden/feeds"
FORMATS = ("atom", "rss", "json")


def _plans(
    entries: list[Entry], site: SiteSettings = SITE, feeds: FeedsSettings = FEEDS
) -> list[FeedPlan]:
    return plan_feeds([e.post for e in entries], site, feeds)


def _validate(
    plan: FeedPlan, body: bytes, fmt: str, site: SiteSettings = SITE, feeds: FeedsSettings = FEEDS
) -> None:
    """Every rule we can check offline, for one rendered file."""
    url = feed_url(plan, fmt, site)
    by_id = {e.post.id: e.post for e in sample_entries()}
    if fmt == "json":  # feedparser 6 does not read JSON Feed: the schema and these checks do
        document = json.loads(body)
        jsonschema.validate(document, SCHEMA)
        assert document["feed_url"] == url
        assert [item["id"] for item in document["items"]] == list(plan.post_ids)
        for item in document["items"]:
            post = by_id[item["id"]]
            assert item["url"] == post.url
            assert datetime.fromisoformat(item["date_published"]) == post.published
            assert ("content_html" in item) == feeds.full_content
        return
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if fmt == "atom" else "rss20")
    assert [e.id for e in parsed.entries] == list(plan.post_ids)
    for parsed_entry in parsed.entries:
        post = by_id[parsed_entry.id]
        assert parsed_entry.link == post.url
        assert timegm(parsed_entry.published_parsed) == int(post.published.timestamp())
    if fmt == "atom":
        assert check_atom(body, url) == []
    else:
        assert check_rss(body, url) == []


def _every_feed() -> list[object]:
    plans = _plans(sample_entries())
    return [
        pytest.param(plan, fmt, id=f"{path}")
        for plan in plans
        for fmt, path in feed_paths(plan, FORMATS).items()
    ]


@pytest.mark.parametrize(("plan", "fmt"), _every_feed())
def test_every_sample_feed_is_valid(plan: FeedPlan, fmt: str) -> None:
    _validate(plan, render_feed(plan, sample_entries(), fmt, SITE, FEEDS), fmt)


GOLDEN_FILES = [
    "feed.xml",
    "rss.xml",
    "feed.json",
    "feed/by_tag/xn--2q1bm7vs1dr1t.xml",  # 산업동향
    "feed/by_tag/xn--2q1bm7vs1dr1t.rss.xml",
    "feed/by_tag/xn--2q1bm7vs1dr1t.json",
    "feed/News.xml",
]


@pytest.mark.parametrize("path", [pytest.param(p, id=p) for p in GOLDEN_FILES])
def test_golden(path: str) -> None:
    entries = sample_entries()
    rendered = {
        file: (plan, fmt)
        for plan in _plans(entries)
        for fmt, file in feed_paths(plan, FORMATS).items()
    }
    plan, fmt = rendered[path]
    check_golden(GOLDEN / path, render_feed(plan, entries, fmt, SITE, FEEDS).decode("utf-8"))


def test_output_is_the_same_whatever_the_input_order() -> None:
    entries = sample_entries()
    shuffled = entries[:]
    random.Random(7).shuffle(shuffled)
    first = {
        (plan.stem, fmt): render_feed(plan, entries, fmt, SITE, FEEDS)
        for plan in _plans(entries)
        for fmt in FORMATS
    }
    again = {
        (plan.stem, fmt): render_feed(plan, shuffled, fmt, SITE, FEEDS)
        for plan in _plans(shuffled)
        for fmt in FORMATS
    }
    assert first == again


def test_feed_updated_is_the_newest_entry_not_the_build_time() -> None:
    entries = sample_entries()
    main = _plans(entries)[0]
    atom = feedparser.parse(render_feed(main, entries, "atom", SITE, FEEDS))
    rss = feedparser.parse(render_feed(main, entries, "rss", SITE, FEEDS))
    newest = max(e.post.updated for e in entries)  # market-shift, edited a day later
    assert timegm(atom.feed.updated_parsed) == int(newest.timestamp())
    assert rss.feed.updated == "Tue, 16 Dec 2025 09:00:00 +0900"


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f) for f in FORMATS])
def test_empty_feed_uses_the_fixed_epoch(fmt: str) -> None:
    plan = FeedPlan("feed", "Empty", "main", "", ())
    body = render_feed(plan, [], fmt, SITE, FEEDS)
    assert render_feed(plan, [], fmt, SITE, FEEDS) == body
    if fmt == "atom":
        assert b"<updated>1970-01-01T09:00:00+09:00</updated>" in body
        assert check_atom(body, feed_url(plan, fmt, SITE)) == []
    elif fmt == "rss":
        assert b"<lastBuildDate>Thu, 01 Jan 1970 09:00:00 +0900</lastBuildDate>" in body
        assert check_rss(body, feed_url(plan, fmt, SITE)) == []
    else:
        document = json.loads(body)
        jsonschema.validate(document, SCHEMA)
        assert document["items"] == []
        return
    assert feedparser.parse(body).bozo == 0


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f) for f in FORMATS])
def test_summaries_only(fmt: str) -> None:
    feeds = dataclasses.replace(FEEDS, full_content=False)
    entries = sample_entries()
    plan = _plans(entries, feeds=feeds)[0]
    body = render_feed(plan, entries, fmt, SITE, feeds)
    _validate(plan, body, fmt, feeds=feeds)
    assert "경쟁 구도가 빠르게".encode() not in body  # the full text is left out
    assert "경쟁 구도의 변화".encode() in body
    if fmt == "json":
        assert json.loads(body)["items"][0]["content_text"] == "경쟁 구도의 변화"


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f) for f in FORMATS])
def test_hub_is_advertised_only_when_set(fmt: str) -> None:
    entries = sample_entries()
    plan = _plans(entries)[0]
    with_hub = render_feed(plan, entries, fmt, SITE, FEEDS)
    without = render_feed(plan, entries, fmt, SITE, dataclasses.replace(FEEDS, hub=""))
    assert b"https://hub.example.net/" in with_hub
    assert b"hub.example.net" not in without
    if fmt == "atom":
        assert b'<link href="https://hub.example.net/" rel="hub"/>' in with_hub
    elif fmt == "rss":
        assert b'<atom:link href="https://hub.example.net/" rel="hub"/>' in with_hub


def test_atom_marks_an_entry_in_another_language() -> None:
    entries = sample_entries()
    plan = _plans(entries)[0]
    body = render_feed(plan, entries, "atom", SITE, FEEDS).decode()
    assert body.count('xml:lang="en"') == 1
    assert '<entry xml:lang="en">\n    <id>https://blog.example.com/news/2025/12/12/weekly' in body
    assert '<feed xmlns:media="http://search.yahoo.com/mrss/"' in body
    assert 'xml:lang="ko">' in body


def test_rss_guid_is_a_permalink_only_when_the_id_is_the_url() -> None:
    tagged = post("tagged", day=3, title="Tagged")
    tagged = dataclasses.replace(tagged, id="tag:blog.example.com,2025:tagged")
    entries = [entry(tagged, "text", "sum"), *sample_entries()]
    plan = _plans(entries)[0]
    body = render_feed(plan, entries, "rss", SITE, FEEDS).decode()
    assert '<guid isPermaLink="false">tag:blog.example.com,2025:tagged</guid>' in body
    assert body.count('isPermaLink="true"') == 4
    assert check_rss(body.encode(), feed_url(plan, "rss", SITE)) == []
    atom = render_feed(plan, entries, "atom", SITE, FEEDS)
    assert check_atom(atom, feed_url(plan, "atom", SITE)) == []


def test_baseurl_and_relative_image_become_absolute() -> None:
    site = dataclasses.replace(SITE, baseurl="/blog")
    entries = sample_entries()
    plan = next(p for p in _plans(entries, site) if p.name == "LLM")
    atom = render_feed(plan, entries, "atom", site, FEEDS)
    assert check_atom(atom, f"{BASE}/blog/feed/by_tag/LLM.xml") == []
    assert b'url="https://blog.example.com/blog/images/2025-12-15/cover.png"' in atom
    document = json.loads(render_feed(plan, entries, "json", site, FEEDS))
    assert document["home_page_url"] == f"{BASE}/blog/"
    assert document["feed_url"] == f"{BASE}/blog/feed/by_tag/LLM.json"


def test_rss_dates_are_in_the_site_zone() -> None:
    site = dataclasses.replace(SITE, timezone=__import__("zoneinfo").ZoneInfo("UTC"))
    entries = sample_entries()
    plan = _plans(entries, site)[0]
    body = render_feed(plan, entries, "rss", site, FEEDS)
    assert b"<pubDate>Mon, 15 Dec 2025 00:00:00 +0000</pubDate>" in body
    assert b"<pubDate>Sun, 30 Nov 2025 15:00:00 +0000</pubDate>" in body  # 1 Dec 00:00 Seoul


def test_a_missing_entry_is_an_error() -> None:
    entries = sample_entries()
    plan = _plans(entries)[0]
    with pytest.raises(RenderError, match="no rendered entry"):
        render_feed(plan, entries[1:], "atom", SITE, FEEDS)


def test_an_unknown_format_is_an_error() -> None:
    entries = sample_entries()
    with pytest.raises(RenderError, match="unknown feed format"):
        render_feed(_plans(entries)[0], entries, "rdf", SITE, FEEDS)


def test_checker_catches_relative_urls_and_a_wrong_self_link() -> None:
    """The offline validator must fail on what it claims to check."""
    bad = entry(sample_entries()[0].post, 'see <a href="/about/">about</a>', "x")
    bad = dataclasses.replace(bad, content_html='<img src="images/a.png"> <a href="/x">x</a>')
    plan = _plans([bad])[0]
    atom = render_feed(plan, [bad], "atom", SITE, FEEDS)
    problems = check_atom(atom, "https://elsewhere.example/feed.xml")
    assert any("self link" in p for p in problems)
    assert any("'images/a.png'" in p for p in problems)
    assert any("'/x'" in p for p in problems)
    rss = render_feed(plan, [bad], "rss", SITE, FEEDS)
    assert any("relative URL '/x'" in p for p in check_rss(rss, feed_url(plan, "rss", SITE)))


def test_render_time_for_a_large_site() -> None:
    """~50 feeds x 3 formats x 20 entries of ~17 KB: the brief's budget is 0.5 s in total."""
    paragraph = "<p>" + "가나다라마바사 ABC abc 0123 " * 24 + "</p>\n"
    body = paragraph * 20  # about 17 KB of UTF-8
    posts = [
        post(
            f"p{i}",
            day=1 + i % 28,
            hour=i % 24,
            title=f"글 {i}",
            categories=(f"cat{i % 8}",),
            tags=(f"tag{i % 41}", "공통"),
            image="/images/x.jpg",
        )
        for i in range(200)
    ]
    entries = [Entry(p, body, "<p>요약</p>", "요약") for p in posts]
    plans = plan_feeds(posts, SITE, FEEDS)
    assert 45 <= len(plans) <= 55
    started, cpu = time.perf_counter(), time.process_time()
    total = 0
    for plan in plans:
        for fmt in FORMATS:
            total += len(render_feed(plan, entries, fmt, SITE, FEEDS))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"rendered {len(plans) * 3} files, {total / 1e6:.1f} MB: {elapsed:.3f} s, cpu {cpu:.3f} s"
    )
    assert cpu < 2.0  # CPU time, not wall: a busy CI machine must not fail this; ~0.25 s idle


def test_deterministic_across_processes(tmp_path: Path) -> None:
    """Hash randomization (set/dict order of str) must not change a byte."""
    import subprocess
    import sys

    script = (
        "import hashlib;"
        "from tests.render.feed_samples import sample_entries, SITE, FEEDS;"
        "from syndicator.render.feedplan import plan_feeds;"
        "from syndicator.render.feeds import render_feed;"
        "es = sample_entries(); h = hashlib.sha256();"
        "[h.update(render_feed(p, es, f, SITE, FEEDS)) "
        " for p in plan_feeds([e.post for e in es], SITE, FEEDS) for f in ('atom','rss','json')];"
        "print(h.hexdigest())"
    )
    digests = set()
    for seed in ("1", "2"):
        run = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(run.stdout.strip())
    assert len(digests) == 1


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f) for f in ("atom", "rss")])
def test_characters_xml_forbids_are_dropped_not_fatal(fmt: str) -> None:
    broken = post("ctrl", day=20, title="Bad\x0bTitle", tags=("t\x00ag",))
    entries = [entry(broken, "form\x0cfeed", "sum\x1fmary"), *sample_entries()]
    plan = _plans(entries)[0]
    body = render_feed(plan, entries, fmt, SITE, FEEDS)
    assert feedparser.parse(body).bozo == 0
    assert b"BadTitle" in body and b"formfeed" in body and b"summary" in body
    assert b"\x0b" not in body and b"\x0c" not in body and b"\x00" not in body
