"""The Jekyll source: fields, exclusions, incremental stamps, problems, Liquid, site config."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syndicator.config import SiteSettings, SourceSettings
from syndicator.errors import ConfigError
from syndicator.model import Author
from syndicator.sources import Collection
from syndicator.sources.jekyll import JekyllSource, read_site_config

SITE = SiteSettings(
    title="AI 뉴스",
    url="https://blog.example.com",
    language="ko",
    timezone=ZoneInfo("Asia/Seoul"),
    author="AI 뉴스 편집부",
)
BARE = SiteSettings()  # nothing set: every site value comes from _config.yml


@pytest.fixture
def example(repo_root: Path, tmp_path: Path) -> Path:
    """A private copy of examples/site, free to edit."""
    root = tmp_path / "site"
    shutil.copytree(repo_root / "examples" / "site", root)
    return root


def collect(
    root: Path, now: datetime, known: dict[str, str] | None = None, site: SiteSettings = SITE
) -> Collection:
    source = JekyllSource(SourceSettings(name="blog", type="jekyll", path=root), site)
    return source.collect(known or {}, {}, now)


def by_origin(collection: Collection) -> dict[str, object]:
    return {post.origin: post for post in collection.changed}


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_example_posts_have_every_field(example: Path, fixed_now: datetime) -> None:
    collection = collect(example, fixed_now)
    posts = {post.origin: post for post in collection.changed}
    agents = posts["_posts/2026-01-05-agent-frameworks.md"]
    assert agents.tags == ("에이전트", "AIAgents", "LLM", "오픈소스", "DeveloperTools")
    assert agents.categories == ("News",)
    assert agents.image == "https://blog.example.com/images/news/2026-01-05-agents/teaser.png"
    assert agents.authors == (Author("AI 뉴스 편집부", "editor@example.com"),)
    assert agents.language == "ko"
    assert agents.source == "blog"
    assert agents.excerpt is not None and agents.excerpt.startswith("새해 첫 주")
    assert "{: .notice--info}" in agents.body and agents.body_format == "markdown"

    roundup = posts["_posts/2026-01-07-open-weights-roundup.md"]
    assert roundup.excerpt is not None and roundup.excerpt.endswith("or licence terms.")
    assert (
        roundup.image == "https://blog.example.com/images/news/2026-01-07-open-weights/header.png"
    )
    assert roundup.language == "en"

    korean = posts["_posts/2026-01-09-한국어-모델-소식.md"]
    assert korean.published == datetime(2026, 1, 9, 8, 30, tzinfo=ZoneInfo("Asia/Seoul"))
    assert korean.updated == datetime(2026, 1, 11, 12, 0, tzinfo=UTC)

    gpu = posts["_posts/2026-01-12-gpu-supply.md"]
    assert gpu.categories == ("Hardware",) and gpu.tags == ("GPU", "Supply", "Datacenter")
    assert gpu.authors == (Author("Jane Park"),)
    assert 'src="https://blog.example.com/images/news/2026-01-12-gpu/racks.png"' in gpu.body
    assert "filed under **Hardware**" in gpu.body
    assert "`{{ site.title }}`" in gpu.body  # {% raw %} kept as written

    digest = posts["_posts/2026-01-14-weekly-digest.html"]
    assert digest.body_format == "html"

    policy = posts["_posts/2026-01-16-ai-policy.md"]
    assert policy.url == "https://blog.example.com/policy/2026/ai-basic-act/"
    assert policy.image == "https://cdn.example.com/teasers/policy.png"
    assert policy.authors == (Author("김정책", "policy@example.com"),)


@pytest.mark.parametrize(
    ("future", "expected"),
    [
        pytest.param(False, 6, id="future-posts-left-out"),
        pytest.param(True, 7, id="future-true-includes-2099"),
    ],
)
def test_drafts_unpublished_and_future(
    example: Path, fixed_now: datetime, future: bool, expected: int
) -> None:
    if future:
        config = example / "_config.yml"
        config.write_text(config.read_text(encoding="utf-8") + "future: true\n", encoding="utf-8")
    collection = collect(example, fixed_now)
    origins = {post.origin for post in collection.changed}
    assert len(origins) == expected
    assert not any("_drafts" in o or "unpublished" in o for o in origins)
    assert ("_posts/2099-01-01-future-post.md" in origins) is future
    assert ("_posts/2099-01-01-future-post.md" in collection.stamps) is future


def test_unchanged_files_are_not_read(example: Path, fixed_now: datetime) -> None:
    first = collect(example, fixed_now)
    assert set(first.origins) == set(first.stamps) and len(first.stamps) == 6
    second = collect(example, fixed_now, dict(first.stamps))
    assert second.changed == () and second.unchanged == frozenset(first.stamps)
    assert second.stamps == first.stamps

    edited = example / "_posts" / "2026-01-12-gpu-supply.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")
    third = collect(example, fixed_now, dict(first.stamps))
    assert [p.origin for p in third.changed] == ["_posts/2026-01-12-gpu-supply.md"]
    assert len(third.unchanged) == 5

    config = example / "_config.yml"
    config.write_text(config.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    fourth = collect(example, fixed_now, dict(third.stamps))
    assert len(fourth.changed) == 6  # the config is part of every stamp


def test_unpublished_file_is_remembered_in_state(example: Path, fixed_now: datetime) -> None:
    source = JekyllSource(SourceSettings(name="blog", type="jekyll", path=example), SITE)
    first = source.collect({}, {}, fixed_now)
    assert list(first.state["skipped"]) == ["_posts/2026-01-10-unpublished-notes.md"]
    os.remove(example / "_posts" / "2026-01-05-agent-frameworks.md")
    second = source.collect(dict(first.stamps), first.state, fixed_now)
    assert second.changed == () and len(second.unchanged) == 5
    assert second.state == first.state


@pytest.mark.parametrize(
    ("name", "content", "reason", "line"),
    [
        pytest.param("bad-yaml", "---\ntitle: ok\ntags: [a, b\n---\nx\n", "invalid YAML", 4,
                     id="bad-yaml-with-line"),
        pytest.param("bad-date", "---\ntitle: t\ndate: last tuesday\n---\nx\n", "invalid date", 3,
                     id="bad-date-with-line"),
        pytest.param("not-a-map", "---\n- a\n- b\n---\nx\n", "not a mapping", 2,
                     id="front-matter-list"),
        pytest.param("permalink", "---\npermalink: /:bogus/\n---\nx\n", ":bogus", None,
                     id="unknown-placeholder"),
    ],
)  # fmt: skip
def test_a_bad_post_is_a_problem_and_the_rest_come_out(
    example: Path, fixed_now: datetime, name: str, content: str, reason: str, line: int | None
) -> None:
    write(example, f"_posts/2026-01-02-{name}.md", content)
    collection = collect(example, fixed_now)
    assert len(collection.changed) == 6
    (problem,) = collection.problems
    assert reason in problem.reason
    assert problem.origin.endswith(f"_posts/2026-01-02-{name}.md")
    assert problem.line == line
    assert f"_posts/2026-01-02-{name}.md" not in collection.stamps


def test_non_utf8_file_is_a_problem(example: Path, fixed_now: datetime) -> None:
    (example / "_posts" / "2026-01-02-latin1.md").write_bytes(b"---\ntitle: caf\xe9\n---\n")
    (problem,) = collect(example, fixed_now).problems
    assert "UTF-8" in problem.reason


def test_category_folders_and_nested_posts(tmp_path: Path, fixed_now: datetime) -> None:
    write(tmp_path, "_config.yml", "url: https://x.example\npermalink: pretty\n")
    write(tmp_path, "ai/ml/_posts/2026-01-03-deep.md", "---\ncategories: Extra\n---\nx\n")
    write(tmp_path, "_posts/2026/01/2026-01-04-nested.md", "---\ntags:\n  - [a, [b, c]]\n---\n")
    write(tmp_path, "_posts/_hidden/2026-01-04-skip.md", "---\n---\n")
    write(tmp_path, "_posts/notes.md", "---\n---\nno date in the name\n")
    write(tmp_path, "node_modules/_posts/2026-01-04-dep.md", "---\n---\n")
    posts = {p.origin: p for p in collect(tmp_path, fixed_now, site=BARE).changed}
    assert sorted(posts) == [
        "_posts/2026/01/2026-01-04-nested.md",
        "ai/ml/_posts/2026-01-03-deep.md",
    ]
    deep = posts["ai/ml/_posts/2026-01-03-deep.md"]
    assert deep.categories == ("ai", "ml", "Extra")
    assert deep.url == "https://x.example/ai/ml/extra/2026/01/03/deep/"
    assert deep.title == "Deep"
    assert posts["_posts/2026/01/2026-01-04-nested.md"].tags == ("a", "b", "c")


def test_liquid_tags(tmp_path: Path, fixed_now: datetime, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path, "_config.yml", "url: https://x.example\nbaseurl: /b\ntitle: Site\n")
    write(tmp_path, "_posts/2026-01-03-first.md", "---\ntitle: First\n---\nfirst\n")
    body = (
        "---\ntitle: Second\n---\n"
        "{{ page.title | upcase }} on {{ site.title }}\n"
        "{% include video.html id=1 %}\n"
        "[first]({% post_url 2026-01-03-first %})\n"
        "{% highlight ruby %}\nputs 1\n{% endhighlight %}\n"
        "{% raw %}{% include kept.html %}{% endraw %}\n"
    )
    write(tmp_path, "_posts/2026-01-04-second.md", body)
    with caplog.at_level(logging.WARNING, logger="syndicator.sources.jekyll_liquid"):
        posts = {p.title: p for p in collect(tmp_path, fixed_now, site=BARE).changed}
    second = posts["Second"].body
    assert second.startswith("SECOND on Site\n\n[first](/b/2026/01/03/first.html)\n")
    assert "```ruby\nputs 1\n```" in second
    assert "{% include kept.html %}" in second
    (record,) = caplog.records
    assert "2026-01-04-second.md" in record.getMessage() and "line=5" in record.getMessage()
    assert "tag=include" in record.getMessage()


def test_liquid_error_keeps_the_body(tmp_path: Path, fixed_now: datetime) -> None:
    write(tmp_path, "_config.yml", "url: https://x.example\n")
    write(tmp_path, "_posts/2026-01-03-broken.md", "---\n---\n{% if %}oops\n")
    (post,) = collect(tmp_path, fixed_now).changed
    assert post.body == "{% if %}oops\n"


def test_read_site_config(example: Path, tmp_path: Path) -> None:
    assert read_site_config(example) == {
        "title": "AI 뉴스",
        "url": "https://blog.example.com",
        "description": "AI 업계의 흐름을 한국어와 영어로 짚어 보는 블로그",
        "timezone": "Asia/Seoul",
        "language": "ko",
        "author": "AI 뉴스 편집부",
    }
    assert read_site_config(tmp_path / "missing") == {}
    write(tmp_path, "_config.yml", "title: [unclosed\n")
    with pytest.raises(ConfigError, match=r"_config\.yml"):
        read_site_config(tmp_path)
