"""Benchmark: one edition of 10 posts for 100,000 subscribers over 5 content variants.

Subscribers are streamed page by page from a real SQLite store (``Store.subscribers``); every
message is made to complete RFC 5322 bytes (personalize + message_bytes) and dropped into a
null sink, so no message is kept. Prints messages/s, premailer calls and peak memory (max RSS).

    python bench/digest.py [--subscribers 100000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import premailer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syndicator.deliver.mime import message_bytes
from syndicator.model import Entry, Post, Subscriber, SubscriberStatus
from syndicator.render.digest import DigestRenderer
from syndicator.store import Store
from syndicator.store.schema import subscribers, subscriptions
from syndicator.tokens import TokenSigner
from tests.render.digest_samples import KEYS, NEWSLETTER, SITE, settings

TOPICS = ("모델", "로봇", "정책", "반도체", "연구")


def _entries() -> list[Entry]:
    start = datetime(2026, 1, 12, tzinfo=UTC)
    entries = []
    for number in range(10):
        url = f"{SITE}/news/2026-01-{12 + number % 7}-post-{number}/"
        summary = (
            f"{number}번째 글의 요약입니다. 새로 나온 연구와 제품 소식을 짧게 정리하고, "
            "무엇이 달라졌는지와 왜 중요한지를 함께 설명합니다. " * 2
        ).strip()
        post = Post(
            id=url,
            url=url,
            title=f"이번 주의 소식 {number}: 작은 모델과 큰 변화",
            published=start + timedelta(hours=7 * number),
            updated=start + timedelta(hours=7 * number),
            source="blog",
            body=summary,
            image=f"/images/news/post-{number}.png" if number % 3 == 0 else None,
            categories=(TOPICS[number % len(TOPICS)],),
        )
        entries.append(Entry(post, f"<p>{summary}</p>", f"<p>{summary}</p>", summary))
    return entries


def _fill(store: Store, count: int) -> None:
    """Bulk insert ``count`` active subscribers of the newsletter (setup, not timed)."""
    created = datetime(2025, 12, 1, tzinfo=UTC)
    for start in range(0, count, 10_000):
        numbers = range(start, min(start + 10_000, count))
        rows = [
            {
                "id": n + 1,
                "email": f"reader{n}@example.org",
                "email_key": f"reader{n}@example.org",
                "name": "김민지" if n % 2 else "Alex Kim",
                "status": SubscriberStatus.ACTIVE.value,
                "created": created,
                "confirmed": created,
                "status_changed": created,
                "language": "en" if n % 5 == 4 else "ko",
            }
            for n in numbers
        ]
        subs = [
            {
                "subscriber_id": n + 1,
                "newsletter": NEWSLETTER.name,
                "topics": [],
                "frequency": "weekly",
            }
            for n in numbers
        ]
        with store._db.write() as conn:
            conn.execute(subscribers.insert(), rows)
            conn.execute(subscriptions.insert(), subs)


def _stream(store: Store) -> Iterator[Subscriber]:
    return store.subscribers(newsletter=NEWSLETTER.name, status=SubscriberStatus.ACTIVE)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=100_000)
    args = parser.parse_args()

    calls = 0
    transform = premailer.Premailer.transform

    def counted(self: premailer.Premailer, *a: object, **kw: object) -> str:
        nonlocal calls
        calls += 1
        result: str = transform(self, *a, **kw)
        return result

    premailer.Premailer.transform = counted

    entries = _entries()
    tmp = tempfile.TemporaryDirectory(prefix="digest-bench-")
    config = settings(Path(tmp.name))
    store = Store.open(f"sqlite:///{Path(tmp.name) / 'bench.sqlite'}")
    _fill(store, args.subscribers)
    renderer = DigestRenderer(config, NEWSLETTER)
    signer = TokenSigner(KEYS)
    started = time.perf_counter()
    # 5 variants: 4 topic-filtered Korean sets and the full set in English.
    variants = [
        renderer.render_variant(
            [e for e in entries if e.post.categories[0] != topic],
            edition_number=7,
            language="ko",
        )
        for topic in TOPICS[:4]
    ]
    variants.append(renderer.render_variant(entries, edition_number=7, language="en"))
    rendered = time.perf_counter()

    cpu_started = time.process_time()
    count = 0
    total_bytes = 0
    for subscriber in _stream(store):
        variant = variants[subscriber.id % len(variants)]
        message = renderer.personalize(
            variant, subscriber, delivery_id=f"7-{subscriber.id}", signer=signer
        )
        total_bytes += len(message_bytes(message))  # the null sink
        count += 1
    finished = time.perf_counter()
    cpu = time.process_time() - cpu_started
    store.close()
    tmp.cleanup()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds = finished - rendered
    print(f"variants rendered: {len(variants)} in {rendered - started:.2f} s")
    print(f"premailer calls: {calls}")
    print(f"messages: {count} in {seconds:.2f} s = {count / seconds:,.0f} messages/s")
    print(f"  per CPU second (unaffected by other load): {count / cpu:,.0f} messages/s")
    print(f"average message size: {total_bytes / count / 1024:.1f} KiB")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
