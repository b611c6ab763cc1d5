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
from syndicator.store.deliveries import claim_statement, suppressed_keys, suppression_key
from syndicator.store.schema import deliveries, editions, subscribers, subscriptions

__all__ = ["SKIP_REMOVED", "SKIP_SUPPRESSED", "SKIP_UNSUBSCRIBED", "Claim", "SendingRecords"]

log = logging.getLogger(__name__)

SKIP_SUPPRESSED = "address is suppressed"
SKIP_REMOVED = "subscriber removed"
SKIP_UNSUBSCRIBED = "unsubscribed before sending"
_ACTIVE = SubscriberStatus.ACTIVE.value
_SUPPRESSED = DeliveryStatus.SUPPRESSED.value


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
        claim = claim_statement(self._db, limit, worker, now, edition_id)
        with self._db.write() as conn:
            ids = set(conn.execute(claim.returning(deliveries.c.id)).scalars())
            found = _recipients(conn, worker, now, ids)
        log.debug("deliveries claimed worker=%s count=%d", worker, len(found))
        return found

    def recipients(self, batch: Sequence[Delivery], worker: str, claimed_at: datetime) -> Claim:
        """Readers for ``batch``, rows ``worker`` claimed at ``claimed_at`` (a stale batch it
        took over), settling as a claim does."""
        with self._db.write() as conn:
            return _recipients(conn, worker, claimed_at, {d.id for d in batch})


# The rows of one claim with their readers, in claim order: one statement of fixed shape
# (no IN list to expand per batch), found through ix_deliveries_sending by claim time.
_CLAIMED = (
    sa.select(
        deliveries.c.id,
        deliveries.c.edition_id,
        deliveries.c.subscriber_id,
        deliveries.c.email,
        deliveries.c.variant,
        subscribers.c.id,
        subscribers.c.name,
        subscribers.c.status,
        subscriptions.c.subscriber_id,
    )
    .select_from(
        deliveries.join(editions, editions.c.id == deliveries.c.edition_id)
        .outerjoin(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
        .outerjoin(
            subscriptions,
            sa.and_(
                subscriptions.c.subscriber_id == deliveries.c.subscriber_id,
                subscriptions.c.newsletter == editions.c.newsletter,
            ),
        )
    )
    .where(
        deliveries.c.status == sa.literal_column(f"'{DeliveryStatus.SENDING.value}'"),
        deliveries.c.claimed_at == sa.bindparam("claimed_at"),
        deliveries.c.worker == sa.bindparam("worker"),
    )
    .order_by(deliveries.c.edition_id, deliveries.c.subscriber_id)
)


def _recipients(conn: Connection, worker: str, claimed_at: datetime, ids: set[str]) -> Claim:
    """The claimed rows ``ids`` with their readers (the same worker tag and time may have
    claimed before: only these rows count)."""
    claim = Claim()
    if not ids:
        return claim
    found = conn.execute(_CLAIMED, {"worker": worker, "claimed_at": claimed_at})
    rows = [row for row in found if row[0] in ids]
    blocked = suppressed_keys(conn, [r[3] for r in rows])
    settled: list[dict[str, str]] = []
    for delivery_id, edition_id, reader_id, email, variant, found, name, status, member in rows:
        if blocked and suppression_key(email) in blocked:
            reason = SKIP_SUPPRESSED
        elif found is None:
            reason = SKIP_REMOVED
        elif status != _ACTIVE or member is None:
            reason = SKIP_UNSUBSCRIBED
        else:
            claim.recipients.append(
                Recipient(delivery_id, edition_id, variant, reader_id, email, name)
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
