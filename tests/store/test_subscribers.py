"""Contract tests for subscribers, subscriptions and suppressions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, timedelta

import pytest

from syndicator.model import DeliveryStatus, SubscriberStatus, Subscription
from syndicator.store import Store
from tests.store.samples import NOW


def test_add_and_get_subscriber(store: Store) -> None:
    added = store.add_subscriber("Min@Example.com", name="민", newsletters=["weekly"], now=NOW)
    assert added.status is SubscriberStatus.PENDING
    assert added.created == NOW and added.created.tzinfo is not None
    assert added.confirmed is None
    assert added.subscriptions == (Subscription("weekly"),)
    assert store.get_subscriber("min@example.COM") == added
    assert store.get_subscriber(added.id) == added
    assert store.get_subscriber("nobody@example.com") is None


def test_add_is_idempotent_and_merges_newsletters(store: Store) -> None:
    first = store.add_subscriber("a@example.com", newsletters=["weekly"], now=NOW)
    again = store.add_subscriber(
        "A@example.com", name="에이", newsletters=["daily", "weekly"], now=NOW + timedelta(days=1)
    )
    assert again.id == first.id
    assert again.email == "a@example.com"
    assert again.name == "에이"
    assert {s.newsletter for s in again.subscriptions} == {"daily", "weekly"}
    assert again.created == NOW
    assert store.count_subscribers() == 1


def test_status_changes_and_confirmation_time(store: Store) -> None:
    sub = store.add_subscriber("b@example.com", newsletters=["weekly"], now=NOW)
    later = NOW + timedelta(hours=2)
    assert store.set_status(sub.id, SubscriberStatus.ACTIVE, later)
    active = store.get_subscriber(sub.id)
    assert active is not None and active.status is SubscriberStatus.ACTIVE
    assert active.confirmed == later
    store.set_status(sub.id, SubscriberStatus.UNSUBSCRIBED, later + timedelta(days=1))
    store.set_status(sub.id, SubscriberStatus.ACTIVE, later + timedelta(days=2))
    again = store.get_subscriber(sub.id)
    assert again is not None and again.confirmed == later  # first confirmation is kept
    assert not store.set_status(9999, SubscriberStatus.ACTIVE, later)


def test_adding_confirmed_activates_a_pending_subscriber(store: Store) -> None:
    store.add_subscriber("c@example.com", now=NOW)
    sub = store.add_subscriber("c@example.com", status=SubscriberStatus.ACTIVE, now=NOW)
    assert sub.status is SubscriberStatus.ACTIVE and sub.confirmed == NOW
    bounced = store.add_subscriber("d@example.com", status=SubscriberStatus.BOUNCED, now=NOW)
    still = store.add_subscriber("d@example.com", status=SubscriberStatus.ACTIVE, now=NOW)
    assert still.id == bounced.id and still.status is SubscriberStatus.BOUNCED


def test_subscriptions_and_language(store: Store) -> None:
    sub = store.add_subscriber("e@example.com", newsletters=["weekly"], now=NOW)
    wanted = (Subscription("daily", ("llm", "news"), "every"), Subscription("weekly", (), "every"))
    store.set_subscriptions(sub.id, wanted)
    store.set_language(sub.id, "ko")
    got = store.get_subscriber(sub.id)
    assert got is not None
    assert got.subscriptions == wanted
    assert got.language == "ko"
    assert got.subscription("daily") == wanted[0]
    store.set_subscriptions(sub.id, [])
    got = store.get_subscriber(sub.id)
    assert got is not None and got.subscriptions == ()


def test_streaming_filters_and_counts(store: Store) -> None:
    for n in range(100):
        status = SubscriberStatus.ACTIVE if n % 5 else SubscriberStatus.PENDING
        letters = ["weekly"] if n % 2 else ["daily"]
        store.add_subscriber(f"u{n}@example.com", newsletters=letters, status=status, now=NOW)
    assert store.count_subscribers() == 100
    weekly = list(store.subscribers(newsletter="weekly"))
    assert len(weekly) == 50 and all(s.subscription("weekly") for s in weekly)
    active_weekly = store.count_subscribers(newsletter="weekly", status=SubscriberStatus.ACTIVE)
    assert active_weekly == len([s for s in weekly if s.status is SubscriberStatus.ACTIVE]) == 40
    ids = [s.id for s in store.subscribers()]
    assert ids == sorted(ids) and len(ids) == 100


def test_streaming_crosses_pages(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import syndicator.store.subscribers as module

    monkeypatch.setattr(module, "PAGE", 7)  # small pages, to cross many page boundaries
    for n in range(30):
        store.add_subscriber(f"p{n}@example.com", newsletters=["weekly"], now=NOW)
    store.add_subscriber("other@example.com", newsletters=["daily"], now=NOW)
    emails = [s.email for s in store.subscribers(newsletter="weekly")]
    assert emails == [f"p{n}@example.com" for n in range(30)]


def test_remove_subscriber_deletes_personal_data(store: Store) -> None:
    sub = store.add_subscriber("gone@example.com", name="이름", newsletters=["weekly"], now=NOW)
    edition = store.create_edition("weekly", "s", [], "<p/>", NOW, [(sub.id, sub.email, "")])
    assert edition is not None
    assert store.remove_subscriber("GONE@example.com", suppress=True, now=NOW)
    assert store.get_subscriber(sub.id) is None
    assert store.is_suppressed("gone@example.com")
    assert not store.claim_deliveries(10, "w", NOW)  # nothing pending for them
    counts = store.delivery_counts(edition.id)
    assert counts[DeliveryStatus.SUPPRESSED] == 1
    assert not store.remove_subscriber("gone@example.com")


def test_suppressions(store: Store) -> None:
    assert not store.is_suppressed("x@example.com")
    store.suppress("X@Example.com", "hard bounce", NOW, source="postmark")
    store.suppress("y@example.com", "complaint", NOW)
    assert store.is_suppressed("x@example.com")
    assert store.suppressed(["X@EXAMPLE.com", "z@example.com", "y@example.com"]) == {
        "X@EXAMPLE.com",
        "y@example.com",
    }
    listed = store.suppressions()
    assert [(s.email, s.reason, s.source) for s in listed] == [
        ("x@example.com", "hard bounce", "postmark"),
        ("y@example.com", "complaint", ""),
    ]
    assert listed[0].created == NOW and listed[0].created.tzinfo == UTC
    assert store.unsuppress("x@example.com")
    assert not store.is_suppressed("x@example.com")
    assert not store.unsuppress("x@example.com")


def test_concurrent_merges_of_one_address_never_fail(
    store: Store, open_store: Callable[[], Store]
) -> None:
    """Two web requests for one address at once (seen on PostgreSQL): both succeed, one row."""
    first = store.add_subscriber("race@example.com", newsletters=("weekly",), now=NOW)
    others = [open_store() for _ in range(4)]
    errors: list[BaseException] = []

    def work(own: Store, n: int) -> None:
        try:
            for _ in range(5):
                own.add_subscriber("RACE@example.com", newsletters=("weekly", "daily"), now=NOW)
                own.set_subscriptions(first.id, [Subscription("weekly", topics=(f"t{n}",))])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s, n)) for n, s in enumerate(others)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = store.get_subscriber("race@example.com")
    assert final is not None and final.id == first.id
    assert [s.newsletter for s in final.subscriptions] == ["weekly"]


def test_streamed_subscribers_equal_those_read_one_by_one(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The streaming page reader (plain rows, shared Subscription values) changes no field."""
    import syndicator.store.subscribers as module

    monkeypatch.setattr(module, "PAGE", 4)
    statuses = list(SubscriberStatus)
    for n in range(18):
        store.add_subscriber(
            f"Eq{n}@Example.com",
            name="김민지" if n % 3 else "",
            newsletters=["weekly", "daily"] if n % 4 == 0 else ["weekly"],
            status=statuses[n % len(statuses)],
            language=("ko", "en", None)[n % 3],
            now=NOW + timedelta(seconds=n),
        )
    first = store.get_subscriber("eq1@example.com")
    assert first is not None
    store.set_subscriptions(
        first.id,
        [Subscription("weekly", ("robots", "모델"), "weekly"), Subscription("daily")],
    )
    streamed = list(store.subscribers())
    one_by_one = [store.get_subscriber(s.id) for s in streamed]
    assert len(streamed) == 18
    assert streamed == one_by_one
    assert {s.status for s in streamed} == set(statuses)
    assert all(s.created.tzinfo is UTC for s in streamed)
    assert any(s.confirmed is None for s in streamed) and any(s.confirmed for s in streamed)
    robots = next(s for s in streamed if s.id == first.id)
    assert robots.subscription("weekly") == Subscription("weekly", ("robots", "모델"), "weekly")
