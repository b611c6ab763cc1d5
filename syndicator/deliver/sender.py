"""Deliveries are rows before they are requests: claim a batch, personalize, send, record.

A crash leaves claimed rows in ``sending``; the next run releases them after a grace period, so
at most the batch that was in flight can go out twice (never with idempotency keys).
"""

from __future__ import annotations

import logging
import os
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from syndicator.config import Settings
from syndicator.deliver import MailBackend
from syndicator.editions import parse_variant
from syndicator.errors import DeliveryError
from syndicator.model import Delivery, Edition, Message, Receipt
from syndicator.store import Store
from syndicator.tokens import TokenSigner

if TYPE_CHECKING:
    from syndicator.render.digest import DigestRenderer, DigestVariant

__all__ = ["DeliveryReport", "deliver_pending"]

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)
Progress = Callable[[int, int], None]


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    retried: int = 0
    remaining: int = 0
    stopped: str = ""  # why sending stopped early (a wrong key, an outage)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stopped


class _Variants:
    """Rendered variants per (edition, variant key), made once and reused for every reader."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.cache: dict[tuple[int, str], tuple[DigestRenderer, DigestVariant]] = {}
        self.editions: dict[int, Edition] = {}

    def get(self, delivery: Delivery) -> tuple[DigestRenderer, DigestVariant]:
        from syndicator.pipeline import entries_for
        from syndicator.render.digest import DigestRenderer

        key = (delivery.edition_id, delivery.variant)
        if key not in self.cache:
            edition = self.store.edition(delivery.edition_id)
            if edition is None:
                raise DeliveryError(f"edition {delivery.edition_id} is missing from the store")
            posts = self.store.edition_posts(edition.id)
            entries = entries_for(self.store, posts)
            language, indices = parse_variant(delivery.variant)
            chosen = [entries[posts[i].id] for i in indices if i < len(posts)]
            renderer = DigestRenderer(self.settings, self.settings.newsletter(edition.newsletter))
            self.cache[key] = (
                renderer,
                renderer.render_variant(chosen, edition_number=edition.number, language=language),
            )
        return self.cache[key]


def deliver_pending(
    settings: Settings,
    store: Store,
    backend: MailBackend,
    now: Callable[[], datetime],
    *,
    edition_id: int | None = None,
    progress: Progress | None = None,
) -> DeliveryReport:
    """Send every pending delivery (of one edition, or all); returns what happened."""
    signer = TokenSigner(settings.secret_keys)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    released = store.release_stale(now() - STALE_AFTER)
    if released:
        log.warning("released deliveries=%d left in flight by an interrupted run", released)
    variants = _Variants(settings, store)
    report = DeliveryReport()
    size = settings.mail.batch_size or backend.max_batch
    total = store.pending_count()
    while True:
        batch = store.claim_deliveries(size, worker, now(), edition_id=edition_id)
        if not batch:
            break
        subscribers = store.subscribers_by_ids([d.subscriber_id for d in batch])
        blocked = store.suppressed([d.email for d in batch])
        messages: list[Message] = []
        receipts: list[Receipt] = []
        for delivery in batch:
            subscriber = subscribers.get(delivery.subscriber_id)
            if subscriber is None or delivery.email in blocked:
                reason = "suppressed" if subscriber else "subscriber removed"
                receipts.append(Receipt(delivery.id, ok=False, error=reason))
                continue
            renderer, variant = variants.get(delivery)
            messages.append(
                renderer.personalize(variant, subscriber, delivery_id=delivery.id, signer=signer)
            )
        try:
            receipts.extend(backend.send_batch(messages) if messages else [])
        except DeliveryError as exc:
            # The batch did not go out: put its rows back as pending and stop this pass.
            store.record_receipts(
                [Receipt(m.delivery_id, ok=False, error=str(exc), retryable=True) for m in messages]
                + receipts,
                now(),
            )
            report.retried += len(messages)
            report.stopped = str(exc)
            log.error("delivery stopped: %s", exc)
            break
        store.record_receipts(receipts, now())
        for receipt in receipts:
            if receipt.ok:
                report.sent += 1
            elif receipt.retryable:
                report.retried += 1
            else:
                report.failed[receipt.error or "unknown"] += 1
        if progress:
            progress(report.sent + sum(report.failed.values()), total)
    report.remaining = store.pending_count()
    log.info(
        "delivery sent=%d failed=%d retried=%d remaining=%d",
        report.sent,
        sum(report.failed.values()),
        report.retried,
        report.remaining,
    )
    return report
