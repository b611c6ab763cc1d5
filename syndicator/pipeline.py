"""Orchestration only: collect → store → feeds → editions → deliveries.

The CLI, the scheduler and the web app call these functions; nothing here parses, renders or
sends by itself.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from syndicator import __version__
from syndicator.config import Settings
from syndicator.errors import SourceError
from syndicator.model import Entry, Post
from syndicator.render.content import RENDERER_VERSION
from syndicator.sources import Collection, collect_all, open_source

if TYPE_CHECKING:  # the renderers (feedgen, lxml, Markdown) load only when a feed is written
    from syndicator.render.feedwork import FeedJob, FileStamp
    from syndicator.store import Store

__all__ = [
    "CollectReport",
    "FeedReport",
    "collect",
    "entries_for",
    "publish_feeds",
]

log = logging.getLogger(__name__)



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
    known, states = store.sources_known([s.name for s in sources])
    collections: list[Collection] = collect_all(sources, known, states, now)
    summaries: list[SourceSummary] = []
    problems: list[SourceError] = []
    new_posts: list[str] = []
    # One transaction for every source, its posts and its state: one commit, not one per source.
    results = store.record_collections(collections, now)
    for collection, result in zip(collections, results, strict=True):
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
    from syndicator.render.feedwork import render_entries

    keys = {p.id: f"{p.content_hash}:{RENDERER_VERSION}" for p in posts}
    cached = store.cached_renders(list(set(keys.values())))
    entries: dict[str, Entry] = {}
    missing: dict[str, Post] = {}
    for post in posts:
        hit = cached.get(keys[post.id])
        if hit is not None:
            entries[post.id] = Entry(post, hit[0], hit[1], hit[2])
        else:
            missing[post.id] = post
    fresh: dict[str, tuple[str, str, str]] = {}
    for entry in render_entries(list(missing.values())):
        entries[entry.post.id] = entry
        fresh[keys[entry.post.id]] = (entry.content_html, entry.summary_html, entry.summary_text)
    if fresh:
        store.cache_renders(fresh)
    return entries


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _settings_fingerprint(settings: Settings) -> str:
    """Everything besides the posts that a feed's bytes depend on."""
    return _digest(
        __version__,
        RENDERER_VERSION,
        settings.path.read_bytes().hex() if settings.path.exists() else "",
        repr(settings.site),  # includes what the Jekyll _config.yml supplied
        repr(settings.feeds),
    )


def _file_stamp(path: Path) -> FileStamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _previous_stamps(raw: str | None) -> dict[str, tuple[str, FileStamp]]:
    """path -> (input digest, file stamp) of each feed file as the last run left it."""
    try:
        loaded = json.loads(raw) if raw else {}
        return {path: (str(v[0]), (int(v[1]), int(v[2]))) for path, v in loaded.items()}
    except (ValueError, TypeError, IndexError, AttributeError):
        return {}


def publish_feeds(
    settings: Settings, store: Store, now: datetime, *, force: bool = False
) -> FeedReport:
    """Write every configured feed file whose bytes changed; remove feeds of vanished topics.

    A feed whose inputs (settings, its posts and their content hashes) are those it was last
    written from, and whose file is as it was left, is not even rendered.
    """
    from syndicator.render.feedplan import feed_paths, plan_feeds
    from syndicator.render.feedwork import FeedJob, write_feeds
    from syndicator.render.files import remove_stale, sync_folders, write_if_changed

    settings_print = _settings_fingerprint(settings)
    state = store.get_states(["posts.version", "feeds.files", "feeds.stamps", "feeds.fingerprint"])
    fingerprint = _digest(settings_print, state.get("posts.version") or "")
    listed = state.get("feeds.files")
    previous_files = [Path(p) for p in json.loads(listed)] if listed else []
    previous = {} if force else _previous_stamps(state.get("feeds.stamps"))
    if (
        not force
        and state.get("feeds.fingerprint") == fingerprint
        and previous_files
        and all(  # every file as the last run left it (not removed, not edited by hand)
            str(p) in previous and previous[str(p)][1] == _file_stamp(p) for p in previous_files
        )
    ):
        log.info("feeds unchanged since the last run files=%d", len(previous_files))
        return FeedReport(skipped=True, unchanged=len(previous_files), files=tuple(previous_files))
    heads = store.post_heads()
    hashes = {head.id: head.content_hash for head in heads}
    plans = plan_feeds(heads, settings.site, settings.feeds)
    out = settings.feeds.dir
    keep: set[Path] = set()
    stamps: dict[str, tuple[str, FileStamp]] = {}
    jobs: list[tuple[FeedJob, str]] = []
    for plan in plans:
        inputs = json.dumps(
            [plan.stem, plan.title, plan.kind, plan.name, [[i, hashes[i]] for i in plan.post_ids]],
            ensure_ascii=False,
        )
        for fmt, relative in feed_paths(plan, settings.feeds.formats).items():
            target = out / relative
            keep.add(target)
            digest = _digest(settings_print, inputs, fmt)
            before = previous.get(str(target))
            if before is not None and before[0] == digest and before[1] == _file_stamp(target):
                stamps[str(target)] = before
            else:
                jobs.append((FeedJob(plan, fmt, target), digest))
    needed = list(dict.fromkeys(i for job, _ in jobs for i in job.plan.post_ids))
    entries = entries_for(store, store.get_posts(needed)) if needed else {}
    write = functools.partial(write_if_changed, sync_folder=False)  # synced once, below
    results = write_feeds([job for job, _ in jobs], entries, settings.site, settings.feeds, write)
    written: list[Path] = []
    for (job, digest), (was_written, stamp) in zip(jobs, results, strict=True):
        stamps[str(job.target)] = (digest, stamp)
        if was_written:
            written.append(job.target)
            log.debug("wrote feed path=%s", job.target)
    sync_folders(written)
    unchanged = len(keep) - len(written)
    removed = remove_stale(out, keep)
    for path in removed:
        log.info("removed feed path=%s (its category or tag is gone)", path)
    store.set_states(
        {
            "feeds.fingerprint": fingerprint,
            "feeds.files": json.dumps(sorted(str(p) for p in keep)),
            "feeds.stamps": json.dumps({p: [d, *st] for p, (d, st) in sorted(stamps.items())}),
        }
    )
    log.info(
        "feeds published rendered=%d written=%d unchanged=%d removed=%d",
        len(jobs),
        len(written),
        unchanged,
        len(removed),
    )
    return FeedReport(tuple(written), unchanged, tuple(removed), files=tuple(sorted(keep)))


def check_sources(settings: Settings, now: datetime) -> list[Collection]:
    """Read every source from scratch, as ``syndicator check`` does; nothing is stored."""
    sources = [open_source(s, settings.site) for s in settings.sources]
    return collect_all(sources, {}, {}, now)
