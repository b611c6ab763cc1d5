"""Subscribers, their subscriptions, and the suppression list."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from syndicator.model import DeliveryStatus, Subscriber, SubscriberStatus, Subscription
from syndicator.store.database import Conflict, Database
from syndicator.store.posts import chunks
from syndicator.store.schema import deliveries, subscribers, subscriptions, suppressions

__all__ = ["SubscriberRecords", "Suppression"]

log = logging.getLogger(__name__)

PAGE = 1000  # subscribers per query while streaming
# What a Subscriber holds: streaming skips the columns it does not need (email_key, ...).
_SUBSCRIBER_COLUMNS = tuple(
    subscribers.c[name]
    for name in ("id", "email", "name", "status", "created", "confirmed", "language")
)


@dataclass(frozen=True, slots=True)
class Suppression:
    """An address nothing may be sent to (bounced, complained, removed on request)."""

    email: str
    reason: str
    source: str
    created: datetime


def _key(email: str) -> str:
    return email.strip().lower()


def _subscriber(row: RowMapping, subs: Sequence[Subscription]) -> Subscriber:
    return Subscriber(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        status=SubscriberStatus(row["status"]),
        created=row["created"],
        confirmed=row["confirmed"],
        language=row["language"],
        subscriptions=tuple(subs),
    )


_STATUSES = {status.value: status for status in SubscriberStatus}


def _status(value: str) -> SubscriberStatus:
    """The status for a stored value, by dict lookup (the Enum call is slower per row)."""
    found = _STATUSES.get(value)
    return found if found is not None else SubscriberStatus(value)


def _subscriptions(conn: Connection, ids: Sequence[int]) -> dict[int, list[Subscription]]:
    found: dict[int, list[Subscription]] = {i: [] for i in ids}
    # Equal subscriptions (frozen values) are made once and shared: most readers of a page
    # hold the same newsletter, topics and frequency.
    made: dict[tuple[str, tuple[str, ...], str], Subscription] = {}
    for part in chunks(ids):
        query = (
            sa.select(
                subscriptions.c.subscriber_id,
                subscriptions.c.newsletter,
                subscriptions.c.topics,
                subscriptions.c.frequency,
            )
            .where(subscriptions.c.subscriber_id.in_(part))
            .order_by(subscriptions.c.subscriber_id, subscriptions.c.newsletter)
        )
        for subscriber_id, newsletter, topics, frequency in conn.execute(query).all():
            key = (newsletter, tuple(topics), frequency)
            sub = made.get(key)
            if sub is None:
                sub = made[key] = Subscription(*key)
            found[subscriber_id].append(sub)
    return found


def _subscription_row(subscriber_id: int, sub: Subscription) -> dict[str, object]:
    return {
        "subscriber_id": subscriber_id,
        "newsletter": sub.newsletter,
        "topics": list(sub.topics),
        "frequency": sub.frequency,
    }


class SubscriberRecords:
    """Subscribers keyed by a case-insensitive email, and suppressed addresses."""

    _db: Database

    def add_subscriber(
        self,
        email: str,
        *,
        name: str = "",
        newsletters: Sequence[str] = (),
        status: SubscriberStatus = SubscriberStatus.PENDING,
        language: str | None = None,
        now: datetime,
    ) -> Subscriber:
        """Add, or merge into an existing subscriber with this email (case-insensitive).

        For an existing subscriber: newsletters are added, an empty name or language is filled,
        ACTIVE confirms a pending one, and PENDING restarts opt-in for an unsubscribed one.
        Bounced and complained subscribers keep their status.
        """
        email = email.strip()
        args = (email, name, newsletters, status, language, now)
        try:
            with self._db.write() as conn:
                subscriber_id = self._merge_subscriber(conn, *args)
        except Conflict:  # another process added the same email meanwhile: merge
            with self._db.write() as conn:
                subscriber_id = self._merge_subscriber(conn, *args)
        found = self.get_subscriber(subscriber_id)
        assert found is not None
        return found

    def _merge_subscriber(
        self,
        conn: Connection,
        email: str,
        name: str,
        newsletters: Sequence[str],
        status: SubscriberStatus,
        language: str | None,
        now: datetime,
    ) -> int:
        row = conn.execute(
            sa.select(subscribers).where(subscribers.c.email_key == _key(email))
        ).first()
        if row is None:
            values = {
                "email": email,
                "email_key": _key(email),
                "name": name,
                "status": status.value,
                "created": now,
                "confirmed": now if status is SubscriberStatus.ACTIVE else None,
                "status_changed": now,
                "language": language,
            }
            insert = subscribers.insert().values(values).returning(subscribers.c.id)
            subscriber_id = int(conn.execute(insert).scalar_one())
            log.info("subscriber added id=%d status=%s", subscriber_id, status.value)
        else:
            subscriber_id = row.id
            changes: dict[str, object] = {}
            if name and not row.name:
                changes["name"] = name
            if language and not row.language:
                changes["language"] = language
            old = SubscriberStatus(row.status)
            if (status is SubscriberStatus.ACTIVE and old is SubscriberStatus.PENDING) or (
                status is SubscriberStatus.PENDING and old is SubscriberStatus.UNSUBSCRIBED
            ):
                changes.update(status=status.value, status_changed=now)
                if status is SubscriberStatus.ACTIVE and row.confirmed is None:
                    changes["confirmed"] = now
            if changes:
                conn.execute(subscribers.update().where(subscribers.c.id == row.id).values(changes))
        have = set(
            conn.execute(
                sa.select(subscriptions.c.newsletter).where(
                    subscriptions.c.subscriber_id == subscriber_id
                )
            ).scalars()
        )
        rows = [
            _subscription_row(subscriber_id, Subscription(n))
            for n in dict.fromkeys(newsletters)
            if n not in have
        ]
        # a concurrent merge may add the same subscription: keep the first, never fail
        self._db.upsert(conn, subscriptions, rows, update=())
        return subscriber_id

    def get_subscriber(self, email_or_id: str | int) -> Subscriber | None:
        if isinstance(email_or_id, int):
            where = subscribers.c.id == email_or_id
        else:
            where = subscribers.c.email_key == _key(email_or_id)
        with self._db.read() as conn:
            row = conn.execute(sa.select(subscribers).where(where)).mappings().first()
            if row is None:
                return None
            return _subscriber(row, _subscriptions(conn, [row["id"]])[row["id"]])

    def _filtered(
        self, newsletter: str | None, status: SubscriberStatus | None
    ) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if newsletter is not None:
            where.append(
                sa.exists().where(
                    subscriptions.c.subscriber_id == subscribers.c.id,
                    subscriptions.c.newsletter == newsletter,
                )
            )
        if status is not None:
            where.append(subscribers.c.status == SubscriberStatus(status).value)
        return where

    def subscribers(
        self, *, newsletter: str | None = None, status: SubscriberStatus | None = None
    ) -> Iterator[Subscriber]:
        """Stream subscribers by id, one page at a time; no transaction stays open between pages."""
        where = self._filtered(newsletter, status)
        last = 0
        while True:
            query = (
                sa.select(*_SUBSCRIBER_COLUMNS)
                .where(subscribers.c.id > last, *where)
                .order_by(subscribers.c.id)
                .limit(PAGE)
            )
            with self._db.read() as conn:
                rows = conn.execute(query).all()  # one fetch, plain rows: no per-row mapping
                subs = _subscriptions(conn, [r[0] for r in rows])
            for id_, email, name, status, created, confirmed, language in rows:
                yield Subscriber(
                    id=id_,
                    email=email,
                    name=name,
                    status=_status(status),
                    created=created,
                    confirmed=confirmed,
                    language=language,
                    subscriptions=tuple(subs[id_]),
                )
            if len(rows) < PAGE:
                return
            last = rows[-1][0]

    def count_subscribers(
        self, *, newsletter: str | None = None, status: SubscriberStatus | None = None
    ) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(subscribers)
            .where(*self._filtered(newsletter, status))
        )
        with self._db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def set_status(self, subscriber_id: int, status: SubscriberStatus, now: datetime) -> bool:
        """Change a subscriber's status; activation records the confirmation time once."""
        values: dict[str, object] = {"status": SubscriberStatus(status).value}
        values["status_changed"] = now
        if status is SubscriberStatus.ACTIVE:
            values["confirmed"] = sa.func.coalesce(subscribers.c.confirmed, now)
        with self._db.write() as conn:
            result = conn.execute(
                subscribers.update().where(subscribers.c.id == subscriber_id).values(values)
            )
        log.info("subscriber status id=%d status=%s", subscriber_id, values["status"])
        return result.rowcount > 0

    def set_subscriptions(self, subscriber_id: int, subs: Sequence[Subscription]) -> None:
        """Replace all of a subscriber's subscriptions."""
        unique = {s.newsletter: s for s in subs}
        with self._db.write() as conn:
            conn.execute(
                subscriptions.delete().where(
                    subscriptions.c.subscriber_id == subscriber_id,
                    subscriptions.c.newsletter.not_in(list(unique)),
                )
            )
            # upsert, not insert: a concurrent replacement of the same rows must not fail
            rows = [_subscription_row(subscriber_id, s) for s in unique.values()]
            self._db.upsert(conn, subscriptions, rows)

    def set_language(self, subscriber_id: int, language: str | None) -> None:
        with self._db.write() as conn:
            conn.execute(
                subscribers.update()
                .where(subscribers.c.id == subscriber_id)
                .values(language=language)
            )

    def remove_subscriber(
        self,
        email: str,
        *,
        suppress: bool = False,
        reason: str = "removed on request",
        now: datetime | None = None,
    ) -> bool:
        """Delete the subscriber's personal data: their row, and the address on past deliveries.

        Unsent deliveries to them are marked suppressed. ``suppress`` keeps the address on the
        suppression list (needs ``now``), so an import cannot add it back by mistake.
        """
        with self._db.write() as conn:
            row = conn.execute(
                sa.select(subscribers.c.id).where(subscribers.c.email_key == _key(email))
            ).first()
            if row is not None:
                open_states = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)
                conn.execute(
                    deliveries.update()
                    .where(deliveries.c.subscriber_id == row.id)
                    .where(deliveries.c.status.in_(open_states))
                    .values(status=DeliveryStatus.SUPPRESSED.value, error="subscriber removed")
                )
                conn.execute(
                    deliveries.update().where(deliveries.c.subscriber_id == row.id).values(email="")
                )
                conn.execute(subscribers.delete().where(subscribers.c.id == row.id))
                log.info("subscriber removed id=%d", row.id)
            if suppress:
                if now is None:
                    raise ValueError("remove_subscriber(suppress=True) needs now")
                self._suppress(conn, email, reason, now, "removed")
        return row is not None

    # --- suppressions ----------------------------------------------------------------------

    def _suppress(
        self, conn: Connection, email: str, reason: str, now: datetime, source: str
    ) -> None:
        row = {"email": _key(email), "reason": reason, "source": source, "created": now}
        self._db.upsert(conn, suppressions, [row], update=["reason", "source"])

    def suppress(self, email: str, reason: str, now: datetime, source: str = "") -> None:
        """Put an address on the suppression list (a second call updates the reason)."""
        with self._db.write() as conn:
            self._suppress(conn, email, reason, now, source)
        log.info("address suppressed reason=%s source=%s", reason, source)

    def is_suppressed(self, email: str) -> bool:
        return bool(self.suppressed([email]))

    def suppressed(self, emails: Collection[str]) -> set[str]:
        """The given addresses (as given) that are on the suppression list."""
        by_key: dict[str, list[str]] = {}
        for email in emails:
            by_key.setdefault(_key(email), []).append(email)
        found: set[str] = set()
        with self._db.read() as conn:
            for part in chunks(list(by_key)):
                query = sa.select(suppressions.c.email).where(suppressions.c.email.in_(part))
                for key in conn.execute(query).scalars():
                    found.update(by_key[key])
        return found

    def unsuppress(self, email: str) -> bool:
        with self._db.write() as conn:
            result = conn.execute(suppressions.delete().where(suppressions.c.email == _key(email)))
        return result.rowcount > 0

    def suppressions(self) -> list[Suppression]:
        with self._db.read() as conn:
            rows = conn.execute(sa.select(suppressions).order_by(suppressions.c.email))
            return [Suppression(r.email, r.reason, r.source, r.created) for r in rows]
