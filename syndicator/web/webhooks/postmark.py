"""Postmark webhooks: unsigned, so a shared secret in Basic auth (or a header) guards them."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from syndicator.web.webhooks.auth import WebhookRejected, event_key, json_body, text
from syndicator.web.webhooks.events import Event, EventKind

__all__ = ["SECRET_HEADER", "PostmarkWebhook"]

SECRET_HEADER = "x-syndicator-webhook-secret"
_HARD = {"HardBounce", "BadEmailAddress"}
_SOFT = {"SoftBounce", "Transient", "DnsError"}
_SUPPRESSION = {
    "HardBounce": EventKind.BOUNCE_HARD,
    "SpamComplaint": EventKind.COMPLAINT,
    "ManualSuppression": EventKind.UNSUBSCRIBE,
}


def _kind(payload: Mapping[str, Any]) -> EventKind:
    record = payload.get("RecordType")
    if record == "Bounce":
        kind = payload.get("Type")
        if kind in _HARD:
            return EventKind.BOUNCE_HARD
        if kind in _SOFT:
            return EventKind.BOUNCE_SOFT
        if kind == "SpamComplaint":
            return EventKind.COMPLAINT
        return EventKind.UNSUBSCRIBE if kind == "Unsubscribe" else EventKind.OTHER
    if record == "SpamComplaint":
        return EventKind.COMPLAINT
    if record == "Delivery":
        return EventKind.DELIVERED
    if record == "SubscriptionChange" and payload.get("SuppressSending") is True:
        return _SUPPRESSION.get(str(payload.get("SuppressionReason")), EventKind.OTHER)
    return EventKind.OTHER


class PostmarkWebhook:
    """Checks the shared secret (any Basic-auth user name), then reads one Postmark record."""

    name = "postmark"

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode("utf-8")

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        given: bytes | None = None
        authorization = headers.get("authorization", "")
        if authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise WebhookRejected(401, "malformed Basic credentials") from exc
            given = decoded.partition(b":")[2]
        elif SECRET_HEADER in headers:
            given = headers[SECRET_HEADER].encode("utf-8")
        if given is None:
            raise WebhookRejected(401, "credentials required")
        if not hmac.compare_digest(given, self._secret):
            raise WebhookRejected(403, "wrong credentials")

    def parse(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[Event]:
        self._authenticate(headers)
        payload = json_body(body)
        if not isinstance(payload, dict):
            raise WebhookRejected(400, "expected one JSON object")
        metadata = payload.get("Metadata")
        delivery_id = metadata.get("delivery_id") if isinstance(metadata, dict) else None
        email = text(payload.get("Email") or payload.get("Recipient"), 320)
        record = text(payload.get("RecordType"), 40)
        raw_type = text(payload.get("Type") or payload.get("SuppressionReason") or record, 40)
        key = event_key(
            record,
            payload.get("ID"),
            payload.get("MessageID"),
            email.lower(),
            payload.get("ChangedAt") or payload.get("BouncedAt") or payload.get("DeliveredAt"),
        )
        return [
            Event(
                kind=_kind(payload),
                email=email,
                event_id=key,
                delivery_id=text(delivery_id) or None,
                provider_id=text(payload.get("MessageID")) or None,
                raw_type=raw_type,
            )
        ]
