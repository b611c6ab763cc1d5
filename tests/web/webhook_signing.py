"""Test-side signers for each provider, with real keys made per test, and a sample store."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.testclient import TestClient

from syndicator import config
from syndicator.config import Settings
from syndicator.model import Delivery, Receipt, SubscriberStatus
from syndicator.store import Store
from syndicator.web.webhooks import webhook_routes
from syndicator.web.webhooks.sns import string_to_sign

NOW = datetime(2026, 1, 20, 3, 0, tzinfo=UTC)


@dataclass
class Keys:
    """Fresh secrets for every provider, and the environment that configures them."""

    postmark: str
    sendgrid: ec.EllipticCurvePrivateKey
    mailgun: str
    resend: bytes

    @classmethod
    def generate(cls) -> Keys:
        return cls(
            postmark=secrets.token_urlsafe(24),
            sendgrid=ec.generate_private_key(ec.SECP256R1()),
            mailgun=secrets.token_hex(16),
            resend=secrets.token_bytes(24),
        )

    def env(self, **extra: str) -> dict[str, str]:
        public = self.sendgrid.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "SYNDICATOR_WEBHOOK_SECRET": self.postmark,
            "SYNDICATOR_SENDGRID_WEBHOOK_KEY": base64.b64encode(public).decode(),
            "SYNDICATOR_MAILGUN_SIGNING_KEY": self.mailgun,
            "SYNDICATOR_RESEND_WEBHOOK_SECRET": "whsec_" + base64.b64encode(self.resend).decode(),
            **extra,
        }


def postmark_headers(secret: str, user: str = "postmark") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def sendgrid_headers(key: ec.EllipticCurvePrivateKey, body: bytes, at: datetime) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


def mailgun_body(key: str, event_data: Mapping[str, Any], at: datetime) -> bytes:
    timestamp = str(int(at.timestamp()))
    token = secrets.token_hex(25)
    digest = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    signature = {"timestamp": timestamp, "token": token, "signature": digest}
    return json.dumps({"signature": signature, "event-data": event_data}).encode()


def svix_headers(key: bytes, body: bytes, at: datetime, msg_id: str) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "svix-id": msg_id,
        "svix-timestamp": timestamp,
        "svix-signature": f"v1,{base64.b64encode(b'not-it').decode()} "
        f"v1,{base64.b64encode(digest).decode()}",
        "Content-Type": "application/json",
    }


@dataclass
class SnsSigner:
    """A self-signed RSA certificate standing in for AWS's SNS signing certificate."""

    key: rsa.RSAPrivateKey
    pem: bytes

    @classmethod
    def generate(cls) -> SnsSigner:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test.invalid")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert.public_bytes(serialization.Encoding.PEM))

    def sign(self, message: dict[str, Any], version: str = "2") -> dict[str, Any]:
        algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()
        signature = self.key.sign(string_to_sign(message), padding.PKCS1v15(), algorithm)
        return {
            **message,
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode(),
        }


@dataclass
class Sample:
    """A store with one active subscriber and one sent delivery to them."""

    store: Store
    subscriber_id: int
    delivery: Delivery
    email: str = "reader@example.org"


def make_sample(store: Store) -> Sample:
    email = "reader@example.org"
    subscriber = store.add_subscriber(
        email, newsletters=["weekly"], status=SubscriberStatus.ACTIVE, now=NOW
    )
    other = store.add_subscriber(
        "other@example.org", newsletters=["weekly"], status=SubscriberStatus.ACTIVE, now=NOW
    )
    edition = store.create_edition(
        "weekly",
        "Weekly 1",
        [],
        "<p>hi</p>",
        NOW,
        [(subscriber.id, email, ""), (other.id, other.email, "")],
    )
    assert edition is not None
    deliveries = {d.subscriber_id: d for d in _deliveries(store, edition.id)}
    return Sample(store, subscriber.id, deliveries[subscriber.id], email)


def _deliveries(store: Store, edition_id: int) -> Iterator[Delivery]:
    claimed = store.claim_deliveries(10, "test", NOW, edition_id)
    store.record_receipts(
        [Receipt(d.id, ok=True, provider_id=f"msg-{d.id[:8]}") for d in claimed], NOW
    )
    for d in claimed:
        found = store.delivery(d.id)
        assert found is not None
        yield found


def client_for(
    settings: Settings, store: Store, env: Mapping[str, str], clock: Callable[[], datetime]
) -> TestClient:
    """A Starlette app holding only the webhook routes."""
    app = Starlette(routes=webhook_routes(settings, store, env=env, clock=clock))
    return TestClient(app)


def make_settings(tmp_path: Path, store_url: str) -> Settings:
    path = tmp_path / "syndicator.toml"
    path.write_text(
        f'[site]\ntitle = "Test"\nurl = "https://blog.example.com"\n'
        f'[database]\nurl = "{store_url}"\n',
        encoding="utf-8",
    )
    return config.load(path, env={}, site_fallback=lambda _root: {})
