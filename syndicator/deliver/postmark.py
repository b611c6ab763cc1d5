"""Postmark: POST /email/batch, up to 500 messages per call, one ErrorCode per message.

Wire format and codes: shared/reference/mail_apis.md section 1 (Postmark).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from syndicator.config import MailSettings
from syndicator.deliver.api import ApiBackend
from syndicator.deliver.http import (
    Clock,
    RetryPolicy,
    Stream,
    chunks,
    encode_json,
    error_text,
    unsafe_header,
)
from syndicator.deliver.mime import FilledBody
from syndicator.errors import DeliveryError
from syndicator.model import Message, Receipt

__all__ = ["PostmarkBackend"]

log = logging.getLogger(__name__)

DEFAULT_URL = "https://api.postmarkapp.com"
MAX_BATCH = 500  # /email/batch limit
MAX_BATCH_BYTES = 45_000_000  # under the 50 MB per call, leaving room for HTTP framing
WRITE_SIZE = 1 << 20  # bytes of items joined per socket write
INACTIVE_RECIPIENT = 406  # the address is on Postmark's suppression list
INVALID_EMAIL = 300  # "Invalid email request", e.g. an illegal To address
BAD_TOKEN = 10
MAINTENANCE = 100  # retryable per the error-code table
RETRYABLE_CODES = frozenset({MAINTENANCE, 429})
SUPPRESS_CODES = frozenset({INACTIVE_RECIPIENT, INVALID_EMAIL})


def _payload(message: Message, stream: str) -> dict[str, Any]:
    return {
        "HtmlBody": str(message.html),
        "TextBody": str(message.text),
        **_payload_head(message, stream),
    }


def _payload_head(message: Message, stream: str) -> dict[str, Any]:
    """Every field of an item but the bodies."""
    item: dict[str, Any] = {
        "From": message.sender,
        "To": message.to,
        "Subject": message.subject,
        "Headers": [{"Name": name, "Value": value} for name, value in message.headers],
        "Metadata": {"delivery_id": message.delivery_id},
        "TrackOpens": False,
        "TrackLinks": "None",
        "MessageStream": stream,
    }
    if message.reply_to:
        item["ReplyTo"] = message.reply_to
    if message.tags:
        item["Tag"] = message.tags[0]  # Postmark takes a single tag
    return item


def _encoded(message: Message, stream: str) -> list[bytes]:
    """One batch item as JSON pieces, after a comma; ``b"".join`` of them is the item.

    Bodies made from a template are spliced in from pieces escaped once per template, so
    nothing of a body's size is built until the item is written.
    """
    html, text = message.html, message.text
    if not (isinstance(html, FilledBody) and isinstance(text, FilledBody)):
        return [b",", encode_json(_payload(message, stream))]
    rest = _payload_head(message, stream)
    return [
        b',{"HtmlBody":"',
        *html.json_parts(),
        b'","TextBody":"',
        *text.json_parts(),
        b'",',
        encode_json(rest)[1:],
    ]


def _receipt(message: Message, answer: Any) -> Receipt:
    if not isinstance(answer, dict):
        return Receipt(message.delivery_id, ok=False, error=f"unexpected answer {answer!r}")
    code = answer.get("ErrorCode", -1)
    if code == 0:
        return Receipt(message.delivery_id, ok=True, provider_id=str(answer.get("MessageID")))
    if code == BAD_TOKEN:
        raise DeliveryError(
            "postmark rejected the server token; check SYNDICATOR_MAIL_API_KEY", fatal=True
        )
    return Receipt(
        message.delivery_id,
        ok=False,
        error=f"postmark ErrorCode {code}: {answer.get('Message', '')}"[:500],
        retryable=code in RETRYABLE_CODES,
        suppress=code in SUPPRESS_CODES,
    )


def _maintenance(response: httpx.Response) -> bool:
    """A 422 with ErrorCode 100 means maintenance: retry like a 503."""
    if response.status_code != 422:
        return False
    try:
        return bool(response.json().get("ErrorCode") == MAINTENANCE)
    except (ValueError, AttributeError):
        return False


class PostmarkBackend(ApiBackend):
    """Sends through Postmark's batch endpoint with tracking off and our delivery id as Metadata."""

    name = "postmark"

    def __init__(
        self,
        mail: MailSettings,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        # Newsletters belong on a broadcast stream (Postmark's guidance): [mail] message_stream.
        self.stream = mail.message_stream or "broadcast"
        self._connect(
            mail,
            limit=MAX_BATCH,
            base_url=DEFAULT_URL,
            headers={
                "X-Postmark-Server-Token": mail.api_key,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            policy=policy,
            clock=clock,
            client=client,
            key_name="a server token",
        )

    def send_batch(self, messages: Sequence[Message]) -> list[Receipt]:
        receipts: list[Receipt] = []
        for chunk in chunks(messages, self.max_batch):
            receipts.extend(self._send_chunk(chunk))
        return receipts

    def _send_chunk(self, messages: Sequence[Message]) -> list[Receipt]:
        by_id: dict[str, Receipt] = {}
        group: list[tuple[Message, list[bytes]]] = []
        size = 1  # "[" and "]"; each item counts its leading comma
        for message in messages:
            bad = unsafe_header(message)
            if bad is not None:
                by_id[message.delivery_id] = Receipt(
                    message.delivery_id, ok=False, error=f"unsafe header {bad!r}"
                )
                continue
            try:
                item = _encoded(message, self.stream)
            except (TypeError, ValueError) as exc:  # e.g. a lone surrogate in the text
                by_id[message.delivery_id] = Receipt(
                    message.delivery_id, ok=False, error=f"cannot encode as JSON: {exc}"
                )
                continue
            length = sum(map(len, item))
            if group and size + length > MAX_BATCH_BYTES:
                by_id.update(self._post(group, size))
                group, size = [], 1
            group.append((message, item))
            size += length
        if group:
            by_id.update(self._post(group, size))
        return [by_id[m.delivery_id] for m in messages]

    def _post(self, group: list[tuple[Message, list[bytes]]], size: int) -> dict[str, Receipt]:
        sendable = [message for message, _ in group]
        self._bucket.acquire(len(sendable))

        def pieces() -> Iterator[bytes]:
            # Items are joined as they are written, about a megabyte a write: no 20 MB
            # buffer, and few writes (each one hands the GIL to the thread preparing the
            # next batch and waits to get it back). The first item's comma becomes "[".
            parts: list[bytes] = [b"["]
            held = 1
            for index, (_, item) in enumerate(group):
                if index == 0:
                    parts.append(item[0][1:])  # the comma
                    parts.extend(item[1:])
                else:
                    parts.extend(item)
                held += sum(map(len, item))
                if held >= WRITE_SIZE:
                    yield b"".join(parts)
                    parts, held = [], 0
            parts.append(b"]")
            yield b"".join(parts)

        body = Stream(size, pieces)
        response = self._endpoint.post("/email/batch", body, retry_if=_maintenance)
        receipts = self._answers(sendable, response)
        return {m.delivery_id: r for m, r in zip(sendable, receipts, strict=True)}

    def _answers(self, messages: Sequence[Message], response: httpx.Response) -> list[Receipt]:
        if response.status_code == 200:
            try:
                answers = response.json()
            except ValueError as exc:
                raise DeliveryError(f"postmark answered 200 with invalid JSON: {exc}") from exc
            if not isinstance(answers, list) or len(answers) != len(messages):
                raise DeliveryError(
                    f"postmark answered {len(answers) if isinstance(answers, list) else 'non-list'}"
                    f" results for {len(messages)} messages"
                )
            return [_receipt(m, a) for m, a in zip(messages, answers, strict=True)]
        error = error_text(response)
        try:
            code = response.json().get("ErrorCode")
        except (ValueError, AttributeError):
            code = None
        if code == BAD_TOKEN:
            raise DeliveryError(f"postmark: {error}; check SYNDICATOR_MAIL_API_KEY", fatal=True)
        log.warning("postmark rejected batch size=%d error=%r", len(messages), error)
        return [Receipt(m.delivery_id, ok=False, error=error) for m in messages]

    def close(self) -> None:
        pass
