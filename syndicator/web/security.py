"""Security headers, a privacy-safe access log, and CSRF checks for the web app's forms."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "AccessLog",
    "CsrfGuard",
    "SecurityHeaders",
    "origin_of",
    "redact_path",
]

access_log = logging.getLogger("syndicator.web.access")

# Pages: our stylesheet only, no script at all, forms post back to us, never framed.
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_TOKEN_PATH = re.compile(r"^/(confirm|unsubscribe|preferences)/[^/]+")


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lowercased; "" when it has none."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


def redact_path(path: str) -> str:
    """The path with signed tokens replaced, so a log line never holds a working link."""
    return _TOKEN_PATH.sub(lambda m: f"/{m.group(1)}/<token>", path)


class SecurityHeaders:
    """Adds strict headers to every response; a response may bring its own CSP (the archive)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", PAGE_POLICY)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "no-referrer")
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("cross-origin-opener-policy", "same-origin")
                headers.setdefault("permissions-policy", "camera=(), microphone=(), geolocation=()")
                if self.hsts:
                    headers.setdefault(
                        "strict-transport-security", "max-age=63072000; includeSubDomains"
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLog:
    """One INFO line per request: method, path (tokens redacted, no query), status, duration.

    No client address, query string or body is logged: they carry personal data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            access_log.info(
                "request method=%s path=%s status=%d duration_ms=%.1f",
                scope["method"],
                redact_path(scope["path"]),
                status,
                (time.perf_counter() - started) * 1000,
            )


class CsrfGuard:
    """Two CSRF defences: a signed double-submit pair for the public subscribe form, and a
    field bound to the page's own signed token for the subscriber's pages."""

    COOKIE = "syndicator_csrf"
    FIELD = "csrf"

    def __init__(self, keys: Sequence[str], allowed_origins: Iterable[str]) -> None:
        usable = [k for k in keys if k]
        self._serializer = URLSafeTimedSerializer(
            list(reversed(usable)), salt="syndicator.csrf"
        )  # the last key signs, all verify: the first configured key signs
        self._page_keys = [
            hashlib.sha256(b"syndicator.csrf.page:" + k.encode("utf-8")).digest() for k in usable
        ]
        self.allowed_origins = frozenset(o for o in allowed_origins if o)

    def new_pair(self) -> tuple[str, str]:
        """(cookie value, form field value) for a fresh subscribe form."""
        nonce = secrets.token_urlsafe(18)
        return nonce, str(self._serializer.dumps(nonce))

    def check_pair(self, cookie: str | None, field: str | None, max_age: int) -> bool:
        if not cookie or not field:
            return False
        try:
            nonce = self._serializer.loads(field, max_age=max_age)
        except BadData:
            return False
        return isinstance(nonce, str) and hmac.compare_digest(nonce, cookie)

    def page_field(self, page_token: str) -> str:
        """The hidden field value for a form on the page of ``page_token``."""
        return hmac.new(self._page_keys[0], page_token.encode(), "sha256").hexdigest()

    def check_page_field(self, page_token: str, field: str | None) -> bool:
        if not field:
            return False
        return any(
            hmac.compare_digest(hmac.new(key, page_token.encode(), "sha256").hexdigest(), field)
            for key in self._page_keys
        )

    def origin_allowed(self, origin: str | None, own_origin: str) -> bool:
        """True for a request from our own origin or the site that embeds our form."""
        if not origin or origin == "null":
            return False
        origin = origin.lower()
        return origin == own_origin or origin in self.allowed_origins
