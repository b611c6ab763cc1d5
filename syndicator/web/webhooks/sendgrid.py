"""SendGrid's signed Event Webhook: ECDSA P-256 over timestamp + raw body."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from syndicator.errors import ConfigError
from syndicator.web.webhooks.auth import (
    WebhookRejected,
    check_fresh,
    event_key,
    json_body,
    text,
)
from syndicator.web.webhooks.events import Event, EventKind

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "SendGridWebhook", "load_public_key"]

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"
TOLERANCE = timedelta(minutes=10)  # SendGrid documents no window; this is ours
_DROPPED = {
    "Bounced Address": EventKind.BOUNCE_HARD,
    "Invalid": EventKind.BOUNCE_HARD,
    "Spam Reporting Address": EventKind.COMPLAINT,
    "Unsubscribed Address": EventKind.UNSUBSCRIBE,
}
_SIMPLE = {
    "spamreport": EventKind.COMPLAINT,
    "unsubscribe": EventKind.UNSUBSCRIBE,
    "group_unsubscribe": EventKind.UNSUBSCRIBE,
    "delivered": EventKind.DELIVERED,
}


def load_public_key(value: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER) or as PEM."""
    try:
        if "BEGIN PUBLIC KEY" in value:
            key = serialization.load_pem_public_key(value.encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode(value.strip()))
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise ConfigError(f"SYNDICATOR_SENDGRID_WEBHOOK_KEY is not a public key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError("SYNDICATOR_SENDGRID_WEBHOOK_KEY is not an ECDSA public key")
    return key


def _kind(item: Mapping[str, Any]) -> EventKind:
    event = item.get("event")
    if event == "bounce":
        return EventKind.BOUNCE_SOFT if item.get("type") == "blocked" else EventKind.BOUNCE_HARD
    if event == "dropped":
        return _DROPPED.get(str(item.get("reason")), EventKind.OTHER)
    return _SIMPLE.get(str(event), EventKind.OTHER)


class SendGridWebhook:
    """Verifies the signature and freshness, then reads the batch of events."""

    name = "sendgrid"

    def __init__(self, public_key: str) -> None:
        self._key = load_public_key(public_key)

    def _verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        signature = headers.get(SIGNATURE_HEADER, "")
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        if not signature or not timestamp:
            raise WebhookRejected(401, "signature headers required")
        try:
            signed_at = float(timestamp)
            raw = base64.b64decode(signature, validate=True)
            self._key.verify(raw, timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
        except (ValueError, binascii.Error, UnicodeEncodeError, InvalidSignature) as exc:
            raise WebhookRejected(403, "bad signature") from exc
        check_fresh(self.name, signed_at, now, TOLERANCE)

    def parse(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[Event]:
        self._verify(headers, body, now)
        payload = json_body(body)
        if not isinstance(payload, list):
            raise WebhookRejected(400, "expected a JSON array of events")
        events: list[Event] = []
        for item in payload:
            if not isinstance(item, dict):
                continue
            email = text(item.get("email"), 320)
            message = text(item.get("sg_message_id"))
            key = event_key(message, item.get("event"), item.get("timestamp"), email.lower())
            events.append(
                Event(
                    kind=_kind(item),
                    email=email,
                    event_id=key,
                    delivery_id=text(item.get("delivery_id")) or None,
                    provider_id=message.split(".", 1)[0] or None,
                    raw_type=text(item.get("type") or item.get("event"), 40),
                )
            )
        return events
