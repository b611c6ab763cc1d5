"""Contract tests for delivery rows: claiming (also concurrently), receipts, stale rows."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

from syndicator.model import DeliveryStatus, Edition, Receipt
from syndicator.store import Store
from syndicator.store.schema import subscribers, subscriptions
from tests.store import workers
from tests.store.samples import NOW


def _edition(store: Store, recipients: int, newsletter: str = "weekly") -> Edition:
    rows = [(n + 1, f"r{n}@example.com", "all" if n % 2 else "news") for n in range(recipients)]
    edition = store.create_edition(newsletter, "제목", [], "<p>본문</p>", NOW, rows)
    assert edition is not None
    return edition


def test_claim_moves_rows_to_sending_in_order(store: Store) -> None:
    edition = _edition(store, 5)
    first = store.claim_deliveries(3, "w1", NOW)
    assert [d.subscriber_id for d in first] == [1, 2, 3]
    assert all(d.status is DeliveryStatus.SENDING and d.edition_id == edition.id for d in first)
    assert first[0].email == "r0@example.com" and first[0].variant == "news"
    rest = store.claim_deliveries(10, "w2", NOW)
    assert [d.subscriber_id for d in rest] == [4, 5]
    assert store.claim_deliveries(10, "w3", NOW) == []
    assert store.delivery_counts(edition.id)["sending"] == 5
    assert store.pending_count() == 0
    fetched = store.delivery(first[0].id)
    assert fetched is not None and fetched.status is DeliveryStatus.SENDING
    assert store.delivery("nope") is None


def test_claim_by_edition(store: Store) -> None:
    a = _edition(store, 2, "weekly")
    b = _edition(store, 2, "daily")
    claimed = store.claim_deliveries(10, "w", NOW, edition_id=b.id)
    assert {d.edition_id for d in claimed} == {b.id}
    assert store.delivery_counts(a.id)["pending"] == 2


def test_claim_skips_suppressed_addresses(store: Store) -> None:
    edition = _edition(store, 3)
    store.suppress("R1@example.com", "bounced", NOW)
    claimed = store.claim_deliveries(10, "w", NOW)
    assert [d.email for d in claimed] == ["r0@example.com", "r2@example.com"]
    assert store.delivery_counts(edition.id)["suppressed"] == 1


def test_receipts_settle_rows(store: Store) -> None:
    edition = _edition(store, 4)
    d = store.claim_deliveries(4, "w", NOW)
    later = NOW + timedelta(seconds=5)
    store.record_receipts(
        [
            Receipt(d[0].id, ok=True, provider_id="pm-1"),
            Receipt(d[1].id, ok=False, error="mailbox unknown", suppress=True),
            Receipt(d[2].id, ok=False, error="429 slow down", retryable=True),
            Receipt(d[3].id, ok=False, error="rejected"),
        ],
        later,
    )
    sent = store.delivery(d[0].id)
    assert sent is not None and sent.status is DeliveryStatus.SENT
    assert sent.provider_id == "pm-1" and sent.sent_at == later and sent.attempts == 1
    assert store.delivery_by_provider_id("pm-1") == sent
    bounced = store.delivery(d[1].id)
    assert bounced is not None and bounced.status is DeliveryStatus.FAILED
    assert bounced.error == "mailbox unknown"
    assert store.is_suppressed("r1@example.com")
    retry = store.delivery(d[2].id)
    assert retry is not None and retry.status is DeliveryStatus.PENDING and retry.attempts == 1
    failed = store.delivery(d[3].id)
    assert failed is not None and failed.status is DeliveryStatus.FAILED
    # the retry waits for its back-off: not claimable now, claimable a minute later
    assert store.claim_deliveries(10, "w", later) == []
    [again] = store.claim_deliveries(10, "w", later + timedelta(minutes=1))
    assert again.id == d[2].id
    # a late receipt for an already sent row changes nothing
    store.record_receipts([Receipt(d[0].id, ok=False, error="late")], later)
    assert store.delivery(d[0].id) == sent
    # nor does a second success (sent rows are updated without being read first)
    store.record_receipts([Receipt(d[0].id, ok=True, provider_id="pm-2")], later + timedelta(1))
    assert store.delivery(d[0].id) == sent
    assert store.delivery_counts(edition.id) == {
        "pending": 0,
        "sending": 1,
        "sent": 1,
        "failed": 2,
        "suppressed": 0,
    }


def test_retryable_failure_gives_up_after_max_attempts(store: Store) -> None:
    _edition(store, 1)
    now = NOW
    for attempt in range(1, 4):
        [d] = store.claim_deliveries(1, "w", now)
        store.record_receipts(
            [Receipt(d.id, ok=False, error="503", retryable=True)], now, max_attempts=3
        )
        now += timedelta(hours=7)
        settled = store.delivery(d.id)
        assert settled is not None and settled.attempts == attempt
    assert settled.status is DeliveryStatus.FAILED


def test_threads_claiming_concurrently_never_share_a_row(
    store: Store, open_store: Callable[[], Store]
) -> None:
    _edition(store, 600)
    stores = [open_store() for _ in range(4)]
    got: list[list[str]] = [[] for _ in stores]
    barrier = threading.Barrier(len(stores))

    def claim(index: int) -> None:
        barrier.wait()
        while batch := stores[index].claim_deliveries(25, f"t{index}", NOW):
            got[index] += [d.id for d in batch]
            time.sleep(0.002)  # a sender talks to its provider between claims

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in got for i in ids]
    assert len(every) == len(set(every)) == 600
    assert sum(1 for ids in got if ids) > 1  # they really ran side by side


def test_recipient_claims_never_share_a_row_even_with_one_tag_and_time(
    store: Store, open_store: Callable[[], Store]
) -> None:
    """claim_recipients finds its rows by tag and time: a claimer reusing both must still get
    only the rows each claim took (the sender's tags are unique, other callers' may not be)."""
    edition = _edition(store, 300)
    with store._db.write() as conn:  # readers for every row, so none is settled unsent
        add = [
            {
                "id": n + 1,
                "email": f"r{n}@example.com",
                "email_key": f"r{n}@example.com",
                "name": "",
                "status": "active",
                "created": NOW,
                "status_changed": NOW,
            }
            for n in range(300)
        ]
        conn.execute(subscribers.insert(), add)
        conn.execute(
            subscriptions.insert(),
            [
                {
                    "subscriber_id": n + 1,
                    "newsletter": edition.newsletter,
                    "topics": [],
                    "frequency": "weekly",
                }
                for n in range(300)
            ],
        )
    stores = [open_store() for _ in range(3)]
    got: list[list[str]] = [[] for _ in stores]
    barrier = threading.Barrier(len(stores))

    def claim(index: int) -> None:
        barrier.wait()
        while batch := stores[index].claim_recipients(20, f"t{index}", NOW).recipients:
            got[index] += [r.delivery_id for r in batch]
            time.sleep(0.002)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in got for i in ids]
    assert len(every) == len(set(every)) == 300
    assert store.delivery_counts(edition.id)["sending"] == 300


def test_processes_claiming_concurrently_never_share_a_row(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    _edition(store, 1000)
    names = ["p0", "p1"]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(names), mp_context=context) as pool:
        futures = [
            pool.submit(workers.claim_all, store_url, name, 20, NOW, str(tmp_path))
            for name in names
        ]
        while not all((tmp_path / f"ready-{name}").exists() for name in names):
            time.sleep(0.01)
        (tmp_path / "go").touch()
        results = [f.result(timeout=60) for f in futures]
    every = [i for ids in results for i in ids]
    assert len(every) == len(set(every)) == 1000
    assert all(results), "both processes claimed rows"
    assert store.delivery_counts()["sending"] == 1000


def test_claims_and_counts_use_the_partial_indexes(store: Store) -> None:
    """The hot queries name the status in their text, so any plan (PostgreSQL's generic plans
    for prepared statements included) may use ix_deliveries_pending / _sending; on SQLite the
    plan is checked too."""
    import sqlalchemy as sa

    _edition(store, 30)
    engine = store._db.engine
    seen: list[tuple[str, object]] = []

    def capture(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        seen.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        store.claim_deliveries(5, "w1", NOW)
        store.claim_recipients(5, "w3", NOW)
        store.pending_count()
        store.reclaim_stale_batch(NOW + timedelta(hours=1), "w2", NOW)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    wanted = {
        "UPDATE deliveries SET status": ("'pending'", "ix_deliveries_pending"),
        "SELECT count(*)": ("'pending'", "ix_deliveries_pending"),
        "SELECT deliveries.worker": ("'sending'", "ix_deliveries_sending"),
        "SELECT deliveries.id, deliveries.edition_id": ("'sending'", "ix_deliveries_sending"),
    }
    checked = set()
    with engine.connect() as conn:
        for statement, params in seen:
            for start, (status, index) in wanted.items():
                if not statement.startswith(start):
                    continue
                if start.startswith("UPDATE") and "claimed_at" not in statement:
                    continue  # rows settled unsent by their id, not a claim
                assert f"deliveries.status = {status}" in statement, statement
                if store._db.is_sqlite:
                    plan = " ".join(
                        str(row[-1])
                        for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)  # type: ignore[arg-type]
                    )
                    assert index in plan, (statement, plan)
                checked.add(start)
    assert checked == set(wanted)
