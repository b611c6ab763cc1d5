"""`serve`: the scheduler's jobs and a real process that answers /healthz and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from syndicator import config
from syndicator.metrics import REGISTRY
from syndicator.model import SubscriberStatus
from syndicator.schedule import build_scheduler, newsletter_job
from syndicator.store import Store
from tests.test_cli import make_project

WEB = '[web]\nbase_url = "https://news.example.com"\npostal_address = "Seoul"\n'


def test_jobs_are_registered_with_coalescing(tmp_path: Path) -> None:
    settings = config.load(make_project(tmp_path, WEB), env={})
    with Store.open(settings.database.url) as store:
        scheduler = build_scheduler(settings, store)
        scheduler.start(paused=True)  # jobs get their defaults when the scheduler starts
        try:
            jobs = {job.id: job for job in scheduler.get_jobs()}
        finally:
            scheduler.shutdown(wait=False)
    assert set(jobs) == {"collect", "newsletter:weekly"}
    assert isinstance(jobs["collect"].trigger, IntervalTrigger)
    assert jobs["collect"].trigger.interval.total_seconds() == 15 * 60
    weekly = jobs["newsletter:weekly"]
    assert isinstance(weekly.trigger, CronTrigger)
    assert "day_of_week='mon'" in str(weekly.trigger)
    assert weekly.coalesce is True and weekly.max_instances == 1
    assert weekly.misfire_grace_time == 3600


def test_newsletter_job_counts_metrics(tmp_path: Path) -> None:
    settings = config.load(make_project(tmp_path, WEB), env={"SYNDICATOR_SECRET_KEY": "k"})
    with Store.open(settings.database.url) as store:
        store.add_subscriber(
            "a@example.com",
            newsletters=("weekly",),
            now=datetime.now(UTC),
            status=SubscriberStatus.ACTIVE,
        )
        before = REGISTRY.get_sample_value("syndicator_messages_sent_total") or 0.0
        # first sight of the newsletter: not due yet, so the job makes nothing
        newsletter_job(settings, store, settings.newsletter("weekly"))
        assert store.editions("weekly") == []
        assert REGISTRY.get_sample_value("syndicator_collect_duration_seconds_count")
        assert (REGISTRY.get_sample_value("syndicator_messages_sent_total") or 0.0) == before


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_health_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    cfg = make_project(tmp_path, WEB)
    port = _free_port()
    env = {**os.environ, "SYNDICATOR_CONFIG": str(cfg), "SYNDICATOR_SECRET_KEY": "k"}
    process = subprocess.Popen(
        [sys.executable, "-m", "syndicator", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert answer.status_code == 200
        # the collect job ran at start: the feeds are served with feed media types
        deadline = time.monotonic() + 30
        while not (tmp_path / "public" / "feed.xml").exists():
            assert time.monotonic() < deadline, "the collect job did not write feeds"
            time.sleep(0.1)
        feed = httpx.get(f"http://127.0.0.1:{port}/feeds/feed.xml", timeout=5)
        assert feed.headers["content-type"].startswith("application/atom+xml")
        again = httpx.get(
            f"http://127.0.0.1:{port}/feeds/feed.xml",
            headers={"if-none-match": feed.headers["etag"]},
            timeout=5,
        )
        assert again.status_code == 304
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
