"""Several sender processes share one large send: every row exactly once, a wrong key stops
them all, and the automatic choice stays with one process where forking is wrong."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from syndicator.config import Settings
from syndicator.deliver.parallel import AUTO_FROM, sender_processes
from syndicator.jobs import deliver
from syndicator.store import Store
from syndicator.store.schema import deliveries
from tests.deliver.crash_worker import load, mail_env, make_big_edition, write_config

NOW = datetime(2026, 1, 21, 3, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
KEY = "pm-test-token"


@pytest.fixture
def postmark_process() -> Iterator[str]:
    """The fake Postmark in its own process: a forking sender must have no other thread."""
    with subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.mailapi", "--provider", "postmark", "--key", KEY],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as fake:
        assert fake.stdout is not None
        line = fake.stdout.readline()
        assert line.startswith("listening "), line
        yield line.split()[1]
        fake.terminate()


def _stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{url}/_fake/stats") as answer:
        return dict(json.loads(answer.read()))


def _setup(tmp_path: Path, store_url: str, url: str, key: str) -> tuple[Settings, Store]:
    path = write_config(tmp_path, store_url, "postmark", extra_mail="workers = 2\nbatch_size = 50")
    settings = load(path, mail_env(url, key))
    store = Store.open(settings.database.url)
    return settings, store


@pytest.fixture
def two_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Earlier tests may leave a thread behind in this process; the forks here are safe."""
    monkeypatch.setattr("syndicator.jobs.sender_processes", lambda settings, pending: 2)


@pytest.mark.usefixtures("two_processes")
def test_two_processes_send_every_row_exactly_once(
    tmp_path: Path, store_url: str, postmark_process: str
) -> None:
    settings, store = _setup(tmp_path, store_url, postmark_process, KEY)
    try:
        edition = make_big_edition(settings, store, 1500, NOW)
        report = deliver(settings, store, lambda: NOW, quiet=True)
        assert report.ok and report.sent == 1500 and report.remaining == 0
        assert len(report.shares) == 2 and all(report.shares) and sum(report.shares) == 1500
        assert store.delivery_counts(edition.id)["sent"] == 1500
        assert _stats(postmark_process)["accepted"] == 1500  # nothing went out twice
        with store._db.read() as conn:
            ids = conn.execute(sa.select(deliveries.c.provider_id)).scalars().all()
        assert len(set(ids)) == 1500
    finally:
        store.close()


@pytest.mark.usefixtures("two_processes")
def test_a_wrong_key_stops_every_process(
    tmp_path: Path, store_url: str, postmark_process: str
) -> None:
    settings, store = _setup(tmp_path, store_url, postmark_process, "wrong-token")
    try:
        edition = make_big_edition(settings, store, 600, NOW)
        report = deliver(settings, store, lambda: NOW, quiet=True)
        assert not report.ok and "SYNDICATOR_MAIL_API_KEY" in report.stopped
        assert _stats(postmark_process)["requests"] <= 2  # one refused request per process
        counts = store.delivery_counts(edition.id)
        assert counts["pending"] == 600 and counts["sending"] == 0 and counts["failed"] == 0
    finally:
        store.close()


def test_automatic_choice(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sqlite:///x.db", "postmark")
    settings = load(path, mail_env("http://127.0.0.1:9", KEY))
    assert sender_processes(settings, AUTO_FROM - 1, threads=1) == 1
    assert sender_processes(settings, AUTO_FROM, threads=1) == min(os.cpu_count() or 1, 4)
    pinned = dataclasses.replace(settings, mail=dataclasses.replace(settings.mail, workers=3))
    assert sender_processes(pinned, 10, threads=1) == 3
    outbox = dataclasses.replace(
        settings, mail=dataclasses.replace(settings.mail, backend="outbox")
    )
    assert sender_processes(outbox, 10 * AUTO_FROM, threads=1) == 1
    # never fork from a process with other threads (the scheduler of `serve`)
    assert sender_processes(pinned, 10 * AUTO_FROM, threads=3) == 1
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait)
    busy.start()
    try:
        assert sender_processes(pinned, 10 * AUTO_FROM) == 1
    finally:
        stop.set()
        busy.join()
