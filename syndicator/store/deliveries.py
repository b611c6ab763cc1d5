"""Delivery rows: claimed by senders in batches, settled by the provider's receipts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from syndicator.model import Delivery, DeliveryStatus, Receipt
from syndicator.store.bulk import chunks, update_many
from syndicator.store.database import Database
from syndicator.store.schema import deliveries, suppressions

__all__ = ["DeliveryRecords", "claim_statement", "suppressed_keys", "suppression_key"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=1)  # doubled after each retryable failure
LONGEST_RETRY = timedelta(hours=6)

_PENDING = DeliveryStatus.PENDING.value
_SENDING = DeliveryStatus.SENDING.value
# The status is written into the SQL text, not bound: a generic plan (PostgreSQL settles on one
# for a statement psycopg has prepared, after five runs) can use the partial indexes
# ix_deliveries_pending / _sending only when their predicate is visible in the query itself.
_IS_PENDING = deliveries.c.status == sa.literal_column(f"'{_PENDING}'")
_IS_SENDING = deliveries.c.status == sa.literal_column(f"'{_SENDING}'")


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        edition_id=row.edition_id,
        subscriber_id=row.subscriber_id,
        email=row.email,
        status=DeliveryStatus(row.status),
        variant=row.variant,
        attempts=row.attempts,
        provider_id=row.provider_id,
        error=row.error,
        sent_at=row.sent_at,
    )


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 1, 2, 4, ... minutes, at most 6 h."""
    return min(FIRST_RETRY * (1 << max(attempts - 1, 0)), LONGEST_RETRY)


# One statement for every batch of sent rows (compiled once); a row already settled stays.
_MARK_SENT = (
    deliveries.update()
    .where(deliveries.c.id == sa.bindparam("_id"), sa.or_(_IS_PENDING, _IS_SENDING))
    .values(
        status=DeliveryStatus.SENT.value,
        attempts=deliveries.c.attempts + 1,
        provider_id=sa.bindparam("provider_id"),
        sent_at=sa.bindparam("sent_at"),
        error=None,
        worker=None,
    )
)


def suppression_key(email: str) -> str:
    """How an address is kept on the suppression list (Python's lower(): SQLite's knows ASCII
    only)."""
    return email.strip().lower()


def suppressed_keys(conn: Connection, emails: Sequence[str]) -> set[str]:
    """The suppression keys of ``emails`` that are on the suppression list."""
    found: set[str] = set()
    for keys in chunks(sorted({suppression_key(e) for e in emails})):
        query = sa.select(suppressions.c.email).where(suppressions.c.email.in_(keys))
        found.update(conn.execute(query).scalars())
    return found


def claim_statement(
    db: Database, limit: int, worker: str, now: datetime, edition_id: int | None
) -> sa.Update:
    """UPDATE up to ``limit`` due pending rows, in claim order, to sending for ``worker``."""
    pick = (
        sa.select(deliveries.c.id)
        .where(_IS_PENDING)
        .where(sa.or_(deliveries.c.not_before.is_(None), deliveries.c.not_before <= now))
        .order_by(deliveries.c.edition_id, deliveries.c.subscriber_id)
        .limit(limit)
    )
    if edition_id is not None:
        pick = pick.where(deliveries.c.edition_id == edition_id)
    if not db.is_sqlite:
        pick = pick.with_for_update(skip_locked=True)
    return (
        deliveries.update()
        .where(deliveries.c.id.in_(pick))
        .values(status=_SENDING, worker=worker, claimed_at=now)
    )


class DeliveryRecords:
    """Claiming, settling and counting delivery rows."""

    _db: Database

    def claim_deliveries(
        self, limit: int, worker: str, now: datetime, edition_id: int | None = None
    ) -> list[Delivery]:
        """Move up to ``limit`` due pending rows to sending, for this worker alone.

        Concurrent claimers never get the same row (PostgreSQL: FOR UPDATE SKIP LOCKED;
        SQLite: the write lock). Rows whose address is now suppressed are marked suppressed
        and not returned, so a batch may be shorter than ``limit`` while work remains.
        """
        claim = claim_statement(self._db, limit, worker, now, edition_id).returning(*deliveries.c)
        with self._db.write() as conn:
            claimed = sorted(
                (_delivery(r) for r in conn.execute(claim)),
                key=lambda d: (d.edition_id, d.subscriber_id),
            )
            if not claimed:
                return []
            blocked = self._suppressed_ids(conn, claimed)
        log.debug("deliveries claimed worker=%s count=%d", worker, len(claimed))
        return [d for d in claimed if d.id not in blocked]

    @staticmethod
    def _suppressed_ids(conn: Connection, claimed: Sequence[Delivery]) -> set[str]:
        keys = suppressed_keys(conn, [d.email for d in claimed])
        blocked = {d.id for d in claimed if suppression_key(d.email) in keys}
        if blocked:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(list(blocked)))
                .values(
                    status=DeliveryStatus.SUPPRESSED.value,
                    error="address is suppressed",
                    worker=None,
                )
            )
            log.info("deliveries skipped as suppressed count=%d", len(blocked))
        return blocked

    def record_receipts(
        self, receipts: Sequence[Receipt], now: datetime, *, max_attempts: int = MAX_ATTEMPTS
    ) -> None:
        """Settle claimed rows: sent, failed, or (retryable) pending again after a back-off.

        A receipt with ``suppress`` also puts the address on the suppression list. Rows
        already sent are left alone, so a late duplicate receipt cannot undo a send.
        """
        if not receipts:
            return
        open_states = (_PENDING, _SENDING)
        # Sent rows (almost all of them) need no read first: attempts counts up in SQL.
        sent = [
            {"_id": r.delivery_id, "provider_id": r.provider_id, "sent_at": now}
            for r in receipts
            if r.ok
        ]
        with self._db.write() as conn:
            update_many(conn, _MARK_SENT, sent)
            current: dict[str, Any] = {}
            unsent = [r.delivery_id for r in receipts if not r.ok]
            for part in chunks(unsent):
                query = sa.select(deliveries.c.id, deliveries.c.attempts, deliveries.c.email).where(
                    deliveries.c.id.in_(part), deliveries.c.status.in_(open_states)
                )
                current.update((row.id, row) for row in conn.execute(query))
            failed: list[dict[str, Any]] = []
            retry: list[dict[str, Any]] = []
            suppress: list[dict[str, Any]] = []
            for receipt in receipts:
                row = current.get(receipt.delivery_id)
                if row is None:  # sent (above), or settled already
                    continue
                attempts = row.attempts + 1
                values = {"_id": row.id, "attempts": attempts}
                error = receipt.error or "rejected by the mail provider"
                if receipt.suppress:
                    suppress.append(
                        {"email": row.email.lower(), "reason": error, "source": "provider"}
                    )
                if receipt.retryable and not receipt.suppress and attempts < max_attempts:
                    retry.append(
                        {**values, "error": error, "not_before": now + retry_delay(attempts)}
                    )
                else:
                    failed.append({**values, "error": error})
            target = deliveries.update().where(deliveries.c.id == sa.bindparam("_id"))
            common: dict[str, Any] = {"attempts": sa.bindparam("attempts"), "worker": None}
            if failed:
                conn.execute(
                    target.values(
                        {
                            **common,
                            "status": DeliveryStatus.FAILED.value,
                            "error": sa.bindparam("error"),
                        }
                    ),
                    failed,
                )
            if retry:
                conn.execute(
                    target.values(
                        {
                            **common,
                            "status": _PENDING,
                            "error": sa.bindparam("error"),
                            "not_before": sa.bindparam("not_before"),
                        }
                    ),
                    retry,
                )
            rows = [{**s, "created": now} for s in {s["email"]: s for s in suppress}.values()]
            self._db.upsert(conn, suppressions, rows, update=["reason", "source"])
        log.info(
            "receipts recorded sent=%d failed=%d retry=%d suppressed=%d",
            len(sent),
            len(failed),
            len(retry),
            len(suppress),
        )

    def reclaim_stale_batch(
        self, older_than: datetime, worker: str, now: datetime, edition_id: int | None = None
    ) -> list[Delivery]:
        """Take over one batch a crashed sender left in ``sending``, as the same group of rows.

        A batch is the rows of one claim (one ``worker`` tag); re-sending it unchanged lets a
        provider's idempotency key (derived from the group) recognise a batch it already took.
        """
        oldest = (
            sa.select(deliveries.c.worker)
            .where(_IS_SENDING, deliveries.c.claimed_at < older_than)
            .order_by(deliveries.c.claimed_at)
            .limit(1)
        )
        if edition_id is not None:
            oldest = oldest.where(deliveries.c.edition_id == edition_id)
        with self._db.write() as conn:
            row = conn.execute(oldest).first()
            if row is None:
                return []
            same = (
                deliveries.c.worker.is_(None)
                if row.worker is None
                else deliveries.c.worker == row.worker
            )
            # The WHERE is re-checked after a concurrent taker commits, so only one gets it.
            taken = conn.execute(
                deliveries.update()
                .where(_IS_SENDING, deliveries.c.claimed_at < older_than, same)
                .values(worker=worker, claimed_at=now)
                .returning(*deliveries.c)
            )
            batch = sorted(
                (_delivery(r) for r in taken), key=lambda d: (d.edition_id, d.subscriber_id)
            )
        if batch:
            log.warning(
                "stale batch taken over from=%s worker=%s count=%d", row.worker, worker, len(batch)
            )
        return batch

    def release_deliveries(
        self, delivery_ids: Sequence[str], *, not_before: datetime | None = None, error: str = ""
    ) -> int:
        """Put claimed rows back to pending without counting an attempt.

        For a batch the provider never took as a whole (wrong key, outage): the messages did
        not fail, so they must not run out of attempts however long the outage lasts.
        """
        released = 0
        with self._db.write() as conn:
            for part in chunks(list(delivery_ids)):
                result = conn.execute(
                    deliveries.update()
                    .where(deliveries.c.id.in_(part), deliveries.c.status == _SENDING)
                    .values(
                        status=_PENDING, worker=None, not_before=not_before, error=error or None
                    )
                )
                released += int(result.rowcount)
        return released

    def delivery_counts(self, edition_id: int | None = None) -> dict[str, int]:
        """Rows per status (every status present, zero included)."""
        query = sa.select(deliveries.c.status, sa.func.count()).group_by(deliveries.c.status)
        if edition_id is not None:
            query = query.where(deliveries.c.edition_id == edition_id)
        counts = {status.value: 0 for status in DeliveryStatus}
        with self._db.read() as conn:
            counts.update((status, int(n)) for status, n in conn.execute(query))
        return counts

    def pending_count(self) -> int:
        """Pending rows, due now or waiting for a retry."""
        query = sa.select(sa.func.count()).select_from(deliveries).where(_IS_PENDING)
        with self._db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def delivery(self, delivery_id: str) -> Delivery | None:
        with self._db.read() as conn:
            row = conn.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).first()
        return None if row is None else _delivery(row)

    def delivery_by_provider_id(self, provider_id: str) -> Delivery | None:
        """The delivery a provider's webhook event refers to by its message id."""
        query = sa.select(deliveries).where(deliveries.c.provider_id == provider_id).limit(1)
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else _delivery(row)
