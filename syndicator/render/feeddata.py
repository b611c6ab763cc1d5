"""What every feed format says the same way: entry order, dates in site time, terms, images."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from posixpath import splitext
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from syndicator.config import SiteSettings
from syndicator.errors import RenderError
from syndicator.model import Entry, Post
from syndicator.render.feedplan import FeedPlan, absolute_url

__all__ = [
    "EMPTY_FEED_UPDATED",
    "GENERATOR",
    "author_names",
    "entry_updated",
    "feed_updated",
    "image_type",
    "image_url",
    "local_time",
    "select_entries",
    "summary_html",
    "terms",
]

# An empty feed has no newest entry; its `updated` is this fixed instant, never the build time,
# so its bytes (and ETag) stay the same from one run to the next.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)
# No version in the generator: an upgrade must not change every feed's bytes and ETag.
GENERATOR = "syndicator"

# A fixed table, not `mimetypes`, whose answers differ between machines.
_IMAGE_TYPES = {
    ".avif": "image/avif",
    ".gif": "image/gif",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}


def select_entries(plan: FeedPlan, entries: Sequence[Entry]) -> list[Entry]:
    """The plan's entries in the plan's order; entries of other posts are ignored."""
    by_id = {entry.post.id: entry for entry in entries}
    missing = [post_id for post_id in plan.post_ids if post_id not in by_id]
    if missing:
        raise RenderError(f"feed {plan.stem}: no rendered entry for post {missing[0]}")
    return [by_id[post_id] for post_id in plan.post_ids]


def local_time(value: datetime, zone: ZoneInfo) -> datetime:
    """The instant in the site's zone, whole seconds (as jekyll-feed writes dates)."""
    return value.astimezone(zone).replace(microsecond=0)


def entry_updated(post: Post) -> datetime:
    """Never earlier than ``published``: readers treat that as a broken date."""
    return max(post.updated, post.published)


def feed_updated(entries: Sequence[Entry]) -> datetime:
    """The newest entry's ``updated`` (jekyll-feed issue #90: not the build time)."""
    if not entries:
        return EMPTY_FEED_UPDATED
    return max(entry_updated(entry.post) for entry in entries)


def terms(post: Post) -> list[str]:
    """Categories then tags, each once, in the author's order."""
    return [t for t in dict.fromkeys((*post.categories, *post.tags)) if t.strip()]


def author_names(post: Post, site: SiteSettings) -> list[str]:
    """The post's authors, else the site's author."""
    names = [author.name for author in post.authors if author.name]
    return names or ([site.author] if site.author else [])


def image_url(post: Post, site: SiteSettings) -> str | None:
    return absolute_url(site, post.image) if post.image else None


def image_type(url: str) -> str | None:
    """The image's media type from its extension, or None when unknown."""
    return _IMAGE_TYPES.get(splitext(urlsplit(url).path)[1].lower())


def summary_html(entry: Entry) -> str:
    """The summary as HTML: the rendered one, else the plain text escaped."""
    return entry.summary_html or html.escape(entry.summary_text, quote=False)
