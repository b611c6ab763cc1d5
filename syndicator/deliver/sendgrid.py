"""SendGrid v3 /mail/send: one request per message, one personalization per request.

Why one request per message: every message carries its own unsubscribe link, so contents are
never identical, and SendGrid validates a request as a whole (one bad address would reject
every personalization in it). Requests run ``PARALLEL`` at a time over the shared client.
Wire format and codes: shared/reference/mail_apis.md section 2 (SendGrid).
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

import httpx

from syndicator.config import MailSettings
from syndicator.deliver.api import ApiBackend
from syndicator.deliver.http import (
    Clock,
    RetryPolicy,
    encode_json,
    error_text,
    send_each,
    unsafe_header,
)
from syndicator.model import Message, Receipt

__all__ = ["SendgridBackend"]

DEFAULT_URL = "https://api.sendgrid.com"
MAX_BATCH = 1000  # messages per send_batch call; each is its own request
PARALLEL = 8
TRACKING_OFF = {
    "click_tracking": {"enable": False, "enable_text": False},
    "open_tracking": {"enable": False},
    "subscription_tracking": {"enable": False},
    "ganalytics": {"enable": False},
}


def _address(value: str) -> dict[str, str]:
    name, email = parseaddr(value)
    return {"email": email, "name": name} if name else {"email": email}


def _payload(message: Message) -> dict[str, Any]:
    personalization: dict[str, Any] = {
        "to": [_address(message.to)],
        "custom_args": {"delivery_id": message.delivery_id},
    }
    if message.headers:
        personalization["headers"] = dict(message.headers)
    body: dict[str, Any] = {
        "personalizations": [personalization],
        "from": _address(message.sender),
        "subject": message.subject,
        # text/plain must come before text/html
        "content": [
            {"type": "text/plain", "value": str(message.text)},
            {"type": "text/html", "value": str(message.html)},
        ],
        "tracking_settings": TRACKING_OFF,
    }
    if message.reply_to:
        body["reply_to"] = _address(message.reply_to)
    if message.tags:
        body["categories"] = list(message.tags[:10])
    return body


class SendgridBackend(ApiBackend):
    """Sends each message as its own /v3/mail/send request with tracking off."""

    name = "sendgrid"

    def __init__(
        self,
        mail: MailSettings,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self._connect(
            mail,
            limit=MAX_BATCH,
            base_url=DEFAULT_URL,
            headers={
                "Authorization": f"Bearer {mail.api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            policy=policy,
            clock=clock,
            client=client,
            key_name="an API key with Mail Send access",
        )

    def send_batch(self, messages: Sequence[Message]) -> list[Receipt]:
        return send_each(messages, self._send_one, PARALLEL)

    def _send_one(self, message: Message) -> Receipt:
        bad = unsafe_header(message)
        if bad is not None:
            return Receipt(message.delivery_id, ok=False, error=f"unsafe header {bad!r}")
        self._bucket.acquire(1)
        response = self._endpoint.post("/v3/mail/send", encode_json(_payload(message)))
        if response.status_code in (200, 202):
            return Receipt(
                message.delivery_id, ok=True, provider_id=response.headers.get("x-message-id")
            )
        # 400 is the whole request: with one recipient per request, that recipient's failure
        return Receipt(message.delivery_id, ok=False, error=error_text(response))

    def close(self) -> None:
        pass
