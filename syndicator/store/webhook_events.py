"""Webhook bookkeeping: provider events already applied, and soft bounce counts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from syndicator.store.database import Conflict, Database
from syndicator.store.schema import soft_bounces, webhook_events

__all__ = ["WebhookEventRecords"]


class WebhookEventRecords:
    """Idempotency by (provider, event id) and consecutive soft bounces per subscriber."""

    _db: Database

    def webhook_event_seen(self, provider: str, event_id: str) -> bool:
        query = sa.select(webhook_events.c.event_id).where(
            webhook_events.c.provider == provider, webhook_events.c.event_id == event_id
        )
        with self._db.read() as conn:
            return conn.execute(query).first() is not None

    def record_webhook_event(self, provider: str, event_id: str, now: datetime) -> bool:
        """Remember an applied event; False when it was already recorded."""
        try:
            with self._db.write() as conn:
                conn.execute(
                    webhook_events.insert().values(
                        provider=provider, event_id=event_id[:200], received=now
                    )
                )
        except Conflict:
            return False
        return True

    def count_soft_bounce(
        self, subscriber_id: int, provider: str, event_id: str, now: datetime
    ) -> int | None:
        """Record the event and add one soft bounce, atomically; None for a repeated event.

        Returns the subscriber's count of soft bounces since their last delivery.
        """
        try:
            with self._db.write() as conn:
                conn.execute(
                    webhook_events.insert().values(
                        provider=provider, event_id=event_id[:200], received=now
                    )
                )
                current = conn.execute(
                    sa.select(soft_bounces.c.count).where(
                        soft_bounces.c.subscriber_id == subscriber_id
                    )
                ).scalar()
                count = int(current or 0) + 1
                row = {"subscriber_id": subscriber_id, "count": count, "last": now}
                self._db.upsert(conn, soft_bounces, [row])
        except Conflict:
            return None
        return count

    def soft_bounce_count(self, subscriber_id: int) -> int:
        query = sa.select(soft_bounces.c.count).where(soft_bounces.c.subscriber_id == subscriber_id)
        with self._db.read() as conn:
            return int(conn.execute(query).scalar() or 0)

    def reset_soft_bounces(self, subscriber_id: int) -> None:
        """A delivery went through: the next soft bounce starts counting from one again."""
        with self._db.write() as conn:
            conn.execute(soft_bounces.delete().where(soft_bounces.c.subscriber_id == subscriber_id))

    def prune_webhook_events(self, before: datetime) -> int:
        """Forget applied events received before ``before`` (providers stop retrying by then)."""
        with self._db.write() as conn:
            result = conn.execute(webhook_events.delete().where(webhook_events.c.received < before))
        return int(result.rowcount)
