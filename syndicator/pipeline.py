"""Orchestration only: collect → store → feeds → editions → deliveries.

The CLI, the scheduler and the web app call these functions; nothing here parses, renders or
sends by itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from syndicator import __version__
from syndicator.config import Settings
from syndicator.errors import SourceError
from syndicator.model import Entry, Post
from syndicator.render.content import RENDERER_VERSION, render_entry
from syndicator.render.feedplan import feed_paths, plan_feeds
from syndicator.render.feeds import render_feed
from syndicator.render.files import remove_stale, write_if_changed
from syndicator.sources import Collection, collect_all, open_source
from syndicator.store import Store

__all__ = [
    "CollectReport",
    "FeedReport",
    "collect",
    "entries_for",
    "publish_feeds",
]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class SourceSummary:
    name: str
    new: int
    changed: int
    removed: int
    unchanged: int
    problems: int
    failed: bool
    baseline: bool


@dataclass(frozen=True, slots=True)
class CollectReport:
    sources: tuple[SourceSummary, ...]
    problems: tuple[SourceError, ...]
    new_posts: tuple[str, ...] = ()

    @property
    def changed_anything(self) -> bool:
        return any(s.new or s.changed or s.removed for s in self.sources)


@dataclass(frozen=True, slots=True)
class FeedReport:
    written: tuple[Path, ...] = ()
    unchanged: int = 0
    removed: tuple[Path, ...] = ()
    skipped: bool = False  # nothing changed since the last run: no file was even rendered
    files: tuple[Path, ...] = field(default=())


def collect(settings: Settings, store: Store, now: datetime) -> CollectReport:
    """Collect every source into the store; problems are reported, never fatal."""
    sources = [open_source(s, settings.site) for s in settings.sources]
    known = {s.name: store.source_stamps(s.name) for s in sources}
    states = {s.name: store.source_state(s.name) for s in sources}
    collections: list[Collection] = collect_all(sources, known, states, now)
    summaries: list[SourceSummary] = []
    problems: list[SourceError] = []
    new_posts: list[str] = []
    for collection in collections:
        result = store.record_collection(collection, now)
        store.set_source_state(collection.source, collection.state)
        problems.extend(collection.problems)
        new_posts.extend(result.new)
        summary = SourceSummary(
            name=collection.source,
            new=len(result.new),
            changed=len(result.changed),
            removed=len(result.removed),
            unchanged=result.unchanged,
            problems=len(collection.problems),
            failed=collection.failed,
            baseline=result.baseline,
        )
        summaries.append(summary)
        log.info(
            "collected source=%s new=%d changed=%d removed=%d unchanged=%d problems=%d%s",
            summary.name,
            summary.new,
            summary.changed,
            summary.removed,
            summary.unchanged,
            summary.problems,
            " baseline=yes" if summary.baseline else "",
        )
    if any(s.new or s.changed or s.removed for s in summaries):
        store.set_state(
            "posts.version",
            hashlib.sha256(
                f"{store.get_state('posts.version')}:{now.isoformat()}".encode()
            ).hexdigest(),
        )
    for problem in problems:
        log.warning("skipped %s", problem)
    return CollectReport(tuple(summaries), tuple(problems), tuple(new_posts))


def entries_for(store: Store, posts: Sequence[Post]) -> dict[str, Entry]:
    """Rendered entries for these posts, from the render cache where possible."""
    keys = {p.id: f"{p.content_hash}:{RENDERER_VERSION}" for p in posts}
    cached = store.cached_renders(list(set(keys.values())))
    entries: dict[str, Entry] = {}
    fresh: dict[str, tuple[str, str, str]] = {}
    for post in posts:
        hit = cached.get(keys[post.id])
        if hit is not None:
            entries[post.id] = Entry(post, hit[0], hit[1], hit[2])
            continue
        entry = render_entry(post)
        entries[post.id] = entry
        fresh[keys[post.id]] = (entry.content_html, entry.summary_html, entry.summary_text)
    if fresh:
        store.cache_renders(fresh)
    return entries


def _feeds_fingerprint(settings: Settings, store: Store) -> str:
    parts = [
        __version__,
        RENDERER_VERSION,
        settings.path.read_bytes().hex() if settings.path.exists() else "",
        store.get_state("posts.version") or "",
        json.dumps([str(settings.feeds.dir), settings.site.url, settings.site.baseurl]),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def publish_feeds(
    settings: Settings, store: Store, now: datetime, *, force: bool = False
) -> FeedReport:
    """Write every configured feed file whose bytes changed; remove feeds of vanished topics."""
    fingerprint = _feeds_fingerprint(settings, store)
    listed = store.get_state("feeds.files")
    previous_files = [Path(p) for p in json.loads(listed)] if listed else []
    if (
        not force
        and store.get_state("feeds.fingerprint") == fingerprint
        and previous_files
        and all(p.exists() for p in previous_files)
    ):
        log.info("feeds unchanged since the last run files=%d", len(previous_files))
        return FeedReport(skipped=True, unchanged=len(previous_files), files=tuple(previous_files))
    posts = store.posts()
    by_id = {p.id: p for p in posts}
    plans = plan_feeds(posts, settings.site, settings.feeds)
    needed = {post_id for plan in plans for post_id in plan.post_ids}
    entries = entries_for(store, [by_id[i] for i in needed])
    out = settings.feeds.dir
    written: list[Path] = []
    keep: set[Path] = set()
    unchanged = 0
    for plan in plans:
        plan_entries = [entries[i] for i in plan.post_ids]
        for fmt, relative in feed_paths(plan, settings.feeds.formats).items():
            target = out / relative
            keep.add(target)
            data = render_feed(plan, plan_entries, fmt, settings.site, settings.feeds)
            if write_if_changed(target, data):
                written.append(target)
            else:
                unchanged += 1
    removed = remove_stale(out, keep)
    for path in written:
        log.debug("wrote feed path=%s", path)
    for path in removed:
        log.info("removed feed path=%s (its category or tag is gone)", path)
    store.set_state("feeds.fingerprint", fingerprint)
    store.set_state("feeds.files", json.dumps(sorted(str(p) for p in keep)))
    return FeedReport(tuple(written), unchanged, tuple(removed), files=tuple(sorted(keep)))


def check_sources(settings: Settings, now: datetime) -> list[Collection]:
    """Read every source from scratch, as ``syndicator check`` does; nothing is stored."""
    sources = [open_source(s, settings.site) for s in settings.sources]
    return collect_all(sources, {}, {}, now)


def iter_problems(collections: Iterable[Collection]) -> Iterable[SourceError]:
    for collection in collections:
        yield from collection.problems
