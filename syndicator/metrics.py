"""Process-wide counters the pipeline, sender and webhooks bump; /metrics exposes them.

Call ``observe_collect(seconds)`` after a collect run, ``count_edition(newsletter)`` for each
edition made, ``count_sent(n)`` / ``count_failed(reason, n)`` as receipts settle. Reasons are
short fixed words ("rejected", "retry", "suppressed", ...), never addresses or provider text.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = [
    "REGISTRY",
    "count_edition",
    "count_failed",
    "count_sent",
    "count_webhook_events",
    "observe_collect",
]

REGISTRY = CollectorRegistry(auto_describe=True)

_COLLECT = Histogram(
    "syndicator_collect_duration_seconds",
    "Time one collect run took (all sources).",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
_EDITIONS = Counter(
    "syndicator_editions_created",
    "Newsletter editions made by this process.",
    ["newsletter"],
    registry=REGISTRY,
)
_SENT = Counter(
    "syndicator_messages_sent", "Messages the mail backend accepted.", registry=REGISTRY
)
_FAILED = Counter(
    "syndicator_messages_failed",
    "Messages that failed, by reason.",
    ["reason"],
    registry=REGISTRY,
)
_WEBHOOK = Counter(
    "syndicator_webhook_events",
    "Provider webhook events, by provider and outcome.",
    ["provider", "outcome"],
    registry=REGISTRY,
)
_LABEL_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


def _label(value: str) -> str:
    """A bounded, tidy label value: lower case, [a-z0-9_.-], at most 40 characters."""
    return _LABEL_UNSAFE.sub("_", value.strip().lower())[:40] or "unknown"


def observe_collect(seconds: float) -> None:
    _COLLECT.observe(max(seconds, 0.0))


def count_edition(newsletter: str) -> None:
    _EDITIONS.labels(newsletter=_label(newsletter)).inc()


def count_sent(n: int = 1) -> None:
    if n > 0:
        _SENT.inc(n)


def count_failed(reason: str, n: int = 1) -> None:
    if n > 0:
        _FAILED.labels(reason=_label(reason)).inc(n)


def count_webhook_events(provider: str, outcome: str, n: int = 1) -> None:
    if n > 0:
        _WEBHOOK.labels(provider=_label(provider), outcome=_label(outcome)).inc(n)
