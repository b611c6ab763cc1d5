"""Mailgun webhooks: HMAC-SHA256 of timestamp + token, each token accepted once."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from syndicator.store.webhook_events import WebhookEventRecords
from syndicator.web.webhooks.auth import (
    WebhookRejected,
    check_fresh,
    event_key,
    json_body,
    text,
)
from syndicator.web.webhooks.events import Event, EventKind

__all__ = ["MailgunWebhook"]

TOLERANCE = timedelta(minutes=5)
_SIMPLE = {
    "complained": EventKind.COMPLAINT,
    "unsubscribed": EventKind.UNSUBSCRIBE,
    "delivered": EventKind.DELIVERED,
}


def _kind(data: Mapping[str, Any]) -> EventKind:
    if data.get("event") == "failed":
        permanent = data.get("severity") == "permanent"
        return EventKind.BOUNCE_HARD if permanent else EventKind.BOUNCE_SOFT
    return _SIMPLE.get(str(data.get("event")), EventKind.OTHER)


class MailgunWebhook:
    """Verifies the signature block in the body; the signature does not cover the event data,
    so a token is remembered and a second use of it is refused."""

    name = "mailgun"

    def __init__(self, signing_key: str, records: WebhookEventRecords) -> None:
        self._key = signing_key.encode("utf-8")
        self._records = records

    def _verify(self, signature: Any, now: datetime) -> None:
        if not isinstance(signature, dict):
            raise WebhookRejected(401, "signature block required")
        timestamp = text(signature.get("timestamp"))
        token = text(signature.get("token"))
        given = text(signature.get("signature"))
        if not (timestamp and token and given):
            raise WebhookRejected(401, "signature block incomplete")
        expected = hmac.new(self._key, (timestamp + token).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise WebhookRejected(403, "bad signature")
        try:
            signed_at = float(timestamp)
        except ValueError as exc:
            raise WebhookRejected(403, "bad timestamp") from exc
        check_fresh(self.name, signed_at, now, TOLERANCE)
        if not self._records.record_webhook_event("mailgun-token", token, now):
            raise WebhookRejected(403, "token already used")

    def parse(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[Event]:
        payload = json_body(body)
        if not isinstance(payload, dict):
            raise WebhookRejected(400, "expected one JSON object")
        self._verify(payload.get("signature"), now)
        data = payload.get("event-data")
        if not isinstance(data, dict):
            raise WebhookRejected(400, "event-data missing")
        variables = data.get("user-variables")
        delivery_id = variables.get("delivery_id") if isinstance(variables, dict) else None
        message = data.get("message")
        headers_ = message.get("headers") if isinstance(message, dict) else None
        message_id = headers_.get("message-id") if isinstance(headers_, dict) else None
        email = text(data.get("recipient"), 320)
        return [
            Event(
                kind=_kind(data),
                email=email,
                event_id=event_key(data.get("id"), data.get("event"), email.lower()),
                delivery_id=text(delivery_id) or None,
                provider_id=text(message_id).strip("<>") or None,
                raw_type=text(data.get("reason") or data.get("event"), 40),
            )
        ]
