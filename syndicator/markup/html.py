"""HTML post-processing for feeds and emails: absolute URLs, summaries and plain text."""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin

__all__ = ["absolutize", "first_paragraph_text", "html_to_text", "truncate_text"]

_URL_TAG_RE = re.compile(r"<(?:img|a|video|audio|source)\b[^>]*>", re.I)
_URL_ATTR_RE = re.compile(r"""(\s(?:src|href|poster|srcset)\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.I)
_KEEP_PREFIXES = ("#", "mailto:", "data:", "tel:", "javascript:")
_PARAGRAPH_RE = re.compile(r"<p>(.*?)</p>|<p\s[^>]*>(.*?)</p>", re.S | re.I)
_DROP_RE = re.compile(r"<(script|style|template)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_BLOCK_TAG_RE = re.compile(
    r"<(?:/?(?:p|div|li|ul|ol|h[1-6]|tr|table|blockquote|pre)\b[^>]*|br\s*/?)>"
)
_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")
_ELLIPSIS = "\u2026"


def _absolute(value: str, base_url: str) -> str:
    stripped = value.strip()
    if not stripped or stripped.lower().startswith(_KEEP_PREFIXES):
        return value
    return urljoin(base_url, html.unescape(stripped)).replace("&", "&amp;").replace('"', "&quot;")


def _absolute_srcset(value: str, base_url: str) -> str:
    candidates = []
    for candidate in value.split(","):
        parts = candidate.strip().split(None, 1)
        if not parts:
            continue
        parts[0] = _absolute(parts[0], base_url)
        candidates.append(" ".join(parts))
    return ", ".join(candidates)


def absolutize(fragment: str, base_url: str) -> str:
    """Make every URL in img/srcset, a href, video/audio/source src and poster absolute."""

    def attribute(match: re.Match[str]) -> str:
        prefix, value = match.group(1), match.group(2)
        if value is None:
            value = match.group(3)
        if prefix.strip().lower().startswith("srcset"):
            return f'{prefix}"{_absolute_srcset(value, base_url)}"'
        return f'{prefix}"{_absolute(value, base_url)}"'

    def tag(match: re.Match[str]) -> str:
        return _URL_ATTR_RE.sub(attribute, match.group(0))

    return _URL_TAG_RE.sub(tag, fragment)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: no tags, entities decoded, whitespace collapsed."""
    if "<" in fragment:
        fragment = _DROP_RE.sub(" ", fragment)
        fragment = _BLOCK_TAG_RE.sub(" ", fragment)
        fragment = _TAG_RE.sub("", fragment)
    return _SPACE_RE.sub(" ", html.unescape(fragment)).strip()


def first_paragraph_text(fragment: str) -> str:
    """Text of the first paragraph that has any; Markdown paragraphs (no attributes) first."""
    fallback = ""
    for match in _PARAGRAPH_RE.finditer(fragment):
        plain, styled = match.group(1), match.group(2)
        text = html_to_text(plain if plain is not None else styled)
        if not text:
            continue
        if plain is not None:
            return text
        fallback = fallback or text
    return fallback


def truncate_text(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, at a word boundary when one is near."""
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= 1:
        return _ELLIPSIS[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Korean runs can go long without a space: only back off to one in the last 30%.
    if space >= int((limit - 1) * 0.7):
        cut = cut[:space]
    return cut.rstrip(" ,.;:!?·、，。") + _ELLIPSIS
