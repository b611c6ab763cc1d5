"""render_entry: Post -> Entry with kramdown-like HTML, absolute URLs and a summary."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from syndicator.model import Post
from syndicator.render.content import RENDERER_VERSION, SUMMARY_LIMIT, render_entry

DATA = Path(__file__).resolve().parent.parent / "data" / "markdown"
URL = "https://blog.example.com/news/2026/01/05/weekly/"


def _post(body: str, body_format: str = "markdown", excerpt: str | None = None) -> Post:
    when = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    return Post(
        id=URL,
        url=URL,
        title="주간 소식",
        published=when,
        updated=when,
        source="blog",
        body=body,
        body_format=body_format,
        excerpt=excerpt,  # type: ignore[arg-type]
    )


def test_markdown_post() -> None:
    body = (DATA / "korean-news-post.md").read_text(encoding="utf-8")
    entry = render_entry(_post(body))
    assert (
        'src="https://blog.example.com/images/news/2026-01-05-weekly/benchmark.png"'
        in entry.content_html
    )
    assert 'src="/images' not in entry.content_html
    assert "**" not in entry.content_html
    assert entry.summary_text.startswith("안녕하세요! 주말마다 AI 소식을")
    assert len(entry.summary_text) <= SUMMARY_LIMIT
    assert entry.summary_html == f"<p>{entry.summary_text}</p>"
    assert RENDERER_VERSION


def test_html_post_with_excerpt() -> None:
    entry = render_entry(
        _post(
            '<p>본문 <img src="pic.png"></p>',
            "html",
            excerpt='<p>요약 <a href="/x">링크</a> &amp; 끝</p>',
        )
    )
    assert entry.content_html == f'<p>본문 <img src="{URL}pic.png"></p>'
    assert (
        entry.summary_html == '<p>요약 <a href="https://blog.example.com/x">링크</a> &amp; 끝</p>'
    )
    assert entry.summary_text == "요약 링크 & 끝"


def test_markdown_excerpt_is_rendered() -> None:
    entry = render_entry(_post("본문입니다.", excerpt="**요약(Summary)**입니다 <b>&</b>"))
    assert entry.summary_html == "<p><strong>요약(Summary)</strong>입니다 <b>&amp;</b></p>"
    assert entry.summary_text == "요약(Summary)입니다 &"


def test_summary_escapes_text() -> None:
    entry = render_entry(_post('a &lt;b&gt; "c"\n'))
    assert entry.summary_text == "a <b> “c”"
    assert entry.summary_html == "<p>a &lt;b&gt; “c”</p>"


def test_speed_on_17kb_korean_post() -> None:
    """render_entry on a ~17 KB Korean post stays within a few ms (target: 1 ms median)."""
    names = ["korean-news-post"] * 3 + ["korean-bold-before-particle", "figure-html-block"]
    body = "\n\n".join((DATA / f"{name}.md").read_text(encoding="utf-8") for name in names)
    assert 16_000 <= len(body.encode()) <= 18_500
    post = _post(body)
    render_entry(post)
    times = []
    for _ in range(30):
        start = time.perf_counter()
        render_entry(post)
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.010
