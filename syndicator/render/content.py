"""Post -> Entry: the post's HTML as Jekyll renders it, with absolute URLs and a summary."""

from __future__ import annotations

import html

from syndicator.markup.html import absolutize, first_paragraph_text, html_to_text, truncate_text
from syndicator.model import BodyFormat, Entry, Post

__all__ = ["RENDERER_VERSION", "SUMMARY_LIMIT", "render_entry"]

# Part of the render cache key: bump whenever render_entry's output changes for the same post.
RENDERER_VERSION = "1"
SUMMARY_LIMIT = 300


def _to_html(text: str, body_format: BodyFormat) -> str:
    if body_format != "markdown":
        return text
    from syndicator.markup.markdown import render_markdown  # lxml and the parser: on first use

    return render_markdown(text)


def render_entry(post: Post) -> Entry:
    """Render a post's body and summary; every URL in the result is absolute."""
    content_html = absolutize(_to_html(post.body, post.body_format), post.url)
    if post.excerpt and post.excerpt.strip():
        summary_html = absolutize(_to_html(post.excerpt, post.body_format), post.url).strip()
        summary_text = truncate_text(html_to_text(summary_html), SUMMARY_LIMIT)
    else:
        summary_text = truncate_text(first_paragraph_text(content_html), SUMMARY_LIMIT)
        summary_html = f"<p>{html.escape(summary_text, quote=False)}</p>" if summary_text else ""
    return Entry(
        post=post,
        content_html=content_html,
        summary_html=summary_html,
        summary_text=summary_text,
    )
