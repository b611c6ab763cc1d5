"""Parsed feed entries to Posts: identity, stable dates, sanitized HTML."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html import escape
from urllib.parse import urljoin, urlsplit

from syndicator.errors import SourceError
from syndicator.markup.sanitize import sanitize_html
from syndicator.model import Author, Post
from syndicator.sources.feedparse import ParsedEntry, ParsedFeed, is_plain_url, join_url

__all__ = ["MappedFeed", "entry_origin", "map_entries"]

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_SPACE = re.compile(r"\s")  # str.isspace() characters, as sre's Unicode \s is defined
# Every entry of a feed joins the same feed URL and link: remember the answers.
_urljoin = functools.lru_cache(maxsize=4096)(urljoin)


@dataclass(frozen=True, slots=True)
class MappedFeed:
    posts: dict[str, Post]  # origin -> post, in feed order
    first_seen: dict[str, str]  # origin -> ISO time, for entries without a date
    problems: tuple[SourceError, ...]


def entry_origin(entry: ParsedEntry) -> str:
    """The entry's key within its feed: guid/id, else link, else a hash of its content."""
    if entry.key.strip():
        return entry.key.strip()
    if entry.link.strip():
        return entry.link.strip()
    digest = hashlib.sha256(
        "\x00".join((entry.title, entry.content_html, entry.summary_html)).encode("utf-8")
    ).hexdigest()
    return f"sha256:{digest[:32]}"


def _is_absolute_uri(value: str) -> bool:
    if is_plain_url(value):
        return True  # the usual http(s) guid, with a host
    if not _SCHEME.match(value) or _SPACE.search(value):
        return False
    parts = urlsplit(value)
    return bool(parts.netloc) if parts.scheme in ("http", "https") else bool(parts.path)


def _post_id(feed_url: str, origin: str) -> str:
    """The entry's id if it is an absolute URI, else a stable URN from the feed URL and origin."""
    if _is_absolute_uri(origin):
        return origin
    digest = hashlib.sha256(f"{feed_url}\n{origin}".encode()).hexdigest()
    return f"urn:syndicator:feed-entry:{digest[:40]}"


def _enclosures_html(entry: ParsedEntry, base: str) -> str:
    parts = []
    for url, kind, length in entry.enclosures:
        if kind.startswith("image/") and url == entry.image:
            continue
        label = url.rsplit("/", 1)[-1] or url
        detail = ", ".join(p for p in (kind, f"{length} bytes" if length.isdigit() else "") if p)
        absolute = urljoin(base, url)
        text = f"{label} ({detail})" if detail else label
        parts.append(f'<p class="enclosure"><a href="{escape(absolute)}">{escape(text)}</a></p>')
    return "".join(parts)


def _title(entry: ParsedEntry, body_html: str) -> str:
    if entry.title:
        return entry.title
    text = " ".join(re.sub(r"<[^>]+>", " ", body_html).split())
    return text[:77] + "…" if len(text) > 80 else text


def map_entries(
    parsed: ParsedFeed,
    *,
    source: str,
    feed_url: str,
    first_seen: Mapping[str, str],
    now: datetime,
) -> MappedFeed:
    """Build one Post per distinct entry; later duplicates of an origin are reported, not kept."""
    posts: dict[str, Post] = {}
    seen_now: dict[str, str] = {}
    problems: list[SourceError] = []
    for entry in parsed.entries:
        origin = entry_origin(entry)
        if origin in posts:
            problems.append(
                SourceError(f"duplicate entry id {origin!r}: later copy ignored", origin=feed_url)
            )
            continue
        published = entry.published or entry.updated
        if published is None:
            remembered = first_seen.get(origin)
            published = datetime.fromisoformat(remembered) if remembered else now
            seen_now[origin] = published.isoformat()
        updated = max(entry.updated or published, published)
        base = join_url(_urljoin(feed_url, parsed.link), entry.base or parsed.link)
        link = join_url(base, entry.link) if entry.link else ""
        raw_body = entry.content_html or entry.summary_html
        body = sanitize_html(raw_body + _enclosures_html(entry, base), base)
        excerpt = None
        if entry.content_html and entry.summary_html:
            summary = sanitize_html(entry.summary_html, base)
            excerpt = summary if summary and summary != body else None
        post_id = _post_id(feed_url, origin)
        url = link or (origin if origin.startswith(("http://", "https://")) else parsed.link)
        posts[origin] = Post(
            id=post_id,
            url=url,
            title=_title(entry, body),
            published=published,
            updated=updated,
            source=source,
            body=body,
            body_format="html",
            excerpt=excerpt,
            authors=tuple(Author(name, email, url) for name, email, url in entry.authors),
            categories=entry.categories,
            tags=entry.tags,
            image=urljoin(base, entry.image) if entry.image else None,
            language=entry.language,
            origin=feed_url,
        )
    return MappedFeed(posts, seen_now, tuple(problems))
