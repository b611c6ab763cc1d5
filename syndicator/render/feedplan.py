"""Which feeds to write, for which posts, at which paths: jekyll-feed's file layout.

Paths are jekyll-feed's so a site can switch without breaking subscriptions: ``feed.xml``,
``feed/<category>.xml``, ``feed/by_tag/<tag>.xml``, with ``.rss.xml`` and ``.json`` beside them
(the main feed's are ``rss.xml`` and ``feed.json``). A name jekyll-feed would write keeps its
exact name; any other (Korean, spaces, dots) gets a stable URL-safe ASCII name: NFC, unsafe
characters to ``-``, then Punycode with an ``xn--`` prefix as in IDNA labels.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TypeVar
from urllib.parse import quote

from syndicator.config import FeedsSettings, SiteSettings
from syndicator.errors import RenderError

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "FeedKind",
    "FeedPlan",
    "PlannedPost",
    "absolute_url",
    "feed_paths",
    "feed_url",
    "file_name_for",
    "plan_feeds",
    "site_home",
    "sort_newest_first",
]

log = logging.getLogger(__name__)

FeedKind = Literal["main", "category", "tag"]
FORMATS = ("atom", "rss", "json")
MEDIA_TYPES: Mapping[str, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}
_MAIN_PATHS: Mapping[str, str] = {"atom": "feed.xml", "rss": "rss.xml", "json": "feed.json"}
_SUFFIXES: Mapping[str, str] = {"atom": ".xml", "rss": ".rss.xml", "json": ".json"}
_CATEGORY_DIR = "feed"
_TAG_DIR = "feed/by_tag"

# Kept verbatim: what jekyll-feed writes for tags ([A-Za-z0-9_]), plus '-'. Dots are excluded
# so that a name can never end in ".rss" and collide with a sibling's RSS file.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_UNSAFE_RUN = re.compile(r"[^\w-]+")  # Unicode \w: Hangul and other letters stay for Punycode
_MAX_NAME = 100


class PlannedPost(Protocol):
    """What planning needs of a post: a Post, or a store's body-less PostHead."""

    @property
    def id(self) -> str: ...
    @property
    def published(self) -> datetime: ...
    @property
    def categories(self) -> tuple[str, ...]: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def origin(self) -> str: ...


_P = TypeVar("_P", bound=PlannedPost)


@dataclass(frozen=True, slots=True)
class FeedPlan:
    """One feed to write: its file stem (``feed``, ``feed/News``, ``feed/by_tag/LLM``) and posts.

    ``name`` is the category or tag as authors wrote it ("" for the main feed); ``post_ids``
    are newest first, at most ``FeedsSettings.limit`` of them.
    """

    stem: str
    title: str
    kind: FeedKind
    name: str
    post_ids: tuple[str, ...]


def sort_newest_first(posts: Iterable[_P]) -> list[_P]:
    """Newest ``published`` first; posts published at the same instant by id, ascending."""
    by_id = sorted(posts, key=lambda post: post.id)
    return sorted(by_id, key=lambda post: post.published, reverse=True)


def plan_feeds(
    posts: Sequence[PlannedPost], site: SiteSettings, feeds: FeedsSettings
) -> list[FeedPlan]:
    """The main feed, then one per category and one per tag (as enabled), in name order."""
    ordered = _unique(sort_newest_first(posts))
    title = site.title or site.url
    plans = [FeedPlan("feed", title, "main", "", _ids(ordered, feeds.limit))]
    groups: list[tuple[FeedKind, str, bool]] = [
        ("category", _CATEGORY_DIR, feeds.categories),
        ("tag", _TAG_DIR, feeds.tags),
    ]
    for kind, folder, enabled in groups:
        if not enabled:
            continue
        members: dict[str, list[PlannedPost]] = {}
        for post in ordered:
            terms = post.categories if kind == "category" else post.tags
            # NFC: the same word typed on macOS (NFD) and elsewhere is one topic.
            for term in dict.fromkeys(unicodedata.normalize("NFC", t) for t in terms):
                if term.strip():
                    members.setdefault(term, []).append(post)
        names = file_name_for(members)
        for term in sorted(members):
            plans.append(
                FeedPlan(
                    stem=f"{folder}/{names[term]}",
                    title=f"{title} | {term}",
                    kind=kind,
                    name=term,
                    post_ids=_ids(members[term], feeds.limit),
                )
            )
    return plans


def feed_paths(plan: FeedPlan, formats: Iterable[str]) -> dict[str, str]:
    """Format -> path relative to the feeds folder, e.g. ``{"atom": "feed/News.xml"}``."""
    paths: dict[str, str] = {}
    for fmt in formats:
        if fmt not in _SUFFIXES:
            raise RenderError(f"unknown feed format {fmt!r} (known: {', '.join(FORMATS)})")
        paths[fmt] = _MAIN_PATHS[fmt] if plan.kind == "main" else plan.stem + _SUFFIXES[fmt]
    return paths


def site_home(site: SiteSettings) -> str:
    """The site's front page: url + baseurl + '/'."""
    return f"{site.url}{site.baseurl}/"


def absolute_url(site: SiteSettings, value: str) -> str:
    """Jekyll's ``absolute_url``: absolute URLs stay; paths go under the site's url + baseurl."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value) or value.startswith("//"):
        return value
    return f"{site.url}{site.baseurl}/{value.lstrip('/')}"


def feed_url(plan: FeedPlan, fmt: str, site: SiteSettings) -> str:
    """The absolute URL a feed file is served at (its ``rel=self`` link and Atom id)."""
    path = feed_paths(plan, [fmt])[fmt]
    return absolute_url(site, quote(path, safe="/"))


def file_name_for(names: Iterable[str]) -> dict[str, str]:
    """A stable, URL-safe, distinct file name (without suffix) for each category or tag name.

    A name that maps to its file name without loss (a safe name kept verbatim, or pure
    Punycode) owns that file name; any other name that maps there gets a suffix made from a
    hash of itself, so adding a tag never renames another tag's feed.
    """
    candidates = {name: _candidate(name) for name in sorted(set(names))}
    owners: dict[str, str] = {}
    for name, (candidate, lossless) in candidates.items():
        if lossless:
            if candidate in owners:  # only via a verbatim "xn--…" tag: the verbatim one wins
                owners[candidate] = min(owners[candidate], name, key=lambda n: n != candidate)
            else:
                owners[candidate] = name
    result: dict[str, str] = {}
    taken = set(owners)
    for name, (candidate, _lossless) in candidates.items():
        if owners.get(candidate) == name:
            result[name] = candidate
            continue
        if candidate not in taken:
            owners[candidate] = name
            taken.add(candidate)
            result[name] = candidate
            continue
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
        size = 8
        while f"{candidate}-{digest[:size]}" in taken:
            size += 4
        result[name] = f"{candidate}-{digest[:size]}"
        taken.add(result[name])
        log.info("feed name collision name=%r file=%s", name, result[name])
    return result


def _candidate(name: str) -> tuple[str, bool]:
    """(file name, whether it encodes the name without loss)."""
    if _SAFE_NAME.match(name):
        return name, True
    text = unicodedata.normalize("NFC", name).strip()
    cleaned = _UNSAFE_RUN.sub("-", text).strip("-")
    lossless = cleaned == name and not name.isascii()  # Punycode is reversible
    if not cleaned:
        return "x-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8], False
    if not cleaned.isascii():
        cleaned = "xn--" + cleaned.encode("punycode").decode("ascii")
    if len(cleaned) > _MAX_NAME:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
        return f"{cleaned[: _MAX_NAME - 9]}-{digest}", False
    return cleaned, lossless


def _unique(posts: list[_P]) -> list[_P]:
    seen: set[str] = set()
    result: list[_P] = []
    for post in posts:
        if post.id in seen:
            log.warning("duplicate post id left out of feeds id=%s origin=%s", post.id, post.origin)
            continue
        seen.add(post.id)
        result.append(post)
    return result


def _ids(posts: Sequence[PlannedPost], limit: int) -> tuple[str, ...]:
    return tuple(post.id for post in posts[:limit])
