"""Wire formats of the fake mail APIs: auth checks, payload validation and answers per provider.

Each provider answers the way its documentation says (shared/reference/mail_apis.md); a
malformed payload gets the provider's own error status and body.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.postmark_batch import FastItem, read_batch

try:  # orjson parses 20 MB batches twice as fast; the fake must keep up with the benchmark
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads

Headers = dict[str, str]  # lower-case names


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Accepted:
    """One message the fake provider accepted."""

    delivery_id: str
    to: str
    provider_id: str
    headers: dict[str, str]  # the message's custom headers
    payload: dict[str, Any] | None  # the provider-specific request item, if recorded


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(
        status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


Record = Callable[[Accepted], None]
Reject = Callable[[str], str | None]  # address -> provider error text, or None


class Provider:
    """Base: subclasses check auth and handle one POST."""

    name = ""

    def __init__(self, key: str, record: Record, rejected: Reject, keep_payloads: bool) -> None:
        self.key = key
        self.record = record
        self.rejected = rejected
        self.keep_payloads = keep_payloads

    def unauthorized(self, path: str, headers: Headers) -> Answer | None:
        raise NotImplementedError

    def handle(self, path: str, headers: Headers, body: bytes) -> Answer:
        raise NotImplementedError

    def accept(
        self, delivery_id: str, to: str, custom: dict[str, str], item: dict[str, Any] | None
    ) -> str:
        provider_id = str(uuid.uuid4())
        self.record(
            Accepted(delivery_id, to, provider_id, custom, item if self.keep_payloads else None)
        )
        return provider_id


def _json(body: bytes) -> Any:
    """The parsed body, or the ValueError class itself for malformed JSON."""
    try:
        return _loads(body)
    except (ValueError, UnicodeDecodeError):
        return ValueError


class PostmarkProvider(Provider):
    name = "postmark"
    track_links = frozenset({"None", "HtmlAndText", "HtmlOnly", "TextOnly"})

    def unauthorized(self, path: str, headers: Headers) -> Answer | None:
        if headers.get("x-postmark-server-token") != self.key:
            return json_answer(
                401, {"ErrorCode": 10, "Message": "Request does not contain a valid Server token."}
            )
        return None

    def handle(self, path: str, headers: Headers, body: bytes) -> Answer:
        if path != "/email/batch":
            return json_answer(404, {"ErrorCode": 404, "Message": "Not found"})
        if "application/json" not in headers.get(
            "accept", ""
        ) or "application/json" not in headers.get("content-type", ""):
            return json_answer(415, {"ErrorCode": 409, "Message": "JSON data required"})
        # Recorded payloads need every field decoded; otherwise well-formed batches are only
        # checked (tests/fakes/postmark_batch.py) and anything else is read the generic way.
        fast = None if self.keep_payloads else read_batch(body)
        items: Any = fast if fast is not None else _json(body)
        if items is ValueError or not isinstance(items, list):
            return json_answer(422, {"ErrorCode": 402, "Message": "Received invalid JSON input."})
        if len(items) > 500:
            return json_answer(
                422, {"ErrorCode": 410, "Message": "Too many batch messages (max 500)."}
            )
        if fast is not None:
            return json_answer(200, [self._fast_one(item) for item in fast])
        return json_answer(200, [self._one(item) for item in items])

    def _fast_one(self, item: FastItem) -> dict[str, Any]:
        problem = self._basic_problem(
            item.From, item.To, item.Subject, item.has_body(), item.TrackLinks
        )
        if problem:
            return {"ErrorCode": 300, "Message": f"Invalid email request: {problem}"}
        custom = {h.Name: h.Value for h in item.Headers}
        return self._answer(item.Metadata.get("delivery_id", ""), item.To, custom, None)

    def _one(self, item: Any) -> dict[str, Any]:
        problem = self._problem(item)
        if problem:
            return {"ErrorCode": 300, "Message": f"Invalid email request: {problem}"}
        custom = {h["Name"]: h["Value"] for h in item.get("Headers", [])}
        return self._answer(
            item.get("Metadata", {}).get("delivery_id", ""), item["To"], custom, item
        )

    def _answer(
        self, delivery_id: str, to: str, custom: dict[str, str], item: dict[str, Any] | None
    ) -> dict[str, Any]:
        refusal = self.rejected(to)
        if refusal:
            return {"ErrorCode": 406, "Message": refusal}
        message_id = self.accept(delivery_id, to, custom, item)
        submitted = datetime.now(UTC).isoformat()
        return {
            "ErrorCode": 0,
            "Message": "OK",
            "MessageID": message_id,
            "SubmittedAt": submitted,
            "To": to,
        }

    def _basic_problem(
        self, sender: Any, to: Any, subject: Any, has_body: bool, track_links: Any
    ) -> str | None:
        for name, value in (("From", sender), ("To", to), ("Subject", subject)):
            if not isinstance(value, str) or not value:
                return f"missing {name}"
        if "@" not in to:
            return f"Error parsing 'To': Illegal email address '{to}'"
        if not has_body:
            return "Provide either email TextBody or HtmlBody or both."
        if track_links not in self.track_links:
            return "TrackLinks is invalid"
        return None

    def _problem(self, item: Any) -> str | None:
        if not isinstance(item, dict):
            return "not an object"
        problem = self._basic_problem(
            item.get("From"),
            item.get("To"),
            item.get("Subject"),
            bool(item.get("HtmlBody") or item.get("TextBody")),
            item.get("TrackLinks", "None"),
        )
        if problem:
            return problem
        headers = item.get("Headers", [])
        if not isinstance(headers, list) or not all(
            isinstance(h, dict) and set(h) == {"Name", "Value"} for h in headers
        ):
            return "Headers must be a list of {Name, Value}"
        metadata = item.get("Metadata", {})
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            return "Metadata values must be strings"
        if "TrackOpens" in item and not isinstance(item["TrackOpens"], bool):
            return "TrackOpens must be a boolean"
        return None


SENDGRID_RESERVED = frozenset(
    [
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    ]
)


class SendgridProvider(Provider):
    name = "sendgrid"

    def unauthorized(self, path: str, headers: Headers) -> Answer | None:
        if headers.get("authorization") != f"Bearer {self.key}":
            return self._errors(
                401, "The provided authorization grant is invalid, expired, or revoked", None
            )
        return None

    @staticmethod
    def _errors(status: int, message: str, field_name: str | None) -> Answer:
        return json_answer(
            status, {"errors": [{"message": message, "field": field_name, "help": None}]}
        )

    def handle(self, path: str, headers: Headers, body: bytes) -> Answer:
        if path != "/v3/mail/send":
            return self._errors(404, "not found", None)
        request = _json(body)
        if request is ValueError or not isinstance(request, dict):
            return self._errors(400, "Bad Request", None)
        problem = self._problem(request)
        if problem:
            return self._errors(400, *problem)
        for p in request["personalizations"]:
            for to in p["to"]:
                refusal = self.rejected(to["email"])
                if refusal:
                    return self._errors(400, refusal, "personalizations.0.to.0.email")
        message_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        for p in request["personalizations"]:
            args = {**request.get("custom_args", {}), **p.get("custom_args", {})}
            custom = {**request.get("headers", {}), **p.get("headers", {})}
            for to in p["to"]:
                self.record(
                    Accepted(
                        args.get("delivery_id", ""),
                        to["email"],
                        message_id,
                        custom,
                        request if self.keep_payloads else None,
                    )
                )
        return Answer(202, b"", {"X-Message-Id": message_id})

    def _problem(self, request: dict[str, Any]) -> tuple[str, str] | None:
        persons = request.get("personalizations")
        if not isinstance(persons, list) or not 1 <= len(persons) <= 1000:
            return (
                "The personalizations field is required and must have at least one.",
                "personalizations",
            )
        if not isinstance(request.get("from"), dict) or "@" not in str(
            request["from"].get("email", "")
        ):
            return "The from object must be provided for every email send.", "from"
        seen: set[str] = set()
        for i, p in enumerate(persons):
            if not isinstance(p, dict) or not isinstance(p.get("to"), list) or not p["to"]:
                return (
                    "The to array is required for all personalization objects.",
                    f"personalizations.{i}.to",
                )
            for to in p["to"]:
                email = str(to.get("email", "")) if isinstance(to, dict) else ""
                if "@" not in email or email.lower() in seen:
                    return (
                        "Each email address in the personalization block should be unique.",
                        f"personalizations.{i}.to",
                    )
                seen.add(email.lower())
            if not (p.get("subject") or request.get("subject")):
                return "The subject is required.", "subject"
            for scope in (p, request):
                if any(name.lower() in SENDGRID_RESERVED for name in scope.get("headers", {})):
                    return "Reserved header used.", "headers"
                if not all(isinstance(v, str) for v in scope.get("custom_args", {}).values()):
                    return "custom_args values must be strings.", "custom_args"
        content = request.get("content")
        if not isinstance(content, list) or not content:
            return (
                "Unless a valid template_id is provided, the content parameter is required.",
                "content",
            )
        types = [c.get("type") for c in content]
        if (
            "text/plain" in types
            and "text/html" in types
            and types.index("text/plain") > types.index("text/html")
        ):
            return "If present, text/plain content must be first, followed by text/html.", "content"
        return None


class MailgunProvider(Provider):
    name = "mailgun"
    path_pattern = re.compile(r"^/v3/([^/]+)/messages$")

    def unauthorized(self, path: str, headers: Headers) -> Answer | None:
        expected = "Basic " + base64.b64encode(f"api:{self.key}".encode()).decode()
        if headers.get("authorization") != expected:
            return Answer(401, b"Forbidden", {"Content-Type": "text/plain"})
        return None

    def handle(self, path: str, headers: Headers, body: bytes) -> Answer:
        match = self.path_pattern.match(path)
        if not match:
            return json_answer(404, {"message": "not found"})
        if "application/x-www-form-urlencoded" not in headers.get("content-type", ""):
            return json_answer(400, {"message": "expected form data"})
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return json_answer(400, {"message": "malformed form data"})
        for name in ("from", "to", "subject"):
            if not form.get(name, [""])[0]:
                return json_answer(400, {"message": f"'{name}' parameter is missing"})
        if not (form.get("text") or form.get("html")):
            return json_answer(
                400, {"message": "Need at least one of 'text' or 'html' parameters specified"}
            )
        domain = match.group(1)
        if not form["from"][0].rstrip(">").endswith("@" + domain):
            return json_answer(400, {"message": f"from address is not on domain {domain}"})
        to = form["to"][0]
        refusal = self.rejected(to)
        if refusal:
            return json_answer(400, {"message": refusal})
        custom = {k[2:]: v[0] for k, v in form.items() if k.startswith("h:")}
        item = {k: v if len(v) > 1 else v[0] for k, v in form.items()}
        provider_id = self.accept(form.get("v:delivery_id", [""])[0], to, custom, item)
        return json_answer(
            200, {"id": f"<{provider_id}@{domain}>", "message": "Queued. Thank you."}
        )


_TAG_VALUE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ResendProvider(Provider):
    name = "resend"

    def __init__(self, key: str, record: Record, rejected: Reject, keep_payloads: bool) -> None:
        super().__init__(key, record, rejected, keep_payloads)
        self.idempotent: dict[str, tuple[str, Answer]] = {}

    @staticmethod
    def _error(status: int, name: str, message: str) -> Answer:
        return json_answer(status, {"statusCode": status, "name": name, "message": message})

    def unauthorized(self, path: str, headers: Headers) -> Answer | None:
        if not headers.get("user-agent"):
            return Answer(403, b"error code: 1010", {"Content-Type": "text/plain"})
        auth = headers.get("authorization", "")
        if not auth:
            return self._error(
                401, "missing_api_key", "Missing API key in the authorization header"
            )
        if auth != f"Bearer {self.key}":
            return self._error(403, "invalid_api_key", "API key is invalid")
        return None

    def handle(self, path: str, headers: Headers, body: bytes) -> Answer:
        if path != "/emails/batch":
            return self._error(404, "not_found", "The requested endpoint does not exist.")
        key = headers.get("idempotency-key")
        digest = hashlib.sha256(body).hexdigest()
        if key is not None:
            if not 1 <= len(key) <= 256:
                return self._error(400, "invalid_idempotency_key", "key must be 1-256 characters")
            if key in self.idempotent:
                seen_digest, answer = self.idempotent[key]
                if seen_digest != digest:
                    return self._error(
                        409, "invalid_idempotent_request", "same key, different payload"
                    )
                return answer  # replay: nothing is sent again
        answer = self._batch(headers, body)
        if key is not None and answer.status == 200:
            self.idempotent[key] = (digest, answer)
        return answer

    def _batch(self, headers: Headers, body: bytes) -> Answer:
        items = _json(body)
        if items is ValueError or not isinstance(items, list) or not 1 <= len(items) <= 100:
            return self._error(
                422, "validation_error", "The batch must be an array of 1 to 100 emails"
            )
        permissive = headers.get("x-batch-validation", "strict") == "permissive"
        errors = [
            (i, p) for i, p in ((i, self._problem(item)) for i, item in enumerate(items)) if p
        ]
        if errors and not permissive:
            return self._error(422, "validation_error", f"emails[{errors[0][0]}]: {errors[0][1]}")
        failed = dict(errors)
        data = []
        for i, item in enumerate(items):
            if i in failed:
                continue
            tags = {t["name"]: t["value"] for t in item.get("tags", [])}
            to = item["to"][0] if isinstance(item["to"], list) else item["to"]
            data.append(
                {"id": self.accept(tags.get("delivery_id", ""), to, item.get("headers", {}), item)}
            )
        answer: dict[str, Any] = {"data": data}
        if permissive:
            answer["errors"] = [{"index": i, "message": m} for i, m in errors]
        return json_answer(
            200,
            answer,
            {"ratelimit-limit": "5", "ratelimit-remaining": "4", "ratelimit-reset": "1"},
        )

    def _problem(self, item: Any) -> str | None:
        if not isinstance(item, dict):
            return "email must be an object"
        for name in ("from", "to", "subject"):
            if not item.get(name):
                return f"Missing `{name}` field."
        to = item["to"] if isinstance(item["to"], list) else [item["to"]]
        if not all(isinstance(a, str) and "@" in a for a in to) or len(to) > 50:
            return "Invalid `to` field."
        if not (item.get("html") or item.get("text")):
            return "Missing `html` or `text` field."
        for tag in item.get("tags", []):
            if (
                not isinstance(tag, dict)
                or not _TAG_VALUE.match(str(tag.get("name")))
                or not _TAG_VALUE.match(str(tag.get("value")))
            ):
                return "Tags should only contain ASCII letters, numbers, underscores, or dashes."
        if not isinstance(item.get("headers", {}), dict):
            return "Invalid `headers` field."
        for address in to:
            refusal = self.rejected(address)
            if refusal:
                return refusal
        return None
