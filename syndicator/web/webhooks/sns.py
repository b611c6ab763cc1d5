"""Amazon SNS message authenticity: URL checks, the signing certificate, signature v1/v2."""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from syndicator.web.webhooks.auth import WebhookRejected, text

__all__ = ["SnsVerifier", "parse_time", "string_to_sign"]

log = logging.getLogger(__name__)

_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_KEYS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_MAX_CERT_BYTES = 64 * 1024
_CACHE_SIZE = 16


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """SNS's canonical form: ``key\\nvalue\\n`` for each signed key present, in order."""
    keys = _NOTIFICATION_KEYS if message.get("Type") == "Notification" else _CONFIRMATION_KEYS
    parts = [f"{key}\n{message[key]}\n" for key in keys if message.get(key) is not None]
    return "".join(parts).encode("utf-8")


class SnsVerifier:
    """Checks where a URL points, fetches and caches signing certificates, verifies messages.

    ``extra_origin`` (tests only) also allows URLs that start with that scheme://host:port.
    """

    def __init__(self, client: httpx.Client, extra_origin: str = "") -> None:
        self._client = client
        self._extra = extra_origin.rstrip("/") + "/" if extra_origin else ""
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        """True for an https URL on an sns.<region>.amazonaws.com host (no user info, port)."""
        if self._extra and url.startswith(self._extra):
            return True
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        return (
            parts.scheme == "https"
            and parts.username is None
            and port in (None, 443)
            and bool(_SNS_HOST.match(parts.hostname or ""))
        )

    def _public_key(self, url: str) -> rsa.RSAPublicKey:
        with self._lock:
            cached = self._keys.get(url)
        if cached is not None:
            return cached
        try:
            response = self._client.get(url)
        except httpx.HTTPError as exc:
            log.warning("sns certificate fetch failed error=%s", type(exc).__name__)
            raise WebhookRejected(503, "signing certificate unavailable") from exc
        if response.status_code != 200 or len(response.content) > _MAX_CERT_BYTES:
            log.warning("sns certificate fetch failed status=%d", response.status_code)
            raise WebhookRejected(503, "signing certificate unavailable")
        try:
            certificate = x509.load_pem_x509_certificate(response.content)
        except ValueError as exc:
            raise WebhookRejected(403, "signing certificate unreadable") from exc
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookRejected(403, "signing certificate is not RSA")
        with self._lock:
            if len(self._keys) >= _CACHE_SIZE:
                self._keys.pop(next(iter(self._keys)))
            self._keys[url] = key
        return key

    def verify(self, message: Mapping[str, Any]) -> None:
        """Raise WebhookRejected unless SNS signed this message."""
        algorithm = _HASHES.get(text(message.get("SignatureVersion")))
        if algorithm is None:
            raise WebhookRejected(403, "unknown signature version")
        cert_url = text(message.get("SigningCertURL"), 2000)
        if not self.allowed(cert_url):
            log.warning("sns certificate url refused")
            raise WebhookRejected(403, "signing certificate URL not on an SNS host")
        try:
            signature = base64.b64decode(text(message.get("Signature"), 4096), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WebhookRejected(403, "bad signature") from exc
        key = self._public_key(cert_url)
        try:
            key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
        except InvalidSignature as exc:
            raise WebhookRejected(403, "bad signature") from exc

    def confirm(self, url: str) -> None:
        """Confirm a subscription by fetching its SubscribeURL (only on an SNS host)."""
        if not self.allowed(url):
            log.warning("sns subscribe url refused")
            raise WebhookRejected(403, "SubscribeURL not on an SNS host")
        try:
            response = self._client.get(url)
        except httpx.HTTPError as exc:
            raise WebhookRejected(503, "subscription confirmation failed") from exc
        if response.status_code != 200:
            raise WebhookRejected(503, "subscription confirmation failed")
        log.info("sns subscription confirmed")


def parse_time(value: Any) -> datetime:
    """An SNS ISO 8601 timestamp; a 403 when unreadable or without a zone."""
    try:
        parsed = datetime.fromisoformat(text(value))
    except ValueError as exc:
        raise WebhookRejected(403, "bad timestamp") from exc
    if parsed.tzinfo is None:
        raise WebhookRejected(403, "bad timestamp")
    return parsed
