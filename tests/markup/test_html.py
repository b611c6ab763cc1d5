"""absolutize, first_paragraph_text, html_to_text and truncate_text."""

from __future__ import annotations

import pytest

from syndicator.markup.html import absolutize, first_paragraph_text, html_to_text, truncate_text

BASE = "https://blog.example.com/news/2026/01/05/weekly/"


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        pytest.param(
            '<img src="/images/a.png" />',
            '<img src="https://blog.example.com/images/a.png" />',
            id="site-relative-img",
        ),
        pytest.param('<img src="a.png">', f'<img src="{BASE}a.png">', id="page-relative-img"),
        pytest.param(
            '<a href="../x/?a=1&amp;b=2">x</a>',
            '<a href="https://blog.example.com/news/2026/01/05/x/?a=1&amp;b=2">x</a>',
            id="href-with-entity",
        ),
        pytest.param(
            '<img srcset="/s.png 1x, b.png 2x">',
            f'<img srcset="https://blog.example.com/s.png 1x, {BASE}b.png 2x">',
            id="srcset",
        ),
        pytest.param(
            '<video poster="/p.jpg" src="v.mp4"></video>',
            f'<video poster="https://blog.example.com/p.jpg" src="{BASE}v.mp4"></video>',
            id="video",
        ),
        pytest.param(
            "<source src='/a.webm'>",
            '<source src="https://blog.example.com/a.webm">',
            id="single-quoted",
        ),
        pytest.param(
            '<a href="#fn:1">1</a><a href="mailto:a@b.c">m</a><img src="data:image/png;base64,AA">',
            '<a href="#fn:1">1</a><a href="mailto:a@b.c">m</a><img src="data:image/png;base64,AA">',
            id="fragment-mailto-data-untouched",
        ),
        pytest.param(
            '<a href="https://other.example/x">o</a><p>src="/not/a/tag"</p>',
            '<a href="https://other.example/x">o</a><p>src="/not/a/tag"</p>',
            id="absolute-and-text",
        ),
    ],
)
def test_absolutize(fragment: str, expected: str) -> None:
    assert absolutize(fragment, BASE) == expected


def test_first_paragraph_skips_figure_caption() -> None:
    fragment = (
        '<div style="text-align:center"><img src="/a.png" />'
        '<p style="font-size: smaller;"><em>이미지 출처: 예시</em></p></div>\n'
        "<p><img src='/b.png'></p>\n<p>첫 <strong>문단</strong>&amp; 내용입니다.</p>\n<p>둘째</p>"
    )
    assert first_paragraph_text(fragment) == "첫 문단& 내용입니다."


def test_html_to_text() -> None:
    fragment = (
        "<h2>제목</h2><p>a&nbsp;b\n  c<br/>d</p><script>x()</script><!-- c --><ul><li>e</li></ul>"
    )
    assert html_to_text(fragment) == "제목 a b c d e"  # no-break space collapses too


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        pytest.param("short", 10, "short", id="fits"),
        pytest.param("one two three four", 12, "one two…", id="word-boundary"),
        pytest.param("가나다라마바사아자차카타파하", 6, "가나다라마…", id="korean-without-spaces"),
        pytest.param(
            "앞부분 가나다라마바사아자차카타파하",
            12,
            "앞부분 가나다라마바사…",
            id="korean-long-run",
        ),
    ],
)
def test_truncate_text(text: str, limit: int, expected: str) -> None:
    result = truncate_text(text, limit)
    assert result == expected
    assert len(result) <= limit
