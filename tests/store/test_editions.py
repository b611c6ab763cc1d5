"""Contract tests for newsletter state, unannounced posts and editions (also made concurrently)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from syndicator.model import Edition
from syndicator.store import Store
from tests.store.samples import NOW, T0, collect, make_post


def test_newsletter_state_starts_once(store: Store) -> None:
    state = store.newsletter_state("weekly", NOW)
    assert (state.started, state.last_run, state.last_number) == (NOW, None, 0)
    store.mark_run("weekly", NOW + timedelta(days=7))
    later = store.newsletter_state("weekly", NOW + timedelta(days=8))
    assert later.started == NOW and later.last_run == NOW + timedelta(days=7)


def test_unannounced_posts(store: Store) -> None:
    old = [make_post(n) for n in range(4)]
    store.record_collection(collect(old), NOW - timedelta(days=30))  # baseline, before start
    started = NOW - timedelta(days=1)
    fresh = [make_post(n) for n in range(10, 13)]
    store.record_collection(collect(fresh, unchanged=[p.origin for p in old]), NOW)
    since = T0 + timedelta(hours=3)  # also takes old post 3, published at that moment
    found = store.unannounced_posts("weekly", started=started, since=since, limit=10)
    assert [p.id for p in found] == [fresh[2].id, fresh[1].id, fresh[0].id, old[3].id]
    news = store.unannounced_posts(
        "weekly", started=started, since=since, topics={"news", "nothing"}, limit=10
    )
    assert [p.id for p in news] == [fresh[2].id, fresh[0].id]
    assert len(store.unannounced_posts("weekly", started=started, since=since, limit=2)) == 2
    store.create_edition("weekly", "1호", [fresh[2].id, old[3].id], "<p/>", NOW, [])
    after = store.unannounced_posts("weekly", started=started, since=since, limit=10)
    assert [p.id for p in after] == [fresh[1].id, fresh[0].id]
    other = store.unannounced_posts("daily", started=started, since=since, limit=10)
    assert len(other) == 4  # announced in weekly, not in daily


def test_create_edition_and_read_it_back(store: Store) -> None:
    posts = [make_post(n) for n in range(3)]
    store.record_collection(collect(posts), NOW)
    ids = [posts[2].id, posts[0].id]
    recipients = [(7, "a@example.com", "all"), (8, "b@example.com", "news"), (7, "dup", "x")]
    edition = store.create_edition("weekly", "주간 1호", ids, "<h1>1호</h1>", NOW, recipients)
    assert edition == Edition(
        edition.id if edition else 0, "weekly", 1, NOW, "주간 1호", tuple(ids), "<h1>1호</h1>"
    )
    assert edition is not None
    assert store.get_edition("weekly", 1) == edition
    assert store.edition(edition.id) == edition
    assert store.get_edition("weekly", 2) is None
    assert [p.id for p in store.edition_posts(edition.id)] == ids
    assert store.delivery_counts(edition.id)["pending"] == 2  # duplicate subscriber dropped
    second = store.create_edition("weekly", "주간 2호", [posts[1].id], "", NOW, [])
    assert second is not None and second.number == 2
    third = store.create_edition("daily", "daily 1", [posts[1].id], "", NOW, [])
    assert third is not None and third.number == 1
    assert [e.number for e in store.editions("weekly")] == [2, 1]
    assert [e.newsletter for e in store.editions(limit=2)] == ["daily", "weekly"]
    assert store.newsletter_state("weekly", NOW).last_number == 2


def test_create_edition_refuses_a_duplicate(store: Store) -> None:
    store.record_collection(collect([make_post(1), make_post(2)]), NOW)
    assert store.create_edition("weekly", "a", [make_post(1).id], "", NOW, [], number=1)
    # the same number again, or a post already announced: another run got there first
    assert store.create_edition("weekly", "b", [make_post(2).id], "", NOW, [], number=1) is None
    assert store.create_edition("weekly", "c", [make_post(1).id], "", NOW, []) is None
    assert [e.subject for e in store.editions("weekly")] == ["a"]


def test_concurrent_create_edition_makes_one(store: Store, open_store: Callable[[], Store]) -> None:
    store.record_collection(collect([make_post(1)]), NOW)
    stores = [open_store() for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    results: list[Edition | None] = [None] * len(stores)

    def make(index: int) -> None:
        state = stores[index].newsletter_state("weekly", NOW)
        barrier.wait()
        recipients = [(n, f"r{n}@example.com", "") for n in range(300)]
        results[index] = stores[index].create_edition(
            "weekly",
            f"by {index}",
            [make_post(1).id],
            "",
            NOW,
            recipients,
            number=state.last_number + 1,
        )

    threads = [threading.Thread(target=make, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = [r for r in results if r is not None]
    assert len(made) == 1
    assert len(store.editions("weekly")) == 1
    assert store.delivery_counts()["pending"] == 300
