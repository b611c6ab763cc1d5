"""A post's feed entry is built once and reused by every feed carrying it: same bytes as fresh."""

from __future__ import annotations

import dataclasses
import json

import pytest

from syndicator.config import FeedsSettings
from syndicator.render import feeds as feeds_module
from syndicator.render import jsonfeed
from syndicator.render.feeddata import select_entries
from syndicator.render.feedplan import FeedPlan, plan_feeds
from syndicator.render.feeds import render_feed
from tests.render.feed_samples import FEEDS, SITE, sample_entries

FORMATS = [pytest.param(f, id=f) for f in ("atom", "rss", "json")]


def _fresh() -> None:
    feeds_module._built.clear()
    jsonfeed._texts.clear()


@pytest.mark.parametrize("fmt", FORMATS)
def test_reused_entries_give_the_bytes_of_fresh_ones(fmt: str) -> None:
    entries = sample_entries()
    plans = plan_feeds([e.post for e in entries], SITE, FEEDS)
    assert len(plans) > 3
    fresh = {}
    for plan in plans:  # each feed from an empty cache
        _fresh()
        fresh[plan.stem] = render_feed(plan, entries, fmt, SITE, FEEDS)
    _fresh()
    warm = {plan.stem: render_feed(plan, entries, fmt, SITE, FEEDS) for plan in plans}
    again = {plan.stem: render_feed(plan, entries, fmt, SITE, FEEDS) for plan in plans}
    assert warm == fresh
    assert again == fresh


@pytest.mark.parametrize("fmt", FORMATS)
def test_changed_settings_are_not_served_from_the_cache(fmt: str) -> None:
    entries = sample_entries()
    plan = plan_feeds([e.post for e in entries], SITE, FEEDS)[0]
    _fresh()
    full = render_feed(plan, entries, fmt, SITE, FEEDS)
    summaries: FeedsSettings = dataclasses.replace(FEEDS, full_content=False)
    short = render_feed(plan, entries, fmt, SITE, summaries)
    _fresh()
    assert short == render_feed(plan, entries, fmt, SITE, summaries)
    assert short != full
    other_site = dataclasses.replace(SITE, url="https://other.example.org")
    moved = render_feed(plan, entries, fmt, other_site, FEEDS)
    assert b"https://other.example.org" in moved and moved != full


@pytest.mark.parametrize(
    "count", [pytest.param(0, id="empty"), pytest.param(1, id="one"), pytest.param(5, id="five")]
)
def test_json_feed_is_laid_out_as_json_dumps_would(count: int) -> None:
    entries = sample_entries()[:count]
    plan = FeedPlan("feed", "제목", "main", "", tuple(e.post.id for e in entries))
    _fresh()
    body = render_feed(
        plan, entries, "json", SITE, dataclasses.replace(FEEDS, hub="https://hub.example")
    )
    text = body.decode("utf-8")
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"
    assert len(json.loads(text)["items"]) == len(select_entries(plan, entries))
