"""Amazon SES v2 SendEmail with Content.Raw (our MIME bytes), signed by botocore's SigV4 signer.

Credentials: SYNDICATOR_MAIL_API_KEY as ``ACCESS_KEY_ID:SECRET[:SESSION_TOKEN]``, else the
standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN variables. The delivery
id travels as an EmailTag and an X-Syndicator-Delivery header.
Wire format and codes: shared/reference/mail_apis.md section 4 (SES v2).
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
from collections.abc import Sequence
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from syndicator.config import MailSettings
from syndicator.deliver.api import ApiBackend
from syndicator.deliver.http import (
    Clock,
    RetryPolicy,
    encode_json,
    error_text,
    send_each,
)
from syndicator.deliver.mime import message_bytes
from syndicator.errors import ConfigError, DeliveryError
from syndicator.model import Message, Receipt

__all__ = ["SesBackend"]

MAX_BATCH = 1000  # messages per send_batch call; SendEmail takes one each
PARALLEL = 8
THROTTLED = frozenset({"ThrottlingException", "TooManyRequestsException", "Throttling"})
ACCOUNT_STOPPED = frozenset(
    {
        "SendingPausedException",
        "AccountSendingPausedException",
        "AccountSuspendedException",
        "MailFromDomainNotVerifiedException",
    }
)
BAD_CREDENTIALS = frozenset(
    {
        "InvalidClientTokenId",
        "IncompleteSignature",
        "SignatureDoesNotMatch",
        "RequestExpired",
        "UnrecognizedClientException",
        "AccessDeniedException",
    }
)
KEY_HINT = (
    "SYNDICATOR_MAIL_API_KEY (ACCESS_KEY_ID:SECRET) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
)
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def error_type(response: httpx.Response) -> str:
    """The AWS error name: x-amzn-ErrorType (minus any ':url' suffix) or the body's __type."""
    kind = str(response.headers.get("x-amzn-errortype", ""))
    if not kind:
        try:
            kind = str(response.json().get("__type", ""))
        except (ValueError, AttributeError):
            kind = ""
    return kind.split(":")[0].rpartition("#")[2]


def _credentials(mail: MailSettings) -> Credentials:
    if mail.api_key:
        access, _, rest = mail.api_key.partition(":")
        secret, _, token = rest.partition(":")
    else:
        access = os.environ.get("AWS_ACCESS_KEY_ID", "")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
        token = os.environ.get("AWS_SESSION_TOKEN", "")
    if not access or not secret:
        raise ConfigError(f"the ses backend needs credentials in {KEY_HINT}", key="mail.api_key")
    return Credentials(access, secret, token or None)


class SesBackend(ApiBackend):
    """One signed SendEmail request per message, several in parallel."""

    name = "ses"

    def __init__(
        self,
        mail: MailSettings,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.region = mail.ses_region
        self._credentials = _credentials(mail)
        self._connect(
            mail,
            limit=MAX_BATCH,
            base_url=f"https://email.{mail.ses_region}.amazonaws.com",
            headers={"Content-Type": "application/json"},
            policy=policy,
            clock=clock,
            client=client,
            key_hint=KEY_HINT,
        )

    def _sign(self, method: str, url: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """SigV4 for service 'ses'; recomputed per attempt because X-Amz-Date changes."""
        request = AWSRequest(
            method=method, url=url, data=body, headers={"Content-Type": headers["Content-Type"]}
        )
        SigV4Auth(self._credentials, "ses", self.region).add_auth(request)
        wanted = ("authorization", "x-amz-date", "x-amz-security-token")
        return {k: str(v) for k, v in request.headers.items() if k.lower() in wanted}

    def send_batch(self, messages: Sequence[Message]) -> list[Receipt]:
        return send_each(messages, self._send_one, PARALLEL)

    def _request(self, message: Message) -> dict[str, Any]:
        tagged = dataclasses.replace(
            message, headers=(*message.headers, ("X-Syndicator-Delivery", message.delivery_id))
        )
        raw = message_bytes(tagged)
        return {
            "Destination": {"ToAddresses": [message.to]},
            "Content": {"Raw": {"Data": base64.b64encode(raw).decode("ascii")}},
            "EmailTags": [
                {"Name": "delivery_id", "Value": _TAG_UNSAFE.sub("_", message.delivery_id)[:256]}
            ],
        }

    def _send_one(self, message: Message) -> Receipt:
        try:
            body = encode_json(self._request(message))
        except DeliveryError as exc:  # a header the MIME builder refuses
            return Receipt(message.delivery_id, ok=False, error=str(exc))
        self._bucket.acquire(1)
        response = self._endpoint.post(
            "/v2/email/outbound-emails",
            body,
            sign=self._sign,
            retry_if=lambda r: error_type(r) in THROTTLED,
        )
        if response.status_code == 200:
            try:
                provider_id = str(response.json()["MessageId"])
            except (ValueError, KeyError, TypeError) as exc:
                raise DeliveryError(f"ses answered 200 without a MessageId: {exc}") from exc
            return Receipt(message.delivery_id, ok=True, provider_id=provider_id)
        kind = error_type(response)
        if kind in ACCOUNT_STOPPED:
            raise DeliveryError(f"ses: {kind}: {error_text(response)}", fatal=True)
        if kind in BAD_CREDENTIALS:
            raise DeliveryError(f"ses refused our request ({kind}); check {KEY_HINT}", fatal=True)
        return Receipt(message.delivery_id, ok=False, error=f"ses {kind}: {error_text(response)}")

    def close(self) -> None:
        pass
