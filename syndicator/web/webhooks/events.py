"""Provider-neutral webhook events, and the one place that applies them to the store."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from syndicator.model import Delivery, Subscriber, SubscriberStatus
from syndicator.store import Store

__all__ = ["SOFT_BOUNCE_LIMIT", "Event", "EventKind", "apply_events"]

log = logging.getLogger(__name__)

SOFT_BOUNCE_LIMIT = 3  # consecutive soft bounces before the address is suppressed


class EventKind(StrEnum):
    BOUNCE_HARD = "bounce_hard"
    BOUNCE_SOFT = "bounce_soft"
    COMPLAINT = "complaint"
    DELIVERED = "delivered"
    UNSUBSCRIBE = "unsubscribe"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing a provider reports about one recipient of one message."""

    kind: EventKind
    email: str
    event_id: str  # stable across the provider's retries: the idempotency key
    delivery_id: str | None = None
    provider_id: str | None = None
    occurred: datetime | None = None
    raw_type: str = ""


def _delivery(store: Store, event: Event) -> Delivery | None:
    if event.delivery_id:
        found = store.delivery(event.delivery_id)
        if found is not None:
            return found
    if event.provider_id:
        return store.delivery_by_provider_id(event.provider_id)
    return None


def _subscriber(store: Store, event: Event, delivery: Delivery | None) -> Subscriber | None:
    if delivery is not None:
        found = store.get_subscriber(delivery.subscriber_id)
        if found is not None:
            return found
    return store.get_subscriber(event.email) if event.email else None


def _mark(
    store: Store, subscriber: Subscriber | None, status: SubscriberStatus, now: datetime
) -> None:
    if subscriber is None or subscriber.status in (status, SubscriberStatus.COMPLAINED):
        return
    if status is SubscriberStatus.UNSUBSCRIBED and subscriber.status is SubscriberStatus.BOUNCED:
        return
    store.set_status(subscriber.id, status, now)


def apply_events(
    store: Store,
    provider: str,
    events: Sequence[Event],
    now: datetime,
    *,
    soft_bounce_limit: int = SOFT_BOUNCE_LIMIT,
) -> Counter[str]:
    """Apply events: hard bounces and complaints suppress; soft bounces count to a limit.

    A repeated event (same provider and event id) changes nothing. Returns counts by outcome.
    """
    records = store
    outcome: Counter[str] = Counter()
    for event in events:
        if event.kind is EventKind.OTHER:
            outcome["ignored"] += 1
            continue
        delivery = _delivery(store, event)
        subscriber = _subscriber(store, event, delivery)
        email = event.email or (delivery.email if delivery else "")
        context = (
            f"provider={provider} kind={event.kind.value} "
            f"delivery={delivery.id if delivery else '-'} "
            f"subscriber={subscriber.id if subscriber else '-'}"
        )
        if event.kind is EventKind.DELIVERED:
            if subscriber is not None:
                records.reset_soft_bounces(subscriber.id)
            outcome["delivered"] += 1
            continue
        if event.kind is EventKind.BOUNCE_SOFT:
            if subscriber is None:
                log.info("webhook soft bounce for no known subscriber %s", context)
                outcome["unmatched"] += 1
                continue
            count = records.count_soft_bounce(subscriber.id, provider, event.event_id, now)
            if count is None:
                log.info("webhook event repeated %s", context)
                outcome["duplicate"] += 1
                continue
            outcome["bounce_soft"] += 1
            log.info("webhook soft bounce %s count=%d", context, count)
            if count >= soft_bounce_limit:
                store.suppress(email, f"{count} soft bounces ({provider})", now, provider)
                _mark(store, subscriber, SubscriberStatus.BOUNCED, now)
                outcome["suppressed"] += 1
            continue
        if records.webhook_event_seen(provider, event.event_id):
            log.info("webhook event repeated %s", context)
            outcome["duplicate"] += 1
            continue
        if event.kind is EventKind.UNSUBSCRIBE:
            _mark(store, subscriber, SubscriberStatus.UNSUBSCRIBED, now)
        elif not email:
            log.warning("webhook event without an address %s", context)
            outcome["unmatched"] += 1
            continue
        elif event.kind is EventKind.BOUNCE_HARD:
            store.suppress(email, f"hard bounce ({provider} {event.raw_type})", now, provider)
            _mark(store, subscriber, SubscriberStatus.BOUNCED, now)
            outcome["suppressed"] += 1
        elif event.kind is EventKind.COMPLAINT:
            store.suppress(email, f"complaint ({provider} {event.raw_type})", now, provider)
            _mark(store, subscriber, SubscriberStatus.COMPLAINED, now)
            outcome["suppressed"] += 1
        records.record_webhook_event(provider, event.event_id, now)
        outcome[event.kind.value] += 1
        log.info("webhook event applied %s", context)
    return outcome
