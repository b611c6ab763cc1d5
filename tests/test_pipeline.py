"""publish_feeds: only feeds whose inputs changed are rendered; damaged files are repaired."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from syndicator.cli import main
from tests.test_cli import make_project, snapshot

NEW_POST = "---\ntitle: New chip\ncategories: [Hardware]\ntags: [GPU]\n---\n\nA **new** chip.\n"


def _rendered(caplog: pytest.LogCaptureFixture) -> int:
    found = [re.search(r"rendered=(\d+)", r.getMessage()) for r in caplog.records]
    counts = [int(m.group(1)) for m in found if m]
    assert len(counts) == 1
    return counts[0]


def _feeds(config: Path, caplog: pytest.LogCaptureFixture) -> int:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="syndicator.pipeline"):
        assert main(["feeds", "-q", "--config", str(config)]) == 0
    return _rendered(caplog)


def test_a_new_post_renders_only_the_feeds_it_is_in(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_project(tmp_path)
    public = tmp_path / "public"
    total = _feeds(config, caplog)
    assert total == len(snapshot(public)) > 9
    (tmp_path / "site" / "_posts" / "2026-01-18-new-chip.md").write_text(NEW_POST, "utf-8")
    # main, Hardware and GPU feeds, three formats each; every other feed is not even rendered
    assert _feeds(config, caplog) == 9


def test_a_damaged_feed_file_is_rewritten_on_the_next_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_project(tmp_path)
    _feeds(config, caplog)
    news = tmp_path / "public" / "feed" / "News.xml"
    good = news.read_bytes()
    news.write_bytes(good[:100])
    (tmp_path / "site" / "_posts" / "2026-01-18-new-chip.md").write_text(NEW_POST, "utf-8")
    assert _feeds(config, caplog) == 10  # the nine of the new post, and the damaged one
    assert news.read_bytes() == good


def test_a_site_title_from_config_yml_reaches_every_feed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_project(tmp_path)
    total = _feeds(config, caplog)
    site_config = tmp_path / "site" / "_config.yml"
    text = site_config.read_text("utf-8")
    site_config.write_text(text.replace('title: "AI 뉴스"', 'title: "AI 소식"'), "utf-8")
    assert _feeds(config, caplog) == total
    assert "<title>AI 소식</title>" in (tmp_path / "public" / "feed.xml").read_text("utf-8")
