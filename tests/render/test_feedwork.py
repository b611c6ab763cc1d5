"""Rendering entries and feed files in forked workers gives the bytes rendering here gives."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from syndicator.render import feedwork
from syndicator.render.content import render_entry
from syndicator.render.feedplan import feed_paths, plan_feeds
from syndicator.render.feedwork import FeedJob, render_entries, write_feeds
from syndicator.render.files import write_if_changed
from tests.render.feed_samples import FEEDS, SITE, sample_entries


def _jobs(root: Path) -> list[FeedJob]:
    posts = [entry.post for entry in sample_entries()]
    return [
        FeedJob(plan, fmt, root / relative)
        for plan in plan_feeds(posts, SITE, FEEDS)
        for fmt, relative in feed_paths(plan, FEEDS.formats).items()
    ]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def forced_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers even for this small case (and on a one-core machine)."""
    monkeypatch.setattr(feedwork, "PARALLEL_ENTRIES", 1)
    monkeypatch.setattr(feedwork, "PARALLEL_FEEDS", 1)
    monkeypatch.setattr(feedwork, "worker_count", lambda: 2)


def test_feed_files_from_workers_match_files_written_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = {entry.post.id: entry for entry in sample_entries()}
    here = write_feeds(_jobs(tmp_path / "here"), entries, SITE, FEEDS, write_if_changed)
    monkeypatch.setattr(feedwork, "PARALLEL_FEEDS", 1)
    monkeypatch.setattr(feedwork, "worker_count", lambda: 2)
    jobs = _jobs(tmp_path / "spread")
    spread = write_feeds(jobs, entries, SITE, FEEDS, write_if_changed)
    assert _files(tmp_path / "spread") == _files(tmp_path / "here")
    assert [written for written, _ in spread] == [written for written, _ in here] == [True] * 24
    assert [stamp[0] for _, stamp in spread] == [job.target.stat().st_size for job in jobs]
    # Once more: same bytes, nothing written, stamps unchanged.
    again = write_feeds(jobs, entries, SITE, FEEDS, write_if_changed)
    assert again == [(False, stamp) for _, stamp in spread]


@pytest.mark.usefixtures("forced_workers")
def test_entries_from_workers_match_entries_rendered_here() -> None:
    posts = [entry.post for entry in sample_entries()]
    assert render_entries(posts) == [render_entry(post) for post in posts]


def test_small_work_and_threaded_processes_stay_in_this_process() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert feedwork.worker_count() == 0
    finally:
        stop.set()
        thread.join()
