"""Resend webhooks, signed the Svix way: HMAC-SHA256 over id.timestamp.body, 5 min window."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from syndicator.errors import ConfigError
from syndicator.web.webhooks.auth import (
    WebhookRejected,
    check_fresh,
    event_key,
    json_body,
    text,
)
from syndicator.web.webhooks.events import Event, EventKind

__all__ = ["DELIVERY_HEADER", "ResendWebhook", "svix_key"]

TOLERANCE = timedelta(minutes=5)  # the Svix libraries' default
DELIVERY_HEADER = "X-Syndicator-Delivery"
_SUPPRESSED = {"previous_bounce": EventKind.BOUNCE_HARD, "previous_complaint": EventKind.COMPLAINT}


def svix_key(secret: str) -> bytes:
    """The HMAC key in a ``whsec_<base64>`` signing secret."""
    try:
        return base64.b64decode(secret.strip().removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError("SYNDICATOR_RESEND_WEBHOOK_SECRET is not a whsec_... secret") from exc


def _named(value: Any, name: str) -> str:
    """A value from a {name: value} map or a [{name, value}] list (Resend sends either)."""
    if isinstance(value, dict):
        return text(value.get(name))
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and str(item.get("name", "")).lower() == name.lower():
                return text(item.get("value"))
    return ""


def _kind(kind: str, data: Mapping[str, Any]) -> EventKind:
    if kind == "email.bounced":
        bounce = data.get("bounce")
        permanent = isinstance(bounce, dict) and bounce.get("type") == "Permanent"
        return EventKind.BOUNCE_HARD if permanent else EventKind.BOUNCE_SOFT
    if kind == "email.complained":
        return EventKind.COMPLAINT
    if kind == "email.delivered":
        return EventKind.DELIVERED
    if kind == "email.suppressed":
        suppressed = data.get("suppressed")
        reason = suppressed.get("reason") if isinstance(suppressed, dict) else None
        return _SUPPRESSED.get(str(reason), EventKind.OTHER)
    return EventKind.OTHER


class ResendWebhook:
    """Verifies the Svix signature and timestamp, then reads one Resend event."""

    name = "resend"

    def __init__(self, secret: str) -> None:
        self._key = svix_key(secret)

    def _verify(self, headers: Mapping[str, str], body: bytes, now: datetime) -> str:
        message_id = headers.get("svix-id", "")
        timestamp = headers.get("svix-timestamp", "")
        signatures = headers.get("svix-signature", "")
        if not (message_id and timestamp and signatures):
            raise WebhookRejected(401, "svix headers required")
        signed = f"{message_id}.{timestamp}.".encode() + body
        expected = base64.b64encode(hmac.new(self._key, signed, hashlib.sha256).digest())
        candidates = [
            part.partition(",")[2].encode() for part in signatures.split() if part.startswith("v1,")
        ]
        if not any(hmac.compare_digest(expected, c) for c in candidates):
            raise WebhookRejected(403, "bad signature")
        try:
            signed_at = float(timestamp)
        except ValueError as exc:
            raise WebhookRejected(403, "bad timestamp") from exc
        check_fresh(self.name, signed_at, now, TOLERANCE)
        return message_id

    def parse(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[Event]:
        message_id = self._verify(headers, body, now)
        payload = json_body(body)
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
            raise WebhookRejected(400, "expected an event object with data")
        kind = text(payload.get("type"), 60)
        data: dict[str, Any] = payload["data"]
        recipients = data.get("to")
        if isinstance(recipients, str):
            recipients = [recipients]
        delivery_id = _named(data.get("headers"), DELIVERY_HEADER) or _named(
            data.get("tags"), "delivery_id"
        )
        return [
            Event(
                kind=_kind(kind, data),
                email=text(email, 320),
                event_id=event_key(message_id, text(email).lower()),
                delivery_id=delivery_id or None,
                provider_id=text(data.get("email_id")) or None,
                raw_type=kind,
            )
            for email in (recipients if isinstance(recipients, list) else [])
        ]
