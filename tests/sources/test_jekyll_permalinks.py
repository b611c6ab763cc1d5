"""Permalink styles and id derivation, checked against values recorded from real Jekyll 4.3."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syndicator.config import SiteSettings, SourceSettings
from syndicator.errors import SourceError
from syndicator.sources.jekyll import JekyllSource
from syndicator.sources.jekyll_permalinks import absolute_url, post_id, slugify, titleize_slug
from tests.conftest import UPDATE_GOLDEN
from tests.sources.jekyll_build import build_feed, feed_entries, jekyll_available

RECORDED = Path(__file__).resolve().parent.parent / "data" / "jekyll" / "permalink-styles.json"
NOW = datetime(2026, 2, 1, tzinfo=UTC)

# relative path -> front matter lines: each one exercises a rule of Jekyll's URL building
POSTS = {
    "_posts/2026-01-05-hello-world.md": "categories: AI News",
    "_posts/2026-01-06-한글-제목.md": "categories: [News]\ndate: 2026-01-06 10:00:00",
    "_posts/sub/2026-01-07-third.md": "date: 2026-01-07 10:00:00 +0900",
    "ai/_posts/2026-01-08-cat-dir.md": "categories: [Extra]",
    "_posts/2026-01-09-five.md": "date: 2026-01-09\nslug: Custom Slug",
    "_posts/2026-01-10-six.md": "date: 2026-01-10 10:00",
    "_posts/2026-01-11-Mixed_Case.File.md": "title: Mixed",
    "_posts/2026-01-12-eight.md": "categories: [뉴스, Deep Learning]\ncategory: Extra",
    "_posts/2026-01-13-nine.md": "date: 2026-01-13T23:30:00Z",
    "_posts/2026-01-14-ten.md": "date: 2026-01-14 10:00:00 -05:00",
    "_posts/2026-01-15-eleven.html": "title: Eleven",
    "_posts/2026-01-16-own-permalink.md": "permalink: /custom/:year/:title.html",
    "_posts/2026-01-17-pretty-chars.md": "title: Chars\nslug: C'est (la) vie!",
    "_posts/2025-12-31-new-year's-eve.md": "categories: [Year End]\ntitle: Year End",
}

STYLES = [
    pytest.param("date", id="date"),
    pytest.param("pretty", id="pretty"),
    pytest.param("ordinal", id="ordinal"),
    pytest.param("weekdate", id="weekdate"),
    pytest.param("none", id="none"),
    pytest.param("/:categories/:title/", id="categories-title-slash"),
    pytest.param("/:year/:i_month/:i_day/:short_year/:hour:minute:second/:slug/", id="numbers"),
    pytest.param("/:y_day/:path/:name:output_ext", id="path-name"),
    pytest.param("/:short_month-:long_month/:week/:w_year/:w_day/:long_day/:title", id="calendar"),
    pytest.param("/:slugified_categories/:month_:day/:title", id="slugified-underscore"),
]


def make_site(root: Path, permalink: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text(
        "title: Probe\nurl: https://ex.com\nbaseurl: /blog\ntimezone: Asia/Seoul\n"
        f"permalink: {json.dumps(permalink)}\n",
        encoding="utf-8",
    )
    for relative, front in POSTS.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\n{front}\n---\nbody\n", encoding="utf-8")


def _collect(root: Path) -> dict[str, tuple[str, str, str]]:
    site = SiteSettings(url="https://ex.com", baseurl="/blog", timezone=ZoneInfo("Asia/Seoul"))
    source = JekyllSource(SourceSettings(name="probe", type="jekyll", path=root), site)
    collection = source.collect({}, {}, NOW)
    assert collection.problems == ()
    return {p.id: (p.url, p.title, p.published.isoformat()) for p in collection.changed}


def _recorded() -> dict[str, dict[str, list[str]]]:
    if not RECORDED.exists():
        return {}
    data: dict[str, dict[str, list[str]]] = json.loads(RECORDED.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("permalink", STYLES)
def test_permalink_style_matches_jekyll(permalink: str, tmp_path: Path) -> None:
    root = tmp_path / "site"
    make_site(root, permalink)
    recorded = _recorded()
    if UPDATE_GOLDEN:
        if not jekyll_available():
            pytest.fail("SYNDICATOR_UPDATE_GOLDEN=1 needs `jekyll` installed")
        entries = feed_entries(build_feed(root, tmp_path))
        recorded[permalink] = {k: list(v) for k, v in sorted(entries.items())}
        RECORDED.write_text(
            json.dumps(recorded, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
            encoding="utf-8",
        )
    expected = {k: tuple(v) for k, v in recorded[permalink].items()}
    assert _collect(root) == expected


@pytest.mark.parametrize(
    ("text", "pretty", "cased", "expected"),
    [
        pytest.param("Hello, World!", False, False, "hello-world", id="default-punctuation"),
        pytest.param("C'est (la) vie!", True, True, "C'est-(la)-vie!", id="pretty-keeps-subdelims"),
        pytest.param("한글 제목", False, False, "한글-제목", id="hangul-kept"),
        pytest.param("snake_case.md", False, False, "snake-case-md", id="default-underscore"),
        pytest.param("--a--", False, False, "a", id="runs-then-hyphens-trimmed"),
    ],
)
def test_slugify_like_jekyll(text: str, pretty: bool, cased: bool, expected: str) -> None:
    assert slugify(text, pretty=pretty, cased=cased) == expected


def test_titleize_slug_capitalizes_each_word() -> None:
    assert titleize_slug("my-FIRST-post") == "My First Post"


@pytest.mark.parametrize(
    ("url", "slug", "expected"),
    [
        pytest.param("/news/my-post/", "my-post", "/news/my-post", id="pretty-trailing-slash"),
        pytest.param("/2026/01/05/a.html", "a", "/2026/01/05/a", id="date-html"),
        pytest.param("/a.html", "a", "/a", id="top-level"),
        pytest.param("/x/Custom-Slug.html", "Custom Slug", "/x/Custom Slug", id="raw-slug"),
    ],
)
def test_post_id_is_dirname_plus_slug(url: str, slug: str, expected: str) -> None:
    assert post_id(url, slug) == expected


def test_absolute_url_normalizes_like_addressable() -> None:
    got = absolute_url("https://EX.com:443", "/blog/", "/뉴스/a b/%7euser/./x/../y")
    assert got == "https://ex.com/blog/%EB%89%B4%EC%8A%A4/a%20b/~user/y"


def test_unknown_placeholder_is_a_problem_naming_the_file(tmp_path: Path) -> None:
    make_site(tmp_path, "/:categories/:nonsense/:title/")
    site = SiteSettings(url="https://ex.com", timezone=ZoneInfo("UTC"))
    collection = JekyllSource(SourceSettings("p", "jekyll", tmp_path), site).collect({}, {}, NOW)
    # every post but the one with its own front matter permalink
    assert [p.origin for p in collection.changed] == ["_posts/2026-01-16-own-permalink.md"]
    assert len(collection.problems) == len(POSTS) - 1
    problem = collection.problems[0]
    assert isinstance(problem, SourceError)
    assert ":nonsense" in problem.reason
    assert problem.origin.endswith(".md") or problem.origin.endswith(".html")
