"""Mailgun messages API: one form-encoded request per message, basic auth ``api:<key>``.

The sending domain is ``[mail] mailgun_domain``, else the From address's domain.
Form fields, not messages.mime, so ``h:`` headers and ``v:`` variables travel explicitly.
Wire format and codes: shared/reference/mail_apis.md section 3 (Mailgun).
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import parseaddr
from urllib.parse import quote, urlencode

import httpx

from syndicator.config import MailSettings
from syndicator.deliver.api import ApiBackend
from syndicator.deliver.http import (
    Clock,
    RetryPolicy,
    error_text,
    send_each,
    unsafe_header,
)
from syndicator.model import Message, Receipt

__all__ = ["MailgunBackend"]

DEFAULT_URL = "https://api.mailgun.net"
MAX_BATCH = 1000
PARALLEL = 8


def _form(message: Message) -> list[tuple[str, str]]:
    fields = [
        ("from", message.sender),
        ("to", message.to),
        ("subject", message.subject),
        ("text", str(message.text)),
        ("html", str(message.html)),
        ("o:tracking", "no"),
        ("o:tracking-clicks", "no"),
        ("o:tracking-opens", "no"),
        ("v:delivery_id", message.delivery_id),
    ]
    fields.extend((f"h:{name}", value) for name, value in message.headers)
    if message.reply_to:
        fields.append(("h:Reply-To", message.reply_to))
    fields.extend(("o:tag", tag) for tag in message.tags[:3])
    return fields


class MailgunBackend(ApiBackend):
    """Sends each message as its own POST /v3/<domain>/messages with tracking off."""

    name = "mailgun"

    def __init__(
        self,
        mail: MailSettings,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.domain = mail.mailgun_domain
        self._connect(
            mail,
            limit=MAX_BATCH,
            base_url=DEFAULT_URL,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=("api", mail.api_key),
            policy=policy,
            clock=clock,
            client=client,
            key_name="the sending API key",
        )

    def send_batch(self, messages: Sequence[Message]) -> list[Receipt]:
        return send_each(messages, self._send_one, PARALLEL)

    def _send_one(self, message: Message) -> Receipt:
        bad = unsafe_header(message)
        if bad is not None:
            return Receipt(message.delivery_id, ok=False, error=f"unsafe header {bad!r}")
        domain = self.domain or parseaddr(message.sender)[1].rpartition("@")[2]
        if not domain:
            return Receipt(message.delivery_id, ok=False, error="sender has no domain")
        self._bucket.acquire(1)
        body = urlencode(_form(message)).encode("ascii")
        response = self._endpoint.post(f"/v3/{quote(domain)}/messages", body)
        if response.status_code == 200:
            try:
                provider_id = str(response.json().get("id", "")).strip("<>") or None
            except (ValueError, AttributeError):
                provider_id = None
            return Receipt(message.delivery_id, ok=True, provider_id=provider_id)
        return Receipt(message.delivery_id, ok=False, error=error_text(response))

    def close(self) -> None:
        pass
