"""Resend: POST /emails/batch, up to 100 per call, with an Idempotency-Key per batch.

The key is derived from the batch's delivery ids, so a batch retried after a timeout or a
crash (same rows, same grouping) is answered from Resend's 24-hour memory and never sent
twice. ``x-batch-validation: permissive`` keeps one invalid message from failing the others.
Wire format and codes: shared/reference/mail_apis.md section 5 (Resend).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

import httpx

from syndicator.config import MailSettings
from syndicator.deliver.api import ApiBackend
from syndicator.deliver.http import (
    Clock,
    RetryPolicy,
    chunks,
    encode_json,
    error_text,
    unsafe_header,
)
from syndicator.errors import DeliveryError
from syndicator.model import Message, Receipt

__all__ = ["ResendBackend", "idempotency_key"]

DEFAULT_URL = "https://api.resend.com"
MAX_BATCH = 100
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def idempotency_key(messages: Sequence[Message]) -> str:
    """Same delivery ids in the same order -> same key (Resend allows 1-256 characters)."""
    digest = hashlib.sha256("\n".join(m.delivery_id for m in messages).encode("utf-8"))
    return f"syndicator-{digest.hexdigest()}"


def _payload(message: Message) -> dict[str, Any]:
    headers = dict(message.headers)
    # tags allow only [A-Za-z0-9_-]; the header keeps the id exactly
    headers["X-Syndicator-Delivery"] = message.delivery_id
    item: dict[str, Any] = {
        "from": message.sender,
        "to": [message.to],
        "subject": message.subject,
        "html": str(message.html),
        "text": str(message.text),
        "headers": headers,
        "tags": [{"name": "delivery_id", "value": _TAG_UNSAFE.sub("_", message.delivery_id)[:256]}],
    }
    if message.reply_to:
        item["reply_to"] = message.reply_to
    return item


def _retryable(response: httpx.Response) -> bool:
    """409 concurrent_idempotent_requests: the same key is still in flight; try again."""
    if response.status_code != 409:
        return False
    try:
        return bool(response.json().get("name") == "concurrent_idempotent_requests")
    except (ValueError, AttributeError):
        return False


class ResendBackend(ApiBackend):
    """Sends batches of up to 100 through /emails/batch; Resend adds no tracking by default."""

    name = "resend"

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
                "x-batch-validation": "permissive",
            },
            policy=policy,
            clock=clock,
            client=client,
            key_name="an API key",
        )

    def send_batch(self, messages: Sequence[Message]) -> list[Receipt]:
        receipts: list[Receipt] = []
        for chunk in chunks(messages, self.max_batch):
            receipts.extend(self._send_chunk(chunk))
        return receipts

    def _send_chunk(self, messages: Sequence[Message]) -> list[Receipt]:
        by_id: dict[str, Receipt] = {}
        sendable: list[Message] = []
        for message in messages:
            bad = unsafe_header(message)
            if bad is None:
                sendable.append(message)
            else:
                by_id[message.delivery_id] = Receipt(
                    message.delivery_id, ok=False, error=f"unsafe header {bad!r}"
                )
        if sendable:
            self._bucket.acquire(len(sendable))
            body = encode_json([_payload(m) for m in sendable])
            response = self._endpoint.post(
                "/emails/batch",
                body,
                headers={"Idempotency-Key": idempotency_key(sendable)},
                retry_if=_retryable,
            )
            for message, receipt in zip(sendable, self._answers(sendable, response), strict=True):
                by_id[message.delivery_id] = receipt
        return [by_id[m.delivery_id] for m in messages]

    def _answers(self, messages: Sequence[Message], response: httpx.Response) -> list[Receipt]:
        if response.status_code == 409:
            # invalid_idempotent_request: this exact batch of deliveries was accepted before
            # (with a different body, e.g. re-rendered); sending again would duplicate it.
            note = f"already sent under this idempotency key ({error_text(response)})"
            return [Receipt(m.delivery_id, ok=True, error=note) for m in messages]
        if response.status_code != 200:
            error = error_text(response)
            return [Receipt(m.delivery_id, ok=False, error=error) for m in messages]
        try:
            answer = response.json()
            ids = [str(item["id"]) for item in answer.get("data") or []]
            errors = {
                int(e["index"]): str(e.get("message", "")) for e in answer.get("errors") or []
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DeliveryError(f"resend answered 200 with an unexpected body: {exc}") from exc
        if len(ids) + len(errors) != len(messages):
            raise DeliveryError(
                f"resend answered {len(ids)} ids and {len(errors)} errors for {len(messages)}"
            )
        receipts: list[Receipt] = []
        next_id = iter(ids)
        for index, message in enumerate(messages):
            if index in errors:
                receipts.append(
                    Receipt(message.delivery_id, ok=False, error=f"resend: {errors[index]}")
                )
            else:
                receipts.append(Receipt(message.delivery_id, ok=True, provider_id=next(next_id)))
        return receipts

    def close(self) -> None:
        pass
