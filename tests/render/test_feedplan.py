"""Which feeds exist, which posts they hold, and their jekyll-feed file paths."""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest

from syndicator.errors import RenderError
from syndicator.render.feedplan import (
    FeedPlan,
    feed_paths,
    feed_url,
    file_name_for,
    plan_feeds,
    sort_newest_first,
)
from tests.render.feed_samples import BASE, FEEDS, SITE, post, sample_entries

SHIFT = f"{BASE}/news/2025/12/15/market-shift.html"
BRIEF = f"{BASE}/news/2025/12/12/weekly-briefing.html"
TOOLS = f"{BASE}/news/2025/12/12/tool-roundup.html"
HELLO = f"{BASE}/news/2025/12/01/hello.html"


def test_plan_for_the_sample_site() -> None:
    plans = plan_feeds([e.post for e in sample_entries()], SITE, FEEDS)
    summary = [(p.kind, p.name, p.stem, p.title, p.post_ids) for p in plans]
    assert summary == [
        ("main", "", "feed", "AI 소식", (SHIFT, TOOLS, BRIEF, HELLO)),
        ("category", "News", "feed/News", "AI 소식 | News", (SHIFT, BRIEF)),
        ("category", "Tools", "feed/Tools", "AI 소식 | Tools", (TOOLS,)),
        ("category", "공지", "feed/xn--ob0b195c", "AI 소식 | 공지", (HELLO,)),
        ("tag", "AI 뉴스", "feed/by_tag/xn--AI--r02mq16d", "AI 소식 | AI 뉴스", (TOOLS,)),
        ("tag", "Agents", "feed/by_tag/Agents", "AI 소식 | Agents", (BRIEF,)),
        ("tag", "LLM", "feed/by_tag/LLM", "AI 소식 | LLM", (SHIFT, BRIEF)),
        ("tag", "산업동향", "feed/by_tag/xn--2q1bm7vs1dr1t", "AI 소식 | 산업동향", (SHIFT, TOOLS)),
    ]


def test_plans_are_frozen() -> None:
    plan = plan_feeds([], SITE, FEEDS)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.title = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("categories", "tags", "kinds"),
    [
        pytest.param(False, False, {"main"}, id="main-only"),
        pytest.param(True, False, {"main", "category"}, id="categories-only"),
        pytest.param(False, True, {"main", "tag"}, id="tags-only"),
    ],
)
def test_topic_feeds_can_be_turned_off(categories: bool, tags: bool, kinds: set[str]) -> None:
    feeds = dataclasses.replace(FEEDS, categories=categories, tags=tags)
    plans = plan_feeds([e.post for e in sample_entries()], SITE, feeds)
    assert {p.kind for p in plans} == kinds


def test_limit_keeps_the_newest() -> None:
    posts = [post(f"p{day}", day=day, title=str(day), tags=("LLM",)) for day in range(1, 11)]
    feeds = dataclasses.replace(FEEDS, limit=3)
    for plan in plan_feeds(posts, SITE, feeds):
        assert [pid.rsplit("/", 1)[1] for pid in plan.post_ids] == [
            "p10.html",
            "p9.html",
            "p8.html",
        ]


def test_same_instant_is_ordered_by_id_whatever_the_input_order() -> None:
    posts = [post(slug, day=5, title=slug) for slug in ("c", "a", "b")]
    newer = post("z", day=6, title="z")
    expected = ["z", "a", "b", "c"]
    for order in ([*posts, newer], [newer, *reversed(posts)]):
        assert [p.title for p in sort_newest_first(order)] == expected


def test_duplicate_ids_appear_once() -> None:
    first = post("dup", day=5, title="first")
    again = dataclasses.replace(first, title="again", tags=("LLM",))
    plans = plan_feeds([first, again], SITE, FEEDS)
    assert plans[0].post_ids == (first.id,)


def test_nfd_and_nfc_spellings_are_one_tag() -> None:
    nfc = post("a", day=3, title="a", tags=("뉴스",))
    nfd = post("b", day=4, title="b", tags=(unicodedata.normalize("NFD", "뉴스"),))
    tag_plans = [p for p in plan_feeds([nfc, nfd], SITE, FEEDS) if p.kind == "tag"]
    assert [(p.name, len(p.post_ids)) for p in tag_plans] == [("뉴스", 2)]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(["LLM", "AI_news", "gpt-5"], ["LLM", "AI_news", "gpt-5"], id="safe-kept"),
        pytest.param(["산업동향"], ["xn--2q1bm7vs1dr1t"], id="korean-punycode"),
        pytest.param(["AI뉴스"], ["xn--AI-4t5iw84c"], id="mixed-ascii-korean"),
        pytest.param(["Machine Learning"], ["Machine-Learning"], id="space-to-dash"),
        pytest.param(["C++ / Rust!"], ["C-Rust"], id="punctuation-runs"),
        pytest.param(["v1.2"], ["v1-2"], id="dot-never-kept"),
        pytest.param(["AI 뉴스"], ["xn--AI--r02mq16d"], id="korean-with-space"),
    ],
)
def test_file_names(names: list[str], expected: list[str]) -> None:
    mapping = file_name_for(names)
    assert [mapping[n] for n in names] == expected


def test_punycode_names_decode_to_the_tag() -> None:
    for name in ("산업동향", "AI뉴스", "日本語"):
        stem = file_name_for([name])[name]
        assert stem.startswith("xn--")
        assert stem.removeprefix("xn--").encode("ascii").decode("punycode") == name


def test_every_file_name_is_url_safe_and_short() -> None:
    names = ["가" * 300, "!!!", "  ", "a/b", "..", "x" * 40 + "한", "emoji 🚀", "tab\tname"]
    mapping = file_name_for(names)
    for name, stem in mapping.items():
        assert stem.isascii() and len(stem) <= 100, name
        assert all(c.isalnum() or c in "-_" for c in stem), (name, stem)
    assert len(set(mapping.values())) == len(names)


def test_collisions_get_a_suffix_that_does_not_depend_on_other_names() -> None:
    alone = file_name_for(["a b", "a.b"])
    crowd = file_name_for(["a.b", "a b", "a,b", "a-b"])
    assert alone == {"a b": "a-b", "a.b": "a-b-2e7336dc"}
    # The verbatim name owns its file; the others are suffixed by their own hash.
    assert crowd["a-b"] == "a-b"
    assert crowd["a.b"] == alone["a.b"]
    assert crowd["a b"].startswith("a-b-") and crowd["a,b"].startswith("a-b-")
    assert len(set(crowd.values())) == 4


def test_a_verbatim_xn_name_keeps_its_file() -> None:
    mapping = file_name_for(["xn--2q1bm7vs1dr1t", "산업동향"])
    assert mapping["xn--2q1bm7vs1dr1t"] == "xn--2q1bm7vs1dr1t"
    assert mapping["산업동향"].startswith("xn--2q1bm7vs1dr1t-")


def _plan(kind: str, stem: str) -> FeedPlan:
    return FeedPlan(stem=stem, title="t", kind=kind, name="n", post_ids=())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "stem", "expected"),
    [
        pytest.param("main", "feed", ["feed.xml", "rss.xml", "feed.json"], id="main"),
        pytest.param(
            "category",
            "feed/News",
            ["feed/News.xml", "feed/News.rss.xml", "feed/News.json"],
            id="category",
        ),
        pytest.param(
            "tag",
            "feed/by_tag/LLM",
            ["feed/by_tag/LLM.xml", "feed/by_tag/LLM.rss.xml", "feed/by_tag/LLM.json"],
            id="tag",
        ),
    ],
)
def test_feed_paths(kind: str, stem: str, expected: list[str]) -> None:
    paths = feed_paths(_plan(kind, stem), ["atom", "rss", "json"])
    assert list(paths.values()) == expected
    assert feed_paths(_plan(kind, stem), ["rss"]) == {"rss": expected[1]}


def test_feed_paths_rejects_unknown_formats() -> None:
    with pytest.raises(RenderError, match="unknown feed format 'rdf'"):
        feed_paths(_plan("main", "feed"), ["rdf"])


def test_feed_url_uses_url_and_baseurl() -> None:
    site = dataclasses.replace(SITE, baseurl="/blog")
    assert feed_url(_plan("tag", "feed/by_tag/LLM"), "json", site) == (
        f"{BASE}/blog/feed/by_tag/LLM.json"
    )
    assert feed_url(_plan("main", "feed"), "rss", SITE) == f"{BASE}/rss.xml"
