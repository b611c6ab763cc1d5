"""render_markdown against goldens made by the real kramdown (tests/markup/kramdown_golden.rb)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from syndicator.markup import render_markdown
from tests.markup.html_compare import html_shape

DATA = Path(__file__).resolve().parent.parent / "data" / "markdown"
CASES = sorted(path.stem for path in DATA.glob("*.md") if path.stem != "README")


@pytest.fixture(scope="module", autouse=True)
def kramdown_goldens() -> None:
    """SYNDICATOR_UPDATE_GOLDEN=1 regenerates the goldens with the real kramdown."""
    if os.environ.get("SYNDICATOR_UPDATE_GOLDEN") == "1":
        ruby = shutil.which("ruby")
        assert ruby, "regenerating kramdown goldens needs ruby-kramdown-parser-gfm"
        script = Path(__file__).with_name("kramdown_golden.rb")
        subprocess.run(
            [ruby, str(script), *(str(DATA / f"{name}.md") for name in CASES)], check=True
        )


@pytest.mark.parametrize("case", [pytest.param(name, id=name) for name in CASES])
def test_matches_kramdown(case: str) -> None:
    source = (DATA / f"{case}.md").read_text(encoding="utf-8")
    expected = (DATA / f"{case}.kramdown.html").read_text(encoding="utf-8")
    assert html_shape(render_markdown(source)) == html_shape(expected)


@pytest.mark.parametrize(
    "case", [pytest.param("korean-news-post", id="seed-like-post"), "korean-bold-before-particle"]
)
def test_bold_count_equals_kramdown(case: str) -> None:
    source = (DATA / f"{case}.md").read_text(encoding="utf-8")
    expected = (DATA / f"{case}.kramdown.html").read_text(encoding="utf-8")
    html = render_markdown(source)
    assert html.count("<strong>") == expected.count("<strong>") > 5
    outside_code = html.split("<code>")[0] if case == "korean-bold-before-particle" else html
    assert "**" not in outside_code


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "**앤스로픽(Anthropic)**입니다",
            "<strong>앤스로픽(Anthropic)</strong>입니다",
            id="closing-after-paren",
        ),
        pytest.param("**“다음?”**보다", "<strong>“다음?”</strong>보다", id="closing-after-quote"),
        pytest.param(
            "**‘Gemini’라는 이름**", "<strong>‘Gemini’라는 이름</strong>", id="opening-before-quote"
        ),
        pytest.param("**왜?**를", "<strong>왜?</strong>를", id="closing-after-question"),
    ],
)
def test_korean_bold_before_particle(source: str, expected: str) -> None:
    assert render_markdown(source) == f"<p>{expected}</p>\n"


@pytest.mark.parametrize(
    "source",
    [
        pytest.param('```\n**(a)**가 "q" -- ...\n```\n', id="fenced"),
        pytest.param("    **(a)**가 'q'\n", id="indented"),
        pytest.param("`**(a)**가`\n", id="code-span"),
    ],
)
def test_code_is_never_changed(source: str) -> None:
    html = render_markdown(source)
    body = source.strip("`\n ").replace('"', "&quot;")
    assert body in html
    assert "\u2e3a" not in html


def test_sentinel_in_source_is_kept() -> None:
    source = "a \u2e3a b **(x)**가"
    html = render_markdown(source)
    assert "\u2e3a" in html and "<strong>(x)</strong>가" in html
