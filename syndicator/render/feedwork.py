"""Rendering entries and writing feed files, spread over worker processes when there is much to do.

A cold run renders a few hundred posts and writes ~150 feed files; that work is split over
forked workers (one per core, at most four). Small work (one new post) stays in this process,
where starting workers would cost more than it saves. Workers are forked only from a process
with a single thread (the CLI), never from the long-lived server.
"""

from __future__ import annotations

import gc
import importlib
import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syndicator.config import FeedsSettings, SiteSettings
from syndicator.model import Entry, Post
from syndicator.render.feedplan import FeedPlan

__all__ = ["FeedJob", "FileStamp", "render_entries", "worker_count", "write_feeds"]

log = logging.getLogger(__name__)

PARALLEL_ENTRIES = 48  # posts to render before workers pay off (~2 ms each, ~30 ms to fork)
PARALLEL_FEEDS = 40  # feed files to render before workers pay off (~5 ms each)
_MAX_WORKERS = 4
_WRITE_THREADS = 4  # fsync waits on the disk, not the CPU: overlap a few

FileStamp = tuple[int, int]  # (size, mtime_ns) of a feed file as last written or seen


@dataclass(frozen=True, slots=True)
class FeedJob:
    """One feed file to render and write."""

    plan: FeedPlan
    fmt: str
    target: Path


def worker_count() -> int:
    """Worker processes to use here: 0 when forking is unavailable or unsafe."""
    if sys.platform != "linux" or threading.active_count() != 1:
        return 0
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return min(cores, _MAX_WORKERS) if cores > 1 else 0


# What forked workers inherit: set just before the pool forks, cleared after.
_shared: dict[str, Any] = {}


@contextmanager
def _forked_pool(workers: int, shared: dict[str, Any]) -> Iterator[Executor]:
    _shared.update(shared)
    # Frozen objects are left out of the workers' garbage collections, which would otherwise
    # write to (and so copy) every inherited page holding one: ≈ 25 MB of a cold run's peak.
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            yield pool
    finally:
        gc.unfreeze()
        _shared.clear()


def _spread(count: int, workers: int) -> int:
    """Tasks per chunk: a few chunks per worker, so a slow one does not hold up the rest."""
    return max(1, count // (workers * 4))


def _render_entry_at(index: int) -> tuple[str, str, str]:
    from syndicator.render.content import render_entry

    entry = render_entry(_shared["posts"][index])
    return entry.content_html, entry.summary_html, entry.summary_text


def render_entries(posts: Sequence[Post]) -> list[Entry]:
    """Render these posts (in workers when there are many), in the order given."""
    from syndicator.render.content import render_entry

    workers = worker_count() if len(posts) >= PARALLEL_ENTRIES else 0
    if not workers:
        return [render_entry(post) for post in posts]
    from syndicator.markup import render_markdown

    render_markdown("")  # load the parser here, once, not in every worker
    with _forked_pool(workers, {"posts": posts}) as pool:
        parts = list(
            pool.map(_render_entry_at, range(len(posts)), chunksize=_spread(len(posts), workers))
        )
    log.debug("entries rendered posts=%d workers=%d", len(posts), workers)
    return [Entry(post, *part) for post, part in zip(posts, parts, strict=True)]


def _render_feed(
    job: FeedJob, entries: dict[str, Entry], site: SiteSettings, feeds: FeedsSettings
) -> bytes:
    from syndicator.render.feeds import render_feed

    return render_feed(job.plan, [entries[i] for i in job.plan.post_ids], job.fmt, site, feeds)


def _write(
    target: Path, data: bytes, write: Callable[[Path, bytes], bool]
) -> tuple[bool, FileStamp]:
    written = write(target, data)
    st = target.stat()
    return written, (st.st_size, st.st_mtime_ns)


def _write_job_at(index: int) -> tuple[bool, FileStamp]:
    s = _shared
    job: FeedJob = s["jobs"][index]
    return _write(job.target, _render_feed(job, s["entries"], s["site"], s["feeds"]), s["write"])


def write_feeds(
    jobs: Sequence[FeedJob],
    entries: dict[str, Entry],
    site: SiteSettings,
    feeds: FeedsSettings,
    write: Callable[[Path, bytes], bool],
) -> list[tuple[bool, FileStamp]]:
    """Render and ``write`` each job's file; per job: whether it was written, and its stamp."""
    importlib.import_module("syndicator.render.feeds")  # feedgen and lxml: loaded before forking

    workers = worker_count() if len(jobs) >= PARALLEL_FEEDS else 0
    if workers:
        shared = {"jobs": jobs, "entries": entries, "site": site, "feeds": feeds, "write": write}
        with _forked_pool(workers, shared) as pool:
            chunk = _spread(len(jobs), workers)
            results = list(pool.map(_write_job_at, range(len(jobs)), chunksize=chunk))
        log.debug("feeds written files=%d workers=%d", len(jobs), workers)
        return results
    from syndicator.render.feeds import forget_entries

    # Render here, one at a time (rendering holds the GIL); let threads wait on the disk.
    try:
        with ThreadPoolExecutor(max_workers=_WRITE_THREADS) as threads:
            futures = [
                threads.submit(_write, job.target, _render_feed(job, entries, site, feeds), write)
                for job in jobs
            ]
            return [future.result() for future in futures]
    finally:
        forget_entries()
