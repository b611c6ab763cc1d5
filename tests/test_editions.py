"""Editions end to end on a real store: due-ness, coalescing, filters, suppression, never twice."""

from __future__ import annotations

import email
import email.policy
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syndicator import config
from syndicator.config import Settings
from syndicator.editions import due, make_edition
from syndicator.jobs import deliver, run_once
from syndicator.model import SubscriberStatus, Subscription
from syndicator.pipeline import collect
from syndicator.store import Store

ROOT = Path(__file__).resolve().parent.parent
SEOUL = ZoneInfo("Asia/Seoul")
# A Wednesday after every example post; the weekly newsletter fires on Mondays 09:00 Seoul.
WEDNESDAY = datetime(2026, 1, 21, 12, 0, tzinfo=SEOUL)
NEXT_MONDAY_9 = datetime(2026, 1, 26, 9, 0, tzinfo=SEOUL)


def make_settings(tmp_path: Path, db_url: str, extra: str = "", since: str = "36500d") -> Settings:
    shutil.copytree(ROOT / "examples" / "site", tmp_path / "site")
    path = tmp_path / "syndicator.toml"
    path.write_text(
        '[[sources]]\nname = "blog"\ntype = "jekyll"\npath = "site"\n'
        f'[database]\nurl = "{db_url}"\n'
        '[mail]\nfrom = "AI 뉴스 <news@blog.example.com>"\noutbox = "outbox"\n'
        '[web]\nbase_url = "https://news.example.com"\npostal_address = "Seoul"\n'
        '[[newsletters]]\nname = "weekly"\ntitle = "주간 AI 뉴스"\n'
        f'schedule = "0 9 * * mon"\nsince = "{since}"\n' + extra,
        encoding="utf-8",
    )
    return config.load(path, env={"SYNDICATOR_SECRET_KEY": "test-key"})


@pytest.fixture
def settings(tmp_path: Path, store_url: str) -> Settings:
    return make_settings(tmp_path, store_url)


@pytest.fixture
def store(settings: Settings) -> Store:
    opened = Store.open(settings.database.url)
    yield opened  # type: ignore[misc]
    opened.close()


def add(
    store: Store,
    email_: str,
    *,
    topics: tuple[str, ...] = (),
    language: str | None = None,
    status: SubscriberStatus = SubscriberStatus.ACTIVE,
) -> int:
    subscriber = store.add_subscriber(
        email_, newsletters=("weekly",), status=status, language=language, now=WEDNESDAY
    )
    if topics:
        store.set_subscriptions(subscriber.id, [Subscription("weekly", topics=topics)])
    return subscriber.id


def test_due_only_after_the_next_slot_and_missed_slots_coalesce(
    settings: Settings, store: Store
) -> None:
    weekly = settings.newsletter("weekly")
    assert not due(settings, store, weekly, WEDNESDAY)  # first seen: waits for the next slot
    assert not due(settings, store, weekly, NEXT_MONDAY_9 - timedelta(minutes=1))
    assert due(settings, store, weekly, NEXT_MONDAY_9)
    # the machine was down for three weeks: one edition, not three
    three_weeks_later = NEXT_MONDAY_9 + timedelta(weeks=3, hours=2)
    collect(settings, store, WEDNESDAY)
    add(store, "a@example.com")
    first = make_edition(settings, store, weekly, three_weeks_later)
    assert first is not None and first.number == 1
    assert not due(settings, store, weekly, three_weeks_later + timedelta(hours=1))
    assert make_edition(settings, store, weekly, three_weeks_later + timedelta(hours=1)) is None


def test_schedule_in_a_dst_zone(tmp_path: Path, store_url: str) -> None:
    settings = make_settings(tmp_path, store_url, '[site]\ntimezone = "America/New_York"\n')
    weekly = settings.newsletter("weekly")
    new_york = ZoneInfo("America/New_York")
    with Store.open(settings.database.url) as store:
        start = datetime(2026, 3, 4, 12, 0, tzinfo=new_york)  # Wednesday before DST starts
        assert not due(settings, store, weekly, start)
        # Monday 2026-03-09 09:00 is EDT (UTC-4): due at 13:00 UTC, not at 14:00 UTC
        assert not due(settings, store, weekly, datetime(2026, 3, 9, 12, 59, tzinfo=UTC))
        assert due(settings, store, weekly, datetime(2026, 3, 9, 13, 0, tzinfo=UTC))


def test_no_new_posts_no_edition(tmp_path: Path, store_url: str) -> None:
    settings = make_settings(tmp_path, store_url, since="7d")
    with Store.open(settings.database.url) as store:
        collect(settings, store, WEDNESDAY + timedelta(days=60))  # every post is months old
        add(store, "a@example.com")
        weekly = settings.newsletter("weekly")
        assert (
            make_edition(settings, store, weekly, WEDNESDAY + timedelta(days=60), force=True)
            is None
        )
        assert store.editions("weekly") == []


def test_filters_suppression_and_variants(settings: Settings, store: Store) -> None:
    collect(settings, store, WEDNESDAY)
    everyone = add(store, "all@example.com")
    english = add(store, "en@example.com", language="en")
    hardware = add(store, "hw@example.com", topics=("Hardware",))
    add(store, "nomatch@example.com", topics=("Cooking",))
    add(store, "pending@example.com", status=SubscriberStatus.PENDING)
    add(store, "blocked@example.com")
    store.suppress("blocked@example.com", "hard bounce", WEDNESDAY)

    edition = make_edition(settings, store, settings.newsletter("weekly"), WEDNESDAY, force=True)
    assert edition is not None and len(edition.post_ids) == 6
    rows = store.claim_deliveries(100, "test", WEDNESDAY)
    by_subscriber = {d.subscriber_id: d for d in rows}
    assert set(by_subscriber) == {everyone, english, hardware}
    assert by_subscriber[everyone].variant.startswith("ko:")
    assert by_subscriber[english].variant.startswith("en:")
    hardware_posts = by_subscriber[hardware].variant.split(":")[1].split(",")
    assert len(hardware_posts) == 1  # only the GPU post is in Hardware


def test_edited_post_is_not_announced_again(settings: Settings, store: Store) -> None:
    collect(settings, store, WEDNESDAY)
    add(store, "a@example.com")
    weekly = settings.newsletter("weekly")
    assert make_edition(settings, store, weekly, WEDNESDAY, force=True) is not None
    post = settings.sources[0].path / "_posts" / "2026-01-12-gpu-supply.md"  # type: ignore[operator]
    post.write_text(post.read_text(encoding="utf-8") + "\nUpdate: prices fell.\n", encoding="utf-8")
    report = collect(settings, store, WEDNESDAY + timedelta(minutes=5))
    assert sum(s.changed for s in report.sources) == 1
    assert (
        make_edition(settings, store, weekly, WEDNESDAY + timedelta(minutes=6), force=True) is None
    )


def test_two_runs_at_once_make_one_edition(settings: Settings, store: Store) -> None:
    collect(settings, store, WEDNESDAY)
    add(store, "a@example.com")
    weekly = settings.newsletter("weekly")
    results: list[object] = []

    def attempt() -> None:
        with Store.open(settings.database.url) as own:
            results.append(make_edition(settings, own, weekly, WEDNESDAY, force=True))

    threads = [threading.Thread(target=attempt) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r is not None for r in results) == 1
    assert len(store.editions("weekly")) == 1
    assert store.delivery_counts()["pending"] == 1


def test_run_delivers_to_the_outbox_once(settings: Settings, store: Store) -> None:
    clock = iter([WEDNESDAY] * 3 + [NEXT_MONDAY_9 + timedelta(minutes=1)] * 50)
    assert run_once(settings, store, lambda: next(clock), quiet=True) == 0
    add(store, "a@example.com", language="en")
    add(store, "b@example.com")
    assert run_once(settings, store, lambda: next(clock), quiet=True) == 0
    outbox = settings.mail.outbox
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith("<https://news.example.com/unsubscribe/")
    assert message.get_content_type() == "multipart/alternative"
    # again: nothing is due, nothing pending, nothing sent twice
    assert run_once(settings, store, lambda: next(clock), quiet=True) == 0
    assert deliver(settings, store, lambda: NEXT_MONDAY_9, quiet=True).sent == 0
    assert sorted(outbox.glob("*.eml")) == files


def _new_post(settings: Settings, day: int, title: str) -> None:
    folder = settings.sources[0].path / "_posts"  # type: ignore[operator]
    (folder / f"2026-01-{day:02d}-{title.lower().replace(' ', '-')}.md").write_text(
        f"---\ntitle: {title}\ncategories: [News]\n---\n\n{title} body.\n", encoding="utf-8"
    )


def test_weekly_frequency_skips_editions_and_catches_up(settings: Settings, store: Store) -> None:
    collect(settings, store, WEDNESDAY)
    every = add(store, "every@example.com")
    weekly = add(store, "weekly@example.com")
    store.set_subscriptions(weekly, [Subscription("weekly", frequency="weekly")])
    newsletter = settings.newsletter("weekly")

    def edition_at(when: datetime) -> dict[int, str]:
        edition = make_edition(settings, store, newsletter, when, force=True)
        assert edition is not None
        claimed = store.claim_deliveries(50, "t", when, edition_id=edition.id)
        store.release_deliveries([d.id for d in claimed])  # only looked at, sent below
        return {d.subscriber_id: d.variant for d in claimed}

    first = edition_at(WEDNESDAY)
    assert set(first) == {every, weekly}
    _new_post(settings, 21, "Second week post")
    collect(settings, store, WEDNESDAY + timedelta(days=2))
    second = edition_at(WEDNESDAY + timedelta(days=2))
    assert set(second) == {every}  # inside the reader's week: skipped, not lost
    _new_post(settings, 22, "Third post")
    collect(settings, store, WEDNESDAY + timedelta(days=8))
    third = edition_at(WEDNESDAY + timedelta(days=8))
    assert set(third) == {every, weekly}
    assert ";" not in third[every]
    assert ";" in third[weekly]  # catch-up part: the skipped edition's post

    # the sender renders the catch-up: the weekly reader's mail names both new posts
    assert deliver(settings, store, lambda: WEDNESDAY + timedelta(days=8), quiet=True).sent >= 2
    mails = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in settings.mail.outbox.glob("*.eml")
    ]
    texts = {
        (m["To"], m.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
        for m in mails
    }
    weekly_texts = [t for to, t in texts if to == "weekly@example.com" and "Third post" in t]
    assert len(weekly_texts) == 1 and "Second week post" in weekly_texts[0]
