"""Functions run in child processes by the concurrency tests (importable under spawn)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from syndicator.store import Store


def _wait_for(path: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.01)


def claim_all(url: str, worker: str, batch: int, now: datetime, meeting: str) -> list[str]:
    """Once every process is ready (files in ``meeting``), claim batches until none are left."""
    got: list[str] = []
    with Store.open(url) as store:
        (Path(meeting) / f"ready-{worker}").touch()
        _wait_for(Path(meeting) / "go")
        while claimed := store.claim_deliveries(batch, worker, now):
            got += [d.id for d in claimed]
            time.sleep(0.002)  # a sender talks to its provider between claims
    return got


def try_lock(url: str, name: str) -> bool:
    """Whether this process gets the lock without waiting."""
    with Store.open(url) as store, store.lock(name, wait=False) as held:
        return held


def hold_lock(url: str, name: str, seconds: float, started: str) -> float:
    """Take the lock (waiting), mark the file ``started``, hold it; return when it was taken."""
    with Store.open(url) as store, store.lock(name) as held:
        assert held
        taken = time.monotonic()
        with open(started, "w") as marker:
            marker.write("held")
        time.sleep(seconds)
    return taken


def open_and_count(url: str) -> int:
    """Open (and so migrate) the store; how many posts it holds."""
    with Store.open(url) as store:
        return store.post_count()
