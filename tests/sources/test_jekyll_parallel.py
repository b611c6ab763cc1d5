"""Reading post files in forked workers gives exactly what reading them here gives."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from syndicator.config import SourceSettings
from syndicator.sources import Collection, jekyll_parallel
from syndicator.sources.jekyll import JekyllSource
from tests.sources.test_jekyll import SITE


def _site(repo_root: Path, tmp_path: Path) -> Path:
    """The example site plus a bad post, a post using {% post_url %}, and a dozen more."""
    root = tmp_path / "site"
    shutil.copytree(repo_root / "examples" / "site", root)
    posts = root / "_posts"
    (posts / "2026-01-03-bad-yaml.md").write_text("---\ntitle: [oops\n---\nbody\n", "utf-8")
    (posts / "2026-01-02-links.md").write_text(
        "---\ntitle: 링크\n---\n[앞 글]({% post_url 2026-01-12-gpu-supply %})\n", "utf-8"
    )
    for number in range(12):
        (posts / f"2025-12-{number + 1:02d}-note-{number}.md").write_text(
            f"---\ntitle: 메모 {number}\ntags: [메모, n{number}]\n---\n**메모(Note)**입니다.\n",
            "utf-8",
        )
    return root


def _collect(root: Path, now: datetime) -> Collection:
    source = JekyllSource(SourceSettings(name="blog", type="jekyll", path=root), SITE)
    return source.collect({}, {}, now)


@pytest.mark.parametrize("workers", [pytest.param(2, id="two-workers")])
def test_workers_read_posts_as_this_process_does(
    repo_root: Path,
    tmp_path: Path,
    fixed_now: datetime,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
) -> None:
    root = _site(repo_root, tmp_path)
    here = _collect(root, fixed_now)
    monkeypatch.setattr(jekyll_parallel, "PARALLEL_FILES", 1)
    monkeypatch.setattr(jekyll_parallel, "worker_count", lambda: workers)
    spread = _collect(root, fixed_now)
    assert spread.changed == here.changed
    assert [str(p) for p in spread.problems] == [str(p) for p in here.problems]
    assert [(p.origin, p.line, p.reason) for p in spread.problems] == [
        (p.origin, p.line, p.reason) for p in here.problems
    ]
    assert spread.stamps == here.stamps
    assert spread.origins == here.origins
    assert spread.state == here.state
    assert len(here.changed) >= 17 and here.problems  # the case is not empty
    links = next(p for p in spread.changed if p.origin.endswith("links.md"))
    assert "/gpu-supply/" in links.body


def test_map_files_keeps_order_and_runs_small_work_here(monkeypatch: pytest.MonkeyPatch) -> None:
    items = list(range(37))
    assert jekyll_parallel.map_files(lambda n: n * n, items) == [n * n for n in items]
    monkeypatch.setattr(jekyll_parallel, "PARALLEL_FILES", 1)
    monkeypatch.setattr(jekyll_parallel, "worker_count", lambda: 2)
    assert jekyll_parallel.map_files(lambda n: n * n, items) == [n * n for n in items]


def test_no_workers_from_a_threaded_process() -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert jekyll_parallel.worker_count() == 0
    finally:
        stop.set()
        thread.join()
