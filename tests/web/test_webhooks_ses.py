"""SES through SNS: signature v1/v2 with a self-signed certificate served from loopback."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from syndicator.model import SubscriberStatus
from syndicator.store import Store
from syndicator.web.webhooks.sns import SnsVerifier
from tests.web.webhook_signing import (
    NOW,
    Sample,
    SnsSigner,
    client_for,
    make_sample,
    make_settings,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"


class CertServer:
    """Serves the signing certificate and counts subscription confirmations, on 127.0.0.1."""

    def __init__(self, pem: bytes) -> None:
        self.hits: Counter[str] = Counter()
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server_self.hits[self.path.split("?")[0]] += 1
                if self.path == "/cert.pem":
                    self._answer(200, pem)
                elif self.path.startswith("/confirm"):
                    self._answer(200, b"<ConfirmSubscriptionResponse/>")
                else:
                    self._answer(404, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def signer() -> SnsSigner:
    return SnsSigner.generate()


@pytest.fixture
def cert_server(signer: SnsSigner) -> Iterator[CertServer]:
    server = CertServer(signer.pem)
    yield server
    server.close()


@pytest.fixture
def sample(store_url: str) -> Iterator[Sample]:
    store = Store.open(store_url)
    try:
        yield make_sample(store)
    finally:
        store.close()


def make_client(
    tmp_path: Path, store_url: str, sample: Sample, server: CertServer, **env: str
) -> TestClient:
    environment = {"SYNDICATOR_TEST_SNS_ORIGIN": server.origin, **env}
    return client_for(make_settings(tmp_path, store_url), sample.store, environment, lambda: NOW)


@pytest.fixture
def client(tmp_path: Path, store_url: str, sample: Sample, cert_server: CertServer) -> TestClient:
    return make_client(tmp_path, store_url, sample, cert_server)


def ses_bounce(sample: Sample, bounce_type: str = "Permanent") -> str:
    return json.dumps(
        {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": bounce_type,
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": sample.email, "status": "5.1.1"}],
                "timestamp": "2026-01-20T02:58:00.000Z",
                "feedbackId": "fb-1",
            },
            "mail": {
                "messageId": sample.delivery.provider_id,
                "timestamp": "2026-01-20T02:57:00.000Z",
                "destination": [sample.email],
                "tags": {"delivery_id": [sample.delivery.id]},
            },
        }
    )


def notification(server: CertServer, message: str, **changes: Any) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "5a1b2c3d-0000-4000-8000-000000000001",
        "TopicArn": TOPIC,
        "Message": message,
        "Timestamp": "2026-01-20T02:59:00.000Z",
        "SigningCertURL": f"{server.origin}/cert.pem",
        "UnsubscribeURL": f"{server.origin}/unsubscribe",
        **changes,
    }


def post(client: TestClient, message: dict[str, Any]) -> httpx.Response:
    headers = {"x-amz-sns-message-type": message["Type"], "Content-Type": "text/plain"}
    return client.post("/webhooks/ses", content=json.dumps(message).encode(), headers=headers)


@pytest.mark.parametrize("version", [pytest.param("1", id="sha1"), pytest.param("2", id="sha256")])
def test_ses_bounce_with_valid_signature(
    client: TestClient, sample: Sample, signer: SnsSigner, cert_server: CertServer, version: str
) -> None:
    message = signer.sign(notification(cert_server, ses_bounce(sample)), version)
    answer = post(client, message)
    assert answer.status_code == 200, answer.text
    assert answer.json()["suppressed"] == 1
    assert sample.store.is_suppressed(sample.email)
    found = sample.store.get_subscriber(sample.subscriber_id)
    assert found is not None and found.status is SubscriberStatus.BOUNCED
    assert post(client, message).json() == {"events": 1, "duplicate": 1}
    assert cert_server.hits["/cert.pem"] == 1  # cached after the first fetch


def test_ses_tampered_message_rejected(
    client: TestClient, sample: Sample, signer: SnsSigner, cert_server: CertServer
) -> None:
    message = signer.sign(notification(cert_server, ses_bounce(sample, "Transient")))
    message["Message"] = ses_bounce(sample, "Permanent")
    assert post(client, message).status_code == 403
    other = SnsSigner.generate().sign(notification(cert_server, ses_bounce(sample)))
    assert post(client, other).status_code == 403
    assert not sample.store.is_suppressed(sample.email)


def test_ses_certificate_url_must_be_an_sns_host(
    client: TestClient, sample: Sample, signer: SnsSigner, cert_server: CertServer
) -> None:
    for url in (
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
        f"{cert_server.origin.replace('127.0.0.1', 'localhost')}/cert.pem",
    ):
        message = signer.sign(notification(cert_server, ses_bounce(sample), SigningCertURL=url))
        assert post(client, message).status_code == 403
    assert cert_server.hits["/cert.pem"] == 0
    assert not sample.store.is_suppressed(sample.email)


def test_ses_stale_timestamp_rejected(
    client: TestClient, sample: Sample, signer: SnsSigner, cert_server: CertServer
) -> None:
    old = (NOW - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    message = signer.sign(notification(cert_server, ses_bounce(sample), Timestamp=old))
    assert post(client, message).status_code == 403
    assert not sample.store.is_suppressed(sample.email)


def test_ses_unexpected_topic_rejected(
    tmp_path: Path, store_url: str, sample: Sample, signer: SnsSigner, cert_server: CertServer
) -> None:
    client = make_client(
        tmp_path, store_url, sample, cert_server, SYNDICATOR_SES_TOPIC_ARNS=f"{TOPIC}-other"
    )
    message = signer.sign(notification(cert_server, ses_bounce(sample)))
    assert post(client, message).status_code == 403
    assert not sample.store.is_suppressed(sample.email)


def confirmation(server: CertServer, subscribe_url: str) -> dict[str, Any]:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "5a1b2c3d-0000-4000-8000-000000000002",
        "Token": "2336412f37fb687f5d51e6e2425",
        "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": subscribe_url,
        "Timestamp": "2026-01-20T02:59:00.000Z",
        "SigningCertURL": f"{server.origin}/cert.pem",
    }


def test_ses_subscription_confirmed_on_sns_host_only(
    client: TestClient, signer: SnsSigner, cert_server: CertServer
) -> None:
    good = signer.sign(confirmation(cert_server, f"{cert_server.origin}/confirm?Token=abc"))
    assert post(client, good).status_code == 200
    assert cert_server.hits["/confirm"] == 1
    bad = signer.sign(confirmation(cert_server, "https://attacker.example/confirm?Token=abc"))
    assert post(client, bad).status_code == 403
    unsigned = dict(good, Signature="AAAA")
    assert post(client, unsigned).status_code == 403
    assert cert_server.hits["/confirm"] == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        pytest.param(
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem", True, id="aws"
        ),
        pytest.param("https://sns.cn-north-1.amazonaws.com.cn/cert.pem", True, id="aws-china"),
        pytest.param("http://sns.us-east-1.amazonaws.com/cert.pem", False, id="plain-http"),
        pytest.param("https://sns.us-east-1.amazonaws.com.evil.example/c.pem", False, id="suffix"),
        pytest.param("https://evil.example/sns.us-east-1.amazonaws.com/c.pem", False, id="path"),
        pytest.param("https://user@sns.us-east-1.amazonaws.com/c.pem", False, id="userinfo"),
        pytest.param("https://sns.us-east-1.amazonaws.com:8443/c.pem", False, id="port"),
        pytest.param("https://s3.amazonaws.com/c.pem", False, id="other-service"),
    ],
)
def test_sns_url_check(url: str, allowed: bool) -> None:
    with httpx.Client() as client:
        assert SnsVerifier(client).allowed(url) is allowed
