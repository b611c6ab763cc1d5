"""Real sending processes: kill -9 mid-send then resume, and two senders on one edition."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicator.store import Store
from tests.deliver.crash_worker import ROOT, load, mail_env, make_big_edition, write_config
from tests.fakes.mailapi import FakeMailApi, Fault

SUBSCRIBERS = 3000
BATCH = 100
SHARED = 1500  # the two-sender test: enough batches for both to get turns


def _worker(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.deliver.crash_worker", str(config), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _report(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    report: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize(
    ("provider", "most_duplicates"),
    [
        pytest.param("postmark", BATCH, id="postmark-at-most-the-batch-in-flight"),
        pytest.param("resend", 0, id="resend-idempotency-key-none"),
    ],
)
def test_kill_9_mid_send_then_a_new_process_sends_the_rest(
    tmp_path: Path, provider: str, most_duplicates: int
) -> None:
    with FakeMailApi(provider) as fake:
        config = write_config(
            tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", provider, f"batch_size = {BATCH}"
        )
        env = mail_env(fake.url, fake.key)
        settings = load(config, env)
        store = Store.open(settings.database.url)
        try:
            edition = make_big_edition(settings, store, SUBSCRIBERS, datetime.now(UTC))
            fake.push(*[Fault(delay=0.04)] * 15)  # slow answers: the kill lands mid-request
            first = _worker(config, env)
            deadline = time.monotonic() + 30
            while fake.accepted_count < 5 * BATCH:
                assert first.poll() is None, first.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.002)
            os.kill(first.pid, signal.SIGKILL)
            first.communicate()
            time.sleep(0.1)  # the request the fake was answering completes on its side
            at_kill = store.delivery_counts(edition.id)
            assert at_kill["sending"] > 0 and at_kill["sent"] < SUBSCRIBERS
            # a new process after the stale window (its clock 11 minutes ahead)
            report = _report(_worker(config, env, "--clock-offset", "11"))
            assert report["taken_over"] == at_kill["sending"]
            counts = store.delivery_counts(edition.id)
            assert counts["sent"] == SUBSCRIBERS
            assert counts["pending"] == counts["sending"] == counts["failed"] == 0
            ids = fake.delivery_ids()
            assert len(set(ids)) == SUBSCRIBERS
            assert len(ids) - SUBSCRIBERS <= most_duplicates
        finally:
            store.close()


def test_two_senders_share_one_edition_and_send_each_message_once(
    tmp_path: Path, store_url: str
) -> None:
    with FakeMailApi("postmark") as fake:
        config = write_config(tmp_path, store_url, "postmark", f"batch_size = {BATCH}")
        env = mail_env(fake.url, fake.key)
        settings = load(config, env)
        store = Store.open(settings.database.url)
        try:
            edition = make_big_edition(settings, store, SHARED, datetime.now(UTC))
            fake.push(*[Fault(delay=0.01)] * 30)  # both get their turns at the start
            go = tmp_path / "go"
            workers = [_worker(config, env, "--wait-for", str(go)) for _ in range(2)]
            for worker in workers:
                assert worker.stdout is not None
                assert worker.stdout.readline().strip() == "ready"
            go.touch()
            reports = [_report(w) for w in workers]
            assert all(int(str(r["sent"])) > 0 for r in reports)  # both really sent
            assert sum(int(str(r["sent"])) for r in reports) == SHARED
            ids = fake.delivery_ids()
            assert len(ids) == len(set(ids)) == SHARED
            assert store.delivery_counts(edition.id)["sent"] == SHARED
        finally:
            store.close()
