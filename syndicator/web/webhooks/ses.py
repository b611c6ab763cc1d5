"""Amazon SES events delivered by SNS: verify the SNS message, then read the SES JSON in it."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from syndicator.web.webhooks.auth import (
    WebhookRejected,
    check_fresh,
    event_key,
    json_body,
    text,
)
from syndicator.web.webhooks.events import Event, EventKind
from syndicator.web.webhooks.sns import SnsVerifier, parse_time

__all__ = ["SesWebhook"]

log = logging.getLogger(__name__)

TOLERANCE = timedelta(hours=1)  # SNS retries for at most an hour after publishing
DELIVERY_HEADER = "x-syndicator-delivery"
_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")


def _delivery_id(mail: Mapping[str, Any]) -> str:
    tags = mail.get("tags")
    if isinstance(tags, dict):
        values = tags.get("delivery_id")
        if isinstance(values, list) and values:
            return text(values[0])
    headers = mail.get("headers")
    if isinstance(headers, list):
        for header in headers:
            if isinstance(header, dict) and text(header.get("name")).lower() == DELIVERY_HEADER:
                return text(header.get("value"))
    return ""


def _recipients(ses: Mapping[str, Any]) -> Iterator[tuple[EventKind, str, str]]:
    """(kind, address, raw type) for each recipient the SES event names."""
    kind = text(ses.get("eventType") or ses.get("notificationType"), 40)
    if kind == "Bounce" and isinstance(ses.get("bounce"), dict):
        bounce = ses["bounce"]
        bounce_type = text(bounce.get("bounceType"), 40)
        event_kind = EventKind.BOUNCE_HARD if bounce_type == "Permanent" else EventKind.BOUNCE_SOFT
        for item in bounce.get("bouncedRecipients") or []:
            if isinstance(item, dict):
                yield event_kind, text(item.get("emailAddress"), 320), f"Bounce/{bounce_type}"
    elif kind == "Complaint" and isinstance(ses.get("complaint"), dict):
        for item in ses["complaint"].get("complainedRecipients") or []:
            if isinstance(item, dict):
                yield EventKind.COMPLAINT, text(item.get("emailAddress"), 320), kind
    elif kind == "Delivery" and isinstance(ses.get("delivery"), dict):
        for address in ses["delivery"].get("recipients") or []:
            yield EventKind.DELIVERED, text(address, 320), kind


class SesWebhook:
    """SNS-signed SES notifications; subscriptions are confirmed after the same checks."""

    name = "ses"

    def __init__(self, verifier: SnsVerifier, topics: Collection[str] = ()) -> None:
        self._verifier = verifier
        self._topics = frozenset(topics)

    def parse(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[Event]:
        message = json_body(body)
        if not isinstance(message, dict) or message.get("Type") not in _TYPES:
            raise WebhookRejected(400, "not an SNS message")
        announced = headers.get("x-amz-sns-message-type")
        if announced and announced != message["Type"]:
            raise WebhookRejected(400, "message type header and body disagree")
        if self._topics and message.get("TopicArn") not in self._topics:
            log.warning("sns message from an unexpected topic refused")
            raise WebhookRejected(403, "unexpected topic")
        self._verifier.verify(message)
        check_fresh(self.name, parse_time(message.get("Timestamp")).timestamp(), now, TOLERANCE)
        if message["Type"] == "SubscriptionConfirmation":
            self._verifier.confirm(text(message.get("SubscribeURL"), 2000))
            return []
        if message["Type"] == "UnsubscribeConfirmation":
            log.warning("sns subscription ended topic unsubscribed this endpoint")
            return []
        try:
            ses = json.loads(text(message.get("Message"), 1_000_000))
        except ValueError as exc:
            raise WebhookRejected(400, "SNS Message is not SES JSON") from exc
        if not isinstance(ses, dict):
            raise WebhookRejected(400, "SNS Message is not SES JSON")
        found = ses.get("mail")
        mail: dict[str, Any] = found if isinstance(found, dict) else {}
        delivery_id = _delivery_id(mail)
        return [
            Event(
                kind=kind,
                email=email,
                event_id=event_key(message.get("MessageId"), email.lower()),
                delivery_id=delivery_id or None,
                provider_id=text(mail.get("messageId")) or None,
                raw_type=raw_type,
            )
            for kind, email, raw_type in _recipients(ses)
        ]
