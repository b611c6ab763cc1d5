"""What every provider's verification shares: the rejection, freshness and JSON checks."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

__all__ = ["WebhookRejected", "check_fresh", "event_key", "json_body", "text"]

log = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """The request is not a genuine, fresh provider event; answered with ``status``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_fresh(provider: str, signed_at: float, now: datetime, tolerance: timedelta) -> None:
    """Reject a signature timestamp outside ``tolerance`` of now (a replay or a bad clock)."""
    skew = now.timestamp() - signed_at
    if abs(skew) > tolerance.total_seconds():
        log.warning(
            "webhook replay rejected provider=%s skew_seconds=%d tolerance_seconds=%d",
            provider,
            int(skew),
            int(tolerance.total_seconds()),
        )
        raise WebhookRejected(403, "stale or future timestamp")


def json_body(body: bytes) -> Any:
    """The parsed body; a 400 when it is not JSON."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected(400, "body is not JSON") from exc


def text(value: Any, limit: int = 200) -> str:
    """A payload value as a short string ("" for missing)."""
    return "" if value is None else str(value)[:limit]


def event_key(*parts: object) -> str:
    """A fixed-length idempotency key from a provider's identifying fields (no address kept)."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()
