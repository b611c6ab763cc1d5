"""Remote HTML is made safe before it reaches our feeds or any email."""

from __future__ import annotations

import html
from urllib.parse import urljoin

import pytest

from syndicator.markup.sanitize import sanitize_html

BASE = "https://blog.example.org/2025/01/post/"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("<p>Hi<script>alert(1)</script></p>", "<p>Hi</p>", id="script-dropped"),
        pytest.param("<style>p{}</style><p>x</p>", "<p>x</p>", id="style-dropped"),
        pytest.param('<p onclick="x()">a</p>', "<p>a</p>", id="event-handler"),
        pytest.param('<iframe src="https://e.example/"></iframe>b', "b", id="iframe"),
        pytest.param(
            '<a href="javascript:alert(1)">j</a>',
            '<a rel="noopener noreferrer">j</a>',
            id="javascript-url",
        ),
        pytest.param(
            '<a href="/about">a</a>',
            '<a href="https://blog.example.org/about" rel="noopener noreferrer">a</a>',
            id="root-relative-link",
        ),
        pytest.param(
            '<img src="pic.png" alt="p">',
            '<img src="https://blog.example.org/2025/01/post/pic.png" alt="p">',
            id="relative-image",
        ),
        pytest.param(
            '<img src="https://t.example/o.gif" width="1" height="1">', "", id="tracking-pixel"
        ),
        pytest.param('<img src="https://feeds.feedburner.com/~r/x/~4/y">', "", id="tracker-host"),
        pytest.param(
            '<img src="data:image/png;base64,iVBORw0KGgo=" alt="">',
            '<img src="data:image/png;base64,iVBORw0KGgo=" alt="">',
            id="data-png-kept",
        ),
        pytest.param('<img src="data:image/svg+xml;base64,PHN2Zz4=">', "", id="data-svg-dropped"),
        pytest.param(
            '<a href="DATA:text/html,x">d</a>',
            '<a  rel="noopener noreferrer">d</a>',
            id="data-link-dropped",
        ),
        pytest.param('<img src="HTTPS://Pixel.WP.com/g.gif?x=1">', "", id="tracker-host-upper"),
        pytest.param(
            '<img src="https://cdn.example/a.png?via=stats.wordpress.com" alt="">',
            '<img src="https://cdn.example/a.png?via=stats.wordpress.com" alt="">',
            id="tracker-name-in-query-kept",
        ),
        pytest.param(
            '<a title="t" href="DaTa:text/html,x">d</a><q cite="../up">q</q>',
            '<a title="t"  rel="noopener noreferrer">d</a>'
            '<q cite="https://blog.example.org/2025/01/up">q</q>',
            id="data-any-case-dropped-cite-resolved",
        ),
        pytest.param(
            '<a href="https://x.example/?a=1&amp;b=2">q</a>',
            '<a href="https://x.example/?a=1&amp;b=2" rel="noopener noreferrer">q</a>',
            id="query-kept",
        ),
        pytest.param(
            "<p>한글 <strong>굵게</strong></p>",
            "<p>한글 <strong>굵게</strong></p>",
            id="korean-text",
        ),
        pytest.param(
            '<a href="mailto:me@example.org">m</a>',
            '<a href="mailto:me@example.org" rel="noopener noreferrer">m</a>',
            id="mailto",
        ),
    ],
)
def test_sanitize(html: str, expected: str) -> None:
    assert sanitize_html(html, BASE) == expected


def test_relative_urls_stay_relative_without_an_absolute_base() -> None:
    assert 'href="x/"' in sanitize_html('<a href="x/">x</a>', "")


def test_empty() -> None:
    assert sanitize_html("", BASE) == ""


@pytest.mark.parametrize(
    "base",
    [
        pytest.param("https://h.example/x/y", id="path-base"),
        pytest.param("https://h.example", id="bare-origin"),
        pytest.param("http://u:p@h.example:8080/p/?q=1#f", id="userinfo-port-query"),
    ],
)
@pytest.mark.parametrize(
    "href",
    [
        pytest.param("/a/b/", id="root-relative"),
        pytest.param("/a?x=1&amp;y=2#f", id="root-relative-query"),
        pytest.param("/a/../b", id="dot-dot"),
        pytest.param("/./c", id="dot"),
        pytest.param("rel/x", id="relative"),
        pytest.param("../up", id="parent"),
        pytest.param("?q", id="query-only"),
        pytest.param("/ü/한글", id="non-ascii"),
    ],
)
def test_fast_url_resolution_matches_urljoin(base: str, href: str) -> None:
    """The root-relative shortcut and the cache give what urljoin would."""
    expected = html.escape(urljoin(base, html.unescape(href)), quote=True)
    out = sanitize_html(f'<a href="{href}">l</a><a href="{href}">again</a>', base)
    assert out.count(f'href="{expected}"') == 2, out
