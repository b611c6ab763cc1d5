"""Atom 1.0 and RSS 2.0 through feedgen (the only module that imports it); JSON via jsonfeed.

Output is deterministic: the same plan and entries give the same bytes, so ETags stay stable.
No build time appears anywhere; an empty feed's ``updated`` is 1970-01-01T00:00:00Z
(``feeddata.EMPTY_FEED_UPDATED``) shown in the site's zone.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from syndicator.config import FeedsSettings, SiteSettings
from syndicator.errors import RenderError
from syndicator.model import Entry
from syndicator.render import feeddata as data
from syndicator.render.feedplan import MEDIA_TYPES, FeedPlan, absolute_url, feed_url, site_home
from syndicator.render.jsonfeed import forget_json_items, render_json_feed

__all__ = ["forget_entries", "render_feed"]

log = logging.getLogger(__name__)

_ATOM_NS = "http://www.w3.org/2005/Atom"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Characters XML 1.0 forbids (lxml refuses them): one stray control character in one post
# must not stop every feed from being written.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@lru_cache(maxsize=256)
def _content_not_xml(content_html: str) -> bool:
    """Whether a post's HTML has characters XML forbids; asked once per post, not per feed."""
    return _NOT_XML.search(content_html) is not None


def render_feed(
    plan: FeedPlan,
    entries: Sequence[Entry],
    fmt: str,
    site: SiteSettings,
    feeds: FeedsSettings,
) -> bytes:
    """One feed file's bytes in ``fmt`` (atom, rss or json) for the plan's posts."""
    chosen = data.select_entries(plan, entries)
    if fmt == "json":
        return render_json_feed(plan, chosen, site, feeds)
    if fmt not in ("atom", "rss"):
        raise RenderError(f"unknown feed format {fmt!r} (known: atom, rss, json)")
    chosen = [_xml_safe(entry) for entry in chosen]
    plan = dataclasses.replace(plan, title=_NOT_XML.sub("", plan.title))
    site = dataclasses.replace(
        site,
        title=_NOT_XML.sub("", site.title),
        description=_NOT_XML.sub("", site.description),
        author=_NOT_XML.sub("", site.author),
    )
    try:
        if fmt == "atom":
            body: bytes = _atom(plan, chosen, site, feeds).atom_str(pretty=True)
        else:
            body = _rss(plan, chosen, site, feeds).rss_str(pretty=True)
    except (ValueError, TypeError) as exc:
        raise RenderError(f"feed {plan.stem} ({fmt}) cannot be rendered: {exc}") from exc
    log.debug("feed rendered stem=%s format=%s entries=%d", plan.stem, fmt, len(chosen))
    return body


def _atom(plan: FeedPlan, entries: list[Entry], site: SiteSettings, feeds: FeedsSettings) -> Any:
    zone = site.timezone
    self_url = feed_url(plan, "atom", site)
    fg = FeedGenerator()
    fg.load_extension("media", atom=True, rss=False)
    fg.register_extension("extras", _NoFeedExtension, _AtomEntryExtras, atom=True, rss=False)
    fg.id(self_url)  # as jekyll-feed: the feed's id is its own URL
    fg.title(plan.title)
    if site.description:
        fg.subtitle(site.description)
    fg.updated(data.local_time(data.feed_updated(entries), zone))
    fg.author({"name": site.author or site.title or site.url})
    fg.link(href=self_url, rel="self", type=MEDIA_TYPES["atom"])
    fg.link(href=site_home(site), rel="alternate", type="text/html")
    if feeds.hub:
        fg.link(href=feeds.hub, rel="hub")
    fg.generator(data.GENERATOR)
    fg.language(site.language)
    if site.icon:
        fg.icon(absolute_url(site, site.icon))
    for entry in entries:
        post = entry.post
        fe, fresh = _entry_for(fg, "atom", entry, site, feeds)
        if not fresh:
            continue
        fe.id(post.id)
        fe.title(post.title)
        fe.updated(data.local_time(data.entry_updated(post), zone))
        fe.published(data.local_time(post.published, zone))
        if post.authors:
            fe.author([_person(a.name, a.email, a.url) for a in post.authors if a.name])
        fe.link(href=post.url, rel="alternate", type="text/html")
        if entry.summary_text:
            fe.summary(entry.summary_text)
        if feeds.full_content:
            fe.content(entry.content_html, type="html")
        terms = data.terms(post)
        if terms:  # one call: feedgen rebuilds its RSS list of all categories on each
            fe.category([{"term": term} for term in terms])
        image = data.image_url(post, site)
        if image:
            _media(fe, image)
        fe.extras.link = post.url
        fe.extras.title = post.title
        if post.language and post.language != site.language:
            fe.extras.language = post.language
    return fg


def _rss(plan: FeedPlan, entries: list[Entry], site: SiteSettings, feeds: FeedsSettings) -> Any:
    zone = site.timezone
    fg = FeedGenerator()
    fg.load_extension("media", atom=False, rss=True)
    fg.load_extension("dc", atom=False, rss=True)
    fg.register_extension("rss_hub", _RssHub, None, atom=False, rss=True)
    fg.rss_hub.hub = feeds.hub
    fg.title(plan.title)
    # feedgen writes the first rel=self as atom:link and uses the last link as <link>.
    fg.link(href=feed_url(plan, "rss", site), rel="self", type=MEDIA_TYPES["rss"])
    fg.link(href=site_home(site), rel="alternate")
    fg.description(site.description or plan.title)
    fg.language(site.language)
    fg.lastBuildDate(data.local_time(data.feed_updated(entries), zone))
    fg.generator(data.GENERATOR)
    for entry in entries:
        post = entry.post
        fe, fresh = _entry_for(fg, "rss", entry, site, feeds)
        if not fresh:
            continue
        # RSS: guid is a permalink unless isPermaLink="false"; only say so when it is the URL.
        fe.guid(post.id, permalink=post.id == post.url)
        fe.title(post.title)
        fe.link(href=post.url)
        summary = data.summary_html(entry)
        if summary:
            fe.description(summary, isSummary=True)
        if feeds.full_content:
            fe.content(entry.content_html)
        fe.pubDate(data.local_time(post.published, zone))
        emails = [_person(a.name, a.email, None) for a in post.authors if a.name and a.email]
        if emails:
            fe.author(emails)
        for name in data.author_names(post, site):
            fe.dc.dc_creator(name)
        terms = data.terms(post)
        if terms:
            fe.category([{"term": term} for term in terms])
        image = data.image_url(post, site)
        if image:
            media_type = data.image_type(image)
            if media_type:
                fe.enclosure(image, 0, media_type)  # length unknown: RSS Board says use 0
            _media(fe, image)
    return fg


class _ReusedEntry(FeedEntry):  # type: ignore[misc]
    """A feedgen entry built once and added to every feed that carries its post.

    Its Atom or RSS element is built once too; each feed gets a copy (an lxml element has one
    parent). A post is in ~5 feeds (main, its categories, its tags): most of the work is saved.
    """

    def __init__(self) -> None:
        super().__init__()
        self._element: Any = None

    def atom_entry(self, extensions: bool = True) -> Any:
        if self._element is None:
            self._element = super().atom_entry(extensions)
        return copy.deepcopy(self._element)

    def rss_entry(self, extensions: bool = True) -> Any:
        if self._element is None:
            self._element = super().rss_entry(extensions)
        return copy.deepcopy(self._element)


# (format, id(entry)) -> (entry, site, feeds, its feedgen entry); the entry is held, so its id
# is not reused while cached. Cleared when large (a long-lived server renders many posts).
_built: dict[tuple[str, int], tuple[Entry, SiteSettings, FeedsSettings, _ReusedEntry]] = {}
_BUILT_MAX = 512


def forget_entries() -> None:
    """Drop the entries kept for reuse (after a batch of feeds: a server lives on)."""
    _built.clear()
    forget_json_items()


def _entry_for(
    fg: Any, fmt: str, entry: Entry, site: SiteSettings, feeds: FeedsSettings
) -> tuple[Any, bool]:
    """The feed's entry for this post, and whether it is new (its fields are still to set)."""
    key = (fmt, id(entry))
    cached = _built.get(key)
    if cached is not None and cached[0] is entry and cached[1] == site and cached[2] == feeds:
        fg.add_entry(cached[3], order="append")  # its extensions are loaded already
        return cached[3], False
    if len(_built) >= _BUILT_MAX:
        _built.clear()
    fe = fg.add_entry(_ReusedEntry(), order="append")
    _built[key] = (entry, site, feeds, fe)
    return fe, True


def _xml_safe(entry: Entry) -> Entry:
    """The entry without characters XML cannot carry (a copy only when there are any)."""
    post = entry.post
    texts = [post.title, entry.summary_html, entry.summary_text]
    texts += [*post.categories, *post.tags, *(a.name for a in post.authors)]
    if not _content_not_xml(entry.content_html) and not any(_NOT_XML.search(t) for t in texts):
        return entry
    log.warning("characters not allowed in XML dropped id=%s origin=%s", post.id, post.origin)
    clean = _NOT_XML.sub
    post = dataclasses.replace(
        post,
        title=clean("", post.title),
        categories=tuple(clean("", t) for t in post.categories),
        tags=tuple(clean("", t) for t in post.tags),
        authors=tuple(dataclasses.replace(a, name=clean("", a.name)) for a in post.authors),
    )
    return Entry(
        post=post,
        content_html=clean("", entry.content_html),
        summary_html=clean("", entry.summary_html),
        summary_text=clean("", entry.summary_text),
    )


def _person(name: str, email: str | None, uri: str | None) -> dict[str, str]:
    person = {"name": name}
    if email:
        person["email"] = email
    if uri:
        person["uri"] = uri
    return person


def _media(fe: Any, image: str) -> None:
    """media:thumbnail and media:content (Media RSS), straight in the entry, not in a group."""
    fe.media.thumbnail(url=image, group=None)
    content = {"url": image, "medium": "image", "group": None}
    media_type = data.image_type(image)
    if media_type:
        content["type"] = media_type
    fe.media.content(content)


class _NoFeedExtension:
    """Feed half of an entry-only extension: adds nothing."""

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, feed: Any) -> Any:
        return feed

    def extend_rss(self, feed: Any) -> Any:
        return feed


class _AtomEntryExtras(_NoFeedExtension):
    """What feedgen 1.0 cannot say on an Atom entry: xml:lang, and the alternate link's
    rel/type/title (it drops them; jekyll-feed writes all three)."""

    def __init__(self) -> None:
        self.language = ""
        self.link = ""
        self.title = ""

    def extend_atom(self, entry: Any) -> Any:
        if self.language:
            entry.set(_XML_LANG, self.language)
        for link in entry.findall("link"):  # feedgen builds Atom elements without a namespace
            if link.get("href") == self.link and not link.get("rel"):
                link.set("rel", "alternate")
                link.set("type", "text/html")
                link.set("title", self.title)
        return entry


class _RssHub(_NoFeedExtension):
    """WebSub: ``<atom:link rel="hub">`` right after the channel's rel=self link."""

    def __init__(self) -> None:
        self.hub = ""

    def extend_rss(self, feed: Any) -> Any:
        if not self.hub:
            return feed
        channel = feed.find("channel")
        link = channel.makeelement(f"{{{_ATOM_NS}}}link", {"href": self.hub, "rel": "hub"})
        self_link = channel.find(f"{{{_ATOM_NS}}}link")
        position = channel.index(self_link) + 1 if self_link is not None else len(channel)
        channel.insert(position, link)
        return feed
