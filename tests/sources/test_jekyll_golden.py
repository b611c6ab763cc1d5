"""Our ids, links, titles and dates equal what the real jekyll-feed emits for examples/site."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syndicator.config import SiteSettings, SourceSettings
from syndicator.sources.jekyll import JekyllSource, read_site_config
from tests.conftest import UPDATE_GOLDEN
from tests.sources.jekyll_build import build_feed, feed_entries, jekyll_available

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "jekyll" / "jekyll-feed-example.xml"


def _site_settings(root: Path) -> SiteSettings:
    fallback = read_site_config(root)
    return SiteSettings(
        title=fallback.get("title", ""),
        url=fallback["url"],
        baseurl=fallback.get("baseurl", ""),
        language=fallback.get("language", "en"),
        timezone=ZoneInfo(fallback.get("timezone", "UTC")),
        author=fallback.get("author", ""),
    )


def test_example_site_matches_jekyll_feed(
    repo_root: Path, fixed_now: datetime, tmp_path: Path
) -> None:
    site_root = repo_root / "examples" / "site"
    if UPDATE_GOLDEN:
        if not jekyll_available():
            pytest.fail(
                "SYNDICATOR_UPDATE_GOLDEN=1 needs `jekyll`: apt-get install jekyll ruby-jekyll-feed"
            )
        GOLDEN.write_text(build_feed(site_root, tmp_path), encoding="utf-8")
    expected = feed_entries(GOLDEN.read_text(encoding="utf-8"))
    source = JekyllSource(
        SourceSettings(name="blog", type="jekyll", path=site_root), _site_settings(site_root)
    )
    collection = source.collect({}, {}, fixed_now)
    assert collection.problems == ()
    ours = {
        post.id: (post.url, post.title, post.published.isoformat()) for post in collection.changed
    }
    assert ours == expected
    assert len(ours) == 6  # no draft, no published: false, no 2099 post
