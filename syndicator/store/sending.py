"""What a sender claims: delivery rows together with what personalizing them needs.

One write transaction claims the rows and reads each reader's name, status, subscriptions
and suppression; rows that must not go out any more (the address was suppressed, the reader
was removed, unsubscribed or left the newsletter after the edition was made) are settled as
suppressed right there, so the sender never needs a query per batch of its own.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syndicator.model import Delivery, DeliveryStatus, Recipient, SubscriberStatus
from syndicator.store.database import Database
from syndicator.store.deliveries import claim_statement
from syndicator.store.posts import chunks
from syndicator.store.schema import deliveries, editions, subscribers, subscriptions, suppressions

__all__ = ["SKIP_REMOVED", "SKIP_SUPPRESSED", "SKIP_UNSUBSCRIBED", "Claim", "SendingRecords"]

log = logging.getLogger(__name__)

SKIP_SUPPRESSED = "address is suppressed"
SKIP_REMOVED = "subscriber removed"
SKIP_UNSUBSCRIBED = "unsubscribed before sending"
_ACTIVE = SubscriberStatus.ACTIVE.value
_SUPPRESSED = DeliveryStatus.SUPPRESSED.value

Row = tuple[str, int, int, str, str]  # delivery id, edition id, subscriber id, email, variant


@dataclass
class Claim:
    """The rows to personalize and send, and the rows settled without sending, by reason."""

    recipients: list[Recipient] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.recipients) + sum(self.skipped.values())


class SendingRecords:
    """Claims for senders: ``claim_recipients`` and, for a batch taken over, ``recipients``."""

    _db: Database

    def claim_recipients(
        self, limit: int, worker: str, now: datetime, edition_id: int | None = None
    ) -> Claim:
        """Claim up to ``limit`` due pending rows, as ``claim_deliveries`` does, with readers."""
        claim = claim_statement(self._db, limit, worker, now, edition_id).returning(
            deliveries.c.id,
            deliveries.c.edition_id,
            deliveries.c.subscriber_id,
            deliveries.c.email,
            deliveries.c.variant,
        )
        with self._db.write() as conn:
            rows: list[Row] = [tuple(r) for r in conn.execute(claim)]
            found = _recipients(conn, rows)
        log.debug("deliveries claimed worker=%s count=%d", worker, len(rows))
        return found

    def recipients(self, batch: Sequence[Delivery]) -> Claim:
        """Readers for rows already claimed (a stale batch taken over), settling as a claim does."""
        rows = [(d.id, d.edition_id, d.subscriber_id, d.email, d.variant) for d in batch]
        with self._db.write() as conn:
            return _recipients(conn, rows)


def _recipients(conn: Connection, rows: list[Row]) -> Claim:
    claim = Claim()
    if not rows:
        return claim
    rows.sort(key=lambda r: (r[1], r[2]))  # claim order: edition, then subscriber
    reader_ids = sorted({r[2] for r in rows})
    query = sa.select(editions.c.id, editions.c.newsletter).where(
        editions.c.id.in_(sorted({r[1] for r in rows}))
    )
    newsletters: dict[int, str] = {i: n for i, n in conn.execute(query)}
    readers: dict[int, tuple[str, str]] = {}
    subscribed: set[tuple[int, str]] = set()
    for part in chunks(reader_ids):
        people = sa.select(subscribers.c.id, subscribers.c.name, subscribers.c.status)
        readers.update(
            (i, (name, status))
            for i, name, status in conn.execute(people.where(subscribers.c.id.in_(part)))
        )
        subs = sa.select(subscriptions.c.subscriber_id, subscriptions.c.newsletter)
        subscribed.update(
            (i, n) for i, n in conn.execute(subs.where(subscriptions.c.subscriber_id.in_(part)))
        )
    blocked: set[str] = set()
    for keys in chunks(sorted({r[3].strip().lower() for r in rows})):
        blocked.update(
            conn.execute(sa.select(suppressions.c.email).where(suppressions.c.email.in_(keys)))
            .scalars()
        )
    settled: list[dict[str, str]] = []
    for delivery_id, edition_id, reader_id, email, variant in rows:
        reader = readers.get(reader_id)
        if email.strip().lower() in blocked:
            reason = SKIP_SUPPRESSED
        elif reader is None:
            reason = SKIP_REMOVED
        elif reader[1] != _ACTIVE or (reader_id, newsletters.get(edition_id)) not in subscribed:
            reason = SKIP_UNSUBSCRIBED
        else:
            claim.recipients.append(
                Recipient(delivery_id, edition_id, variant, reader_id, email, reader[0])
            )
            continue
        claim.skipped[reason] += 1
        settled.append({"_id": delivery_id, "error": reason})
    if settled:
        conn.execute(
            deliveries.update()
            .where(deliveries.c.id == sa.bindparam("_id"))
            .values(status=_SUPPRESSED, error=sa.bindparam("error"), worker=None),
            settled,
        )
        log.info("deliveries settled without sending %s", dict(claim.skipped))
    return claim
