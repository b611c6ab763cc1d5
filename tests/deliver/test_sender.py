"""The sender against loopback fakes: a wrong key stops at once, an outage resumes without loss,
per-message refusals fail only their rows, and the summary says what happened."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from syndicator.cli import main
from syndicator.config import Settings
from syndicator.deliver.postmark import PostmarkBackend
from syndicator.deliver.sender import deliver_pending, failure_reason
from syndicator.jobs import deliver
from syndicator.model import Edition
from syndicator.store import Store
from syndicator.store.schema import deliveries
from tests.deliver.crash_worker import (
    add_subscribers,
    load,
    mail_env,
    make_big_edition,
    write_config,
)
from tests.fakes.clock import FakeClock
from tests.fakes.mailapi import FakeMailApi

NOW = datetime(2026, 1, 21, 3, 0, tzinfo=UTC)


@pytest.fixture
def postmark() -> Iterator[FakeMailApi]:
    with FakeMailApi("postmark") as fake:
        yield fake


def _setup(
    tmp_path: Path, store_url: str, fake: FakeMailApi, key: str | None = None, count: int = 1200
) -> tuple[Path, Settings, Store, Edition]:
    path = write_config(tmp_path, store_url, fake.provider_name)
    settings = load(path, mail_env(fake.url, key or fake.key))
    store = Store.open(settings.database.url)
    return path, settings, store, make_big_edition(settings, store, count, NOW)


def _attempts(store: Store) -> set[int]:
    with store._db.read() as conn:
        return set(conn.execute(sa.select(deliveries.c.attempts).distinct()).scalars())


def test_wrong_key_stops_after_one_request_and_leaves_every_row_pending(
    tmp_path: Path,
    store_url: str,
    postmark: FakeMailApi,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, settings, store, edition = _setup(tmp_path, store_url, postmark, key="wrong-token")
    try:
        report = deliver(settings, store, lambda: NOW)
        assert postmark.request_count == 1
        assert postmark.accepted_count == 0
        counts = store.delivery_counts(edition.id)
        assert counts["pending"] == 1200 and counts["failed"] == 0 and counts["sending"] == 0
        assert _attempts(store) == {0}  # a wrong key uses up no reader's attempts
        assert "SYNDICATOR_MAIL_API_KEY" in report.stopped and not report.ok
        assert report.sent == 0 and not report.failed and report.remaining == 1200
        out, err = capsys.readouterr()
        assert "delivery: 0 sent, failed: 0, 400 to retry, 1200 remaining" in out  # 2 claims
        assert "delivery stopped:" in err and "SYNDICATOR_MAIL_API_KEY" in err
        assert "wrong-token" not in out + err  # the secret itself is never shown

        for name, value in mail_env(postmark.url, "wrong-token").items():
            monkeypatch.setenv(name, value)
        assert main(["send", "weekly", "--now", "--config", str(path)]) == 1
        assert postmark.request_count == 2
        assert "SYNDICATOR_MAIL_API_KEY" in capsys.readouterr().err
    finally:
        store.close()


def test_thirty_minute_outage_resumes_without_loss_or_duplicates(
    tmp_path: Path, store_url: str, postmark: FakeMailApi
) -> None:
    _, settings, store, edition = _setup(tmp_path, store_url, postmark, count=300)
    clock = FakeClock(start=NOW.timestamp())
    ends = clock.time() + 30 * 60
    postmark.outage = lambda: clock.time() < ends
    backend = PostmarkBackend(settings.mail, clock=clock)

    def now() -> datetime:
        return datetime.fromtimestamp(clock.time(), UTC)

    try:
        runs = []
        for _ in range(8):  # a cron job every 5 minutes
            report = deliver_pending(settings, store, backend, now)
            runs.append(report)
            if report.ok:
                break
            assert store.delivery_counts(edition.id)["pending"] == 300  # nothing lost or failed
            assert "503" in report.stopped and "stay pending" in report.stopped
            clock.sleep(5 * 60)
        assert len(runs) >= 4  # the outage really spanned several runs
        assert all(not r.ok and r.sent == 0 for r in runs[:-1])
        assert runs[-1].sent == 300 and runs[-1].remaining == 0
        assert clock.time() >= ends
        counts = store.delivery_counts(edition.id)
        assert counts["sent"] == 300 and counts["failed"] == 0
        ids = postmark.delivery_ids()
        assert len(ids) == len(set(ids)) == 300
        assert _attempts(store) == {1}  # the outage used up none of the retry budget per row
    finally:
        store.close()


def test_refused_recipients_fail_alone_and_are_suppressed(
    tmp_path: Path,
    store_url: str,
    postmark: FakeMailApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_config(tmp_path, store_url, "postmark")
    settings = load(path, mail_env(postmark.url, postmark.key))
    store = Store.open(settings.database.url)
    try:
        add_subscribers(store, ["no-at-sign.example.org", "gone@example.net"], NOW)
        edition = make_big_edition(settings, store, 700, NOW)
        postmark.rejections["gone@example.net"] = (
            "You tried to send to recipient(s) that have been marked as inactive."
        )
        postmark.rejections["reader5@example.org"] = postmark.rejections["gone@example.net"]
        report = deliver(settings, store, lambda: NOW)
        assert report.sent == 699
        assert report.failed == {"postmark ErrorCode 406": 2, "postmark ErrorCode 300": 1}
        counts = store.delivery_counts(edition.id)
        assert counts["sent"] == 699 and counts["failed"] == 3 and counts["pending"] == 0
        gone = {d for d in store.suppressed(["gone@example.net", "reader5@example.org"])}
        assert gone == {"gone@example.net", "reader5@example.org"}
        assert store.is_suppressed("no-at-sign.example.org")
        with store._db.read() as conn:
            errors = dict(
                conn.execute(
                    sa.select(deliveries.c.email, deliveries.c.error).where(
                        deliveries.c.status == "failed"
                    )
                ).all()
            )
        assert "marked as inactive" in errors["gone@example.net"]
        assert "Illegal email address" in errors["no-at-sign.example.org"]
        out = capsys.readouterr().out
        assert (
            "delivery: 699 sent, failed: 2 postmark ErrorCode 406, 1 postmark ErrorCode 300, "
            "0 to retry, 0 remaining"
        ) in out
    finally:
        store.close()


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        pytest.param("postmark ErrorCode 406: inactive a@b.c", "postmark ErrorCode 406", id="code"),
        pytest.param("HTTP 422: name=validation_error", "HTTP 422", id="http-status"),
        pytest.param("suppressed", "suppressed", id="plain"),
        pytest.param(
            "resend: The to field is invalid", "resend: The to field is invalid", id="no-code"
        ),
        pytest.param(None, "unknown", id="none"),
    ],
)
def test_failure_reasons_group_by_code_not_by_address(error: str | None, reason: str) -> None:
    assert failure_reason(error) == reason


def test_stale_batch_waits_for_the_window_then_goes_as_one_group(
    tmp_path: Path, store_url: str, postmark: FakeMailApi
) -> None:
    _, settings, store, edition = _setup(tmp_path, store_url, postmark, count=300)
    backend = PostmarkBackend(settings.mail)
    try:
        crashed = store.claim_deliveries(120, "dead-host:1:abc/1", NOW)
        report = deliver_pending(settings, store, backend, lambda: NOW + timedelta(minutes=5))
        assert report.sent == 180 and report.taken_over == 0  # not stale yet: left alone
        assert store.delivery_counts(edition.id)["sending"] == 120
        later = NOW + timedelta(minutes=11)
        report = deliver_pending(settings, store, backend, lambda: later)
        assert report.sent == 120 and report.taken_over == 120
        assert postmark.request_count == 2  # 180 in one request, the stale 120 as one group
        assert {d for d in postmark.delivery_ids()[180:]} == {d.id for d in crashed}
        counts = store.delivery_counts(edition.id)
        assert counts["sent"] == 300 and counts["sending"] == 0
    finally:
        store.close()


def test_readers_who_left_after_the_edition_was_made_get_nothing(
    tmp_path: Path,
    store_url: str,
    postmark: FakeMailApi,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Unsubscribing, leaving the newsletter, a suppressed address or a deleted reader between
    the edition and the send: those rows are settled unsent, with the reason, in the claim."""
    from syndicator.model import SubscriberStatus
    from syndicator.store.schema import subscribers

    _, settings, store, edition = _setup(tmp_path, store_url, postmark, count=12)
    try:
        ids = {s.email: s.id for s in store.subscribers()}
        store.set_status(ids["reader1@example.org"], SubscriberStatus.UNSUBSCRIBED, NOW)
        store.set_subscriptions(ids["reader2@example.org"], [])
        store.suppress("Reader3@Example.org", "complaint", NOW, "test")
        with store._db.write() as conn:  # gone without remove_subscriber's own settling
            conn.execute(subscribers.delete().where(subscribers.c.id == ids["reader4@example.org"]))
        report = deliver(settings, store, lambda: NOW)
        assert report.sent == 8 and not report.failed
        assert report.skipped == {
            "unsubscribed before sending": 2,
            "address is suppressed": 1,
            "subscriber removed": 1,
        }
        sent_to = sorted(a.to for a in postmark.accepted)
        assert sent_to == sorted(
            f"reader{i}@example.org" for i in range(12) if i not in (1, 2, 3, 4)
        )
        with store._db.read() as conn:
            rows = dict(
                conn.execute(
                    sa.select(deliveries.c.email, deliveries.c.error).where(
                        deliveries.c.status == "suppressed"
                    )
                ).all()
            )
        assert rows == {
            "reader1@example.org": "unsubscribed before sending",
            "reader2@example.org": "unsubscribed before sending",
            "reader3@example.org": "address is suppressed",
            "reader4@example.org": "subscriber removed",
        }
        assert store.delivery_counts(edition.id)["pending"] == 0
        out = capsys.readouterr().out
        assert "delivery: 8 sent, failed: 0, 0 to retry, 0 remaining, not sent: " in out
        assert "2 unsubscribed before sending" in out
    finally:
        store.close()
