"""Fake Amazon SES v2 SendEmail: checks SigV4 without botocore and parses the raw MIME."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import quote

from tests.fakes.providers import Accepted, Answer, Headers, Provider, Record, Reject

ACCESS_KEY = "AKIDFAKE0000EXAMPLE"
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<akid>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)"
    r"/(?P<service>[^/]+)"
    r"/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})$"
)
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def ses_error(status: int, kind: str, message: str) -> Answer:
    body = json.dumps({"message": message}).encode()
    return Answer(status, body, {"Content-Type": "application/json", "x-amzn-ErrorType": kind})


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class SesProvider(Provider):
    """``key`` is "ACCESS_KEY_ID:SECRET"; the region is taken from the credential scope."""

    name = "ses"

    def __init__(self, key: str, record: Record, rejected: Reject, keep_payloads: bool) -> None:
        super().__init__(key, record, rejected, keep_payloads)
        self.access_key, _, self.secret = key.partition(":")
        self.body = b""

    def unauthorized(self, path: str, headers: Headers) -> Answer | None:
        return None  # checked in handle, where the body (part of the signature) is known

    def _signature_problem(self, path: str, headers: Headers, body: bytes) -> str | None:
        match = _AUTH.match(headers.get("authorization", ""))
        if not match:
            return "missing or malformed Authorization header"
        if match["akid"] != self.access_key:
            return "The security token included in the request is invalid."
        if match["service"] != "ses":
            return (
                f"Credential should be scoped to correct service: 'ses', not {match['service']!r}"
            )
        amz_date = headers.get("x-amz-date", "")
        if not amz_date.startswith(match["date"]):
            return "Date in Credential scope does not match YYYYMMDD from X-Amz-Date"
        signed = match["signed"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            return "host and x-amz-date must be signed"
        canonical_headers = "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in signed)
        canonical = "\n".join(
            [
                "POST",
                quote(path, safe="/~"),
                "",
                canonical_headers,
                ";".join(signed),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{match['date']}/{match['region']}/ses/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = ("AWS4" + self.secret).encode()
        for part in (match["date"], match["region"], "ses", "aws4_request"):
            key = _hmac(key, part)
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, match["sig"]):
            return "The request signature we calculated does not match the signature you provided."
        return None

    def handle(self, path: str, headers: Headers, body: bytes) -> Answer:
        if path != "/v2/email/outbound-emails":
            return ses_error(404, "NotFoundException", "unknown operation")
        problem = self._signature_problem(path, headers, body)
        if problem:
            kind = "UnrecognizedClientException" if "token" in problem else "SignatureDoesNotMatch"
            return ses_error(403, kind, problem)
        try:
            request: Any = json.loads(body)
            raw = base64.b64decode(request["Content"]["Raw"]["Data"], validate=True)
            to_addresses = request["Destination"]["ToAddresses"]
            tags = {t["Name"]: t["Value"] for t in request.get("EmailTags", [])}
        except (ValueError, KeyError, TypeError) as exc:
            return ses_error(400, "BadRequestException", f"invalid request: {exc}")
        if not all(_TAG.match(n) and _TAG.match(v) for n, v in tags.items()):
            return ses_error(400, "BadRequestException", "Invalid tag name or value")
        mime = message_from_bytes(raw, policy=policy.SMTP)
        if not mime["From"] or not mime["Subject"]:
            return ses_error(400, "BadRequestException", "raw message lacks From or Subject")
        to = to_addresses[0] if to_addresses else str(mime["To"])
        refusal = self.rejected(to)
        if refusal:
            return ses_error(400, "MessageRejected", refusal)
        custom = {k: str(v) for k, v in mime.items() if k.lower().startswith(("list-", "x-"))}
        item = (
            {**request, "mime_headers": {k: str(v) for k, v in mime.items()}}
            if self.keep_payloads
            else None
        )
        message_id = self.accept(tags.get("delivery_id", ""), to, custom, item or {})
        return Answer(
            200,
            json.dumps({"MessageId": message_id}).encode(),
            {"Content-Type": "application/json"},
        )


__all__ = ["ACCESS_KEY", "Accepted", "SesProvider", "ses_error"]
