"""Newsletter run state and editions, each written with its delivery rows in one transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from syndicator.model import DeliveryStatus, Edition, Post
from syndicator.store.database import Conflict, Database
from syndicator.store.posts import chunks, post_from_row
from syndicator.store.schema import deliveries, edition_posts, editions, newsletters, post_topics
from syndicator.store.schema import posts as posts_table

__all__ = ["EditionRecords", "NewsletterState"]

log = logging.getLogger(__name__)

RECIPIENT_CHUNK = 5000  # delivery rows per executemany
ANALYZE_AFTER = 10_000  # deliveries in one edition that make PostgreSQL statistics stale


@dataclass(frozen=True, slots=True)
class NewsletterState:
    """When a newsletter began (posts seen before are not news), its last run and edition."""

    started: datetime
    last_run: datetime | None
    last_number: int


def _edition(row: Row[Any], post_ids: Sequence[str]) -> Edition:
    return Edition(
        id=row.id,
        newsletter=row.newsletter,
        number=row.number,
        created=row.created,
        subject=row.subject,
        post_ids=tuple(post_ids),
        html=row.html,
    )


def _last_number(conn: Connection, newsletter: str) -> int:
    query = sa.select(sa.func.max(editions.c.number)).where(editions.c.newsletter == newsletter)
    return int(conn.execute(query).scalar() or 0)


def _announced(newsletter: str) -> sa.Exists:
    """Posts already in an edition of this newsletter (correlated with the posts table)."""
    return (
        sa.exists()
        .where(edition_posts.c.post_id == posts_table.c.id)
        .where(edition_posts.c.edition_id == editions.c.id)
        .where(editions.c.newsletter == newsletter)
    )


class EditionRecords:
    """Newsletters, editions and the posts each edition announced."""

    _db: Database

    def newsletter_state(self, name: str, now: datetime) -> NewsletterState:
        """The newsletter's state; the first call records ``now`` as its start."""
        with self._db.write() as conn:
            self._db.upsert(conn, newsletters, [{"name": name, "started": now}], update=())
            row = conn.execute(sa.select(newsletters).where(newsletters.c.name == name)).one()
            return NewsletterState(row.started, row.last_run, _last_number(conn, name))

    def mark_run(self, name: str, at: datetime) -> None:
        with self._db.write() as conn:
            self._db.upsert(
                conn,
                newsletters,
                [{"name": name, "started": at, "last_run": at}],
                update=["last_run"],
            )

    def unannounced_posts(
        self,
        newsletter: str,
        *,
        started: datetime,
        since: datetime,
        topics: Collection[str] = (),
        limit: int,
    ) -> list[Post]:
        """Posts for the next edition, NEWEST FIRST: not removed, not yet in an edition of this
        newsletter, first seen after it started or published since ``since``; in ``topics``."""
        query = (
            sa.select(posts_table)
            .where(posts_table.c.removed.is_(None))
            .where(~_announced(newsletter))
            .where(sa.or_(posts_table.c.first_seen > started, posts_table.c.published >= since))
        )
        if topics:
            query = query.where(
                sa.exists().where(
                    post_topics.c.post_id == posts_table.c.id,
                    post_topics.c.topic.in_(list(topics)),
                )
            )
        query = query.order_by(posts_table.c.published.desc(), posts_table.c.id).limit(limit)
        with self._db.read() as conn:
            return [post_from_row(r) for r in conn.execute(query).mappings()]

    def create_edition(
        self,
        newsletter: str,
        subject: str,
        post_ids: Sequence[str],
        html: str,
        created: datetime,
        recipients: Iterable[tuple[int, str, str]],
        *,
        number: int | None = None,
    ) -> Edition | None:
        """Write the edition, its posts and one pending delivery per (subscriber_id, email,
        variant) in one transaction. Returns None when another run got there first: ``number``
        (the number the caller expects, e.g. last_number + 1) or any of the posts is taken."""
        try:
            with self._db.write() as conn:
                last = _last_number(conn, newsletter)
                if number is not None and number <= last:
                    log.info("edition exists newsletter=%s number=%d", newsletter, number)
                    return None
                if self._any_announced(conn, newsletter, post_ids):
                    log.info("edition posts already announced newsletter=%s", newsletter)
                    return None
                edition_number = number if number is not None else last + 1
                values = {
                    "newsletter": newsletter,
                    "number": edition_number,
                    "subject": subject,
                    "html": html,
                    "created": created,
                }
                insert = editions.insert().values(values).returning(editions.c.id)
                edition_id = int(conn.execute(insert).scalar_one())
                ids = list(dict.fromkeys(post_ids))
                if ids:
                    rows = [
                        {"edition_id": edition_id, "post_id": p, "position": i}
                        for i, p in enumerate(ids)
                    ]
                    conn.execute(edition_posts.insert(), rows)
                count = self._insert_deliveries(conn, edition_id, recipients)
        except Conflict:
            log.info("edition made concurrently newsletter=%s", newsletter)
            return None
        if count >= ANALYZE_AFTER and not self._db.is_sqlite:
            # Fresh planner statistics, or claims sort every pending row instead of using the
            # pending-rows index (measured: 90 ms instead of 5 ms per batch of 500 at 100,000 rows).
            with self._db.write() as conn:
                conn.execute(sa.text("ANALYZE deliveries"))
        log.info(
            "edition created newsletter=%s number=%d posts=%d deliveries=%d",
            newsletter,
            edition_number,
            len(ids),
            count,
        )
        return Edition(
            id=edition_id,
            newsletter=newsletter,
            number=edition_number,
            created=created,
            subject=subject,
            post_ids=tuple(ids),
            html=html,
        )

    @staticmethod
    def _any_announced(conn: Connection, newsletter: str, post_ids: Sequence[str]) -> bool:
        for part in chunks(list(post_ids)):
            query = (
                sa.select(edition_posts.c.post_id)
                .join(editions, editions.c.id == edition_posts.c.edition_id)
                .where(editions.c.newsletter == newsletter, edition_posts.c.post_id.in_(part))
                .limit(1)
            )
            if conn.execute(query).first() is not None:
                return True
        return False

    @staticmethod
    def _insert_deliveries(
        conn: Connection, edition_id: int, recipients: Iterable[tuple[int, str, str]]
    ) -> int:
        seen: set[int] = set()
        count = 0
        pending = DeliveryStatus.PENDING.value
        iterator = iter(recipients)
        while batch := list(islice(iterator, RECIPIENT_CHUNK)):
            rows = []
            for subscriber_id, email, variant in batch:
                if subscriber_id in seen:
                    continue
                seen.add(subscriber_id)
                rows.append(
                    {
                        "id": uuid.uuid4().hex,
                        "edition_id": edition_id,
                        "subscriber_id": subscriber_id,
                        "email": email,
                        "variant": variant,
                        "status": pending,
                        "attempts": 0,
                    }
                )
            if rows:
                conn.execute(deliveries.insert(), rows)
                count += len(rows)
        return count

    def _editions(
        self, conn: Connection, where: Sequence[sa.ColumnElement[bool]], limit: int | None
    ) -> list[Edition]:
        query = sa.select(editions).where(*where).order_by(editions.c.id.desc()).limit(limit)
        rows = list(conn.execute(query))
        ids_by_edition: dict[int, list[str]] = {r.id: [] for r in rows}
        for part in chunks(list(ids_by_edition)):
            posts_query = (
                sa.select(edition_posts.c.edition_id, edition_posts.c.post_id)
                .where(edition_posts.c.edition_id.in_(part))
                .order_by(edition_posts.c.edition_id, edition_posts.c.position)
            )
            for link in conn.execute(posts_query):
                ids_by_edition[link.edition_id].append(link.post_id)
        return [_edition(r, ids_by_edition[r.id]) for r in rows]

    def editions(self, newsletter: str | None = None, limit: int | None = 50) -> list[Edition]:
        """Editions newest first, optionally of one newsletter."""
        where = [] if newsletter is None else [editions.c.newsletter == newsletter]
        with self._db.read() as conn:
            return self._editions(conn, where, limit)

    def last_received(self, newsletter: str, subscriber_ids: Collection[int]) -> dict[int, int]:
        """Per subscriber, the newest edition number of this newsletter made for them."""
        found: dict[int, int] = {}
        for chunk in chunks(sorted(set(subscriber_ids)), 500):
            query = (
                sa.select(deliveries.c.subscriber_id, sa.func.max(editions.c.number))
                .join(editions, editions.c.id == deliveries.c.edition_id)
                .where(
                    editions.c.newsletter == newsletter,
                    deliveries.c.subscriber_id.in_(chunk),
                    deliveries.c.status != DeliveryStatus.SUPPRESSED.value,
                )
                .group_by(deliveries.c.subscriber_id)
            )
            with self._db.read() as conn:
                found.update({int(a): int(b) for a, b in conn.execute(query)})
        return found

    def get_edition(self, newsletter: str, number: int) -> Edition | None:
        where = [editions.c.newsletter == newsletter, editions.c.number == number]
        with self._db.read() as conn:
            found = self._editions(conn, where, 1)
        return found[0] if found else None

    def edition(self, edition_id: int) -> Edition | None:
        with self._db.read() as conn:
            found = self._editions(conn, [editions.c.id == edition_id], 1)
        return found[0] if found else None

    def edition_posts(self, edition_id: int) -> list[Post]:
        """The edition's posts in the order it announced them (removed posts included)."""
        query = (
            sa.select(posts_table)
            .join(edition_posts, edition_posts.c.post_id == posts_table.c.id)
            .where(edition_posts.c.edition_id == edition_id)
            .order_by(edition_posts.c.position)
        )
        with self._db.read() as conn:
            return [post_from_row(r) for r in conn.execute(query).mappings()]
