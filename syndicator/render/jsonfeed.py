"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), written by hand: it is a plain JSON object.

Keys keep a fixed order and dates are RFC 3339 in the site's zone, so bytes are deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from syndicator.config import FeedsSettings, SiteSettings
from syndicator.model import Entry
from syndicator.render import feeddata as data
from syndicator.render.feedplan import FeedPlan, absolute_url, feed_url, site_home

__all__ = ["VERSION", "forget_json_items", "render_json_feed"]

VERSION = "https://jsonfeed.org/version/1.1"


def render_json_feed(
    plan: FeedPlan, entries: Sequence[Entry], site: SiteSettings, feeds: FeedsSettings
) -> bytes:
    """The feed as UTF-8 JSON; ``entries`` are already the plan's, newest first."""
    document: dict[str, Any] = {
        "version": VERSION,
        "title": plan.title,
        "home_page_url": site_home(site),
        "feed_url": feed_url(plan, "json", site),
    }
    if site.description:
        document["description"] = site.description
    if site.icon:
        document["icon"] = absolute_url(site, site.icon)
    if site.author or site.title:
        document["authors"] = [{"name": site.author or site.title}]
    document["language"] = site.language
    if feeds.hub:
        document["hubs"] = [{"type": "WebSub", "url": feeds.hub}]
    head = json.dumps(document, ensure_ascii=False, indent=2)
    # "items" comes last: spliced in as json.dumps(..., indent=2) would write it, from each
    # item's text (serialized once per post, though a post is in ~5 feeds).
    if entries:
        items = ",\n    ".join(_item_text(entry, site, feeds) for entry in entries)
        tail = f',\n  "items": [\n    {items}\n  ]\n}}'
    else:
        tail = ',\n  "items": []\n}'
    return (head.removesuffix("\n}") + tail + "\n").encode("utf-8")


# id(entry) -> (entry, site, feeds, the item's JSON at the depth of a feed's item); the entry
# is held, so its id is not reused while cached. Cleared when large (a long-lived server).
_texts: dict[int, tuple[Entry, SiteSettings, FeedsSettings, str]] = {}
_TEXTS_MAX = 512


def forget_json_items() -> None:
    """Drop the item texts kept for reuse."""
    _texts.clear()


def _item_text(entry: Entry, site: SiteSettings, feeds: FeedsSettings) -> str:
    cached = _texts.get(id(entry))
    if cached is not None and cached[0] is entry and cached[1] == site and cached[2] == feeds:
        return cached[3]
    if len(_texts) >= _TEXTS_MAX:
        _texts.clear()
    text = json.dumps(_item(entry, site, feeds), ensure_ascii=False, indent=2)
    text = text.replace("\n", "\n    ")  # JSON strings hold no raw newline: only layout moves
    _texts[id(entry)] = (entry, site, feeds, text)
    return text


def _item(entry: Entry, site: SiteSettings, feeds: FeedsSettings) -> dict[str, Any]:
    post = entry.post
    zone = site.timezone
    item: dict[str, Any] = {"id": post.id, "url": post.url, "title": post.title}
    if feeds.full_content:
        item["content_html"] = entry.content_html
    else:  # an item needs content_html or content_text
        item["content_text"] = entry.summary_text
    if entry.summary_text:
        item["summary"] = entry.summary_text
    image = data.image_url(post, site)
    if image:
        item["image"] = image
    item["date_published"] = data.local_time(post.published, zone).isoformat()
    item["date_modified"] = data.local_time(data.entry_updated(post), zone).isoformat()
    authors = [_author(a.name, a.url) for a in post.authors if a.name]
    if authors:
        item["authors"] = authors
    tags = data.terms(post)
    if tags:
        item["tags"] = tags
    if post.language and post.language != site.language:
        item["language"] = post.language
    return item


def _author(name: str, url: str | None) -> dict[str, str]:
    # JSON Feed authors have name, url and avatar; an email address is not published.
    return {"name": name, "url": url} if url else {"name": name}
