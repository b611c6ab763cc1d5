"""Webhooks over HTTP: each provider's authentication, and what events do to the store."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from syndicator.model import SubscriberStatus
from syndicator.store import Store
from tests.web.webhook_signing import (
    NOW,
    Keys,
    Sample,
    client_for,
    mailgun_body,
    make_sample,
    make_settings,
    postmark_headers,
    sendgrid_headers,
    svix_headers,
)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def keys() -> Keys:
    return Keys.generate()


@pytest.fixture
def sample(tmp_path: Path, store_url: str) -> Iterator[Sample]:
    store = Store.open(store_url)
    try:
        yield make_sample(store)
    finally:
        store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(tmp_path: Path, store_url: str, sample: Sample, keys: Keys, clock: Clock) -> TestClient:
    settings = make_settings(tmp_path, store_url)
    return client_for(settings, sample.store, keys.env(), clock)


def postmark_bounce(sample: Sample, kind: str = "HardBounce", bounce_id: int = 1) -> bytes:
    return json.dumps(
        {
            "RecordType": "Bounce",
            "ID": bounce_id,
            "Type": kind,
            "TypeCode": 1 if kind == "HardBounce" else 4096,
            "Email": sample.email,
            "BouncedAt": "2026-01-20T02:59:00Z",
            "MessageID": "pm-msg-1",
            "Metadata": {"delivery_id": sample.delivery.id},
            "MessageStream": "broadcast",
        }
    ).encode()


def status_of(sample: Sample) -> SubscriberStatus:
    found = sample.store.get_subscriber(sample.subscriber_id)
    assert found is not None
    return found.status


# --- Postmark --------------------------------------------------------------------------------


def test_postmark_hard_bounce_suppresses(client: TestClient, sample: Sample, keys: Keys) -> None:
    answer = client.post(
        "/webhooks/postmark",
        content=postmark_bounce(sample),
        headers=postmark_headers(keys.postmark),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["suppressed"] == 1
    assert sample.store.is_suppressed("Reader@Example.org")
    assert status_of(sample) is SubscriberStatus.BOUNCED
    assert not sample.store.is_suppressed("other@example.org")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no-credentials"),
        pytest.param(postmark_headers("wrong-secret"), 403, id="wrong-password"),
        pytest.param({"Authorization": "Basic !!!"}, 401, id="malformed-basic"),
        pytest.param({"X-Syndicator-Webhook-Secret": "nope"}, 403, id="wrong-header-secret"),
    ],
)
def test_postmark_rejects_bad_credentials(
    client: TestClient, sample: Sample, headers: dict[str, str], status: int
) -> None:
    answer = client.post("/webhooks/postmark", content=postmark_bounce(sample), headers=headers)
    assert answer.status_code == status
    assert not sample.store.is_suppressed(sample.email)
    assert status_of(sample) is SubscriberStatus.ACTIVE


def test_postmark_secret_header_accepted(client: TestClient, sample: Sample, keys: Keys) -> None:
    headers = {"X-Syndicator-Webhook-Secret": keys.postmark}
    answer = client.post("/webhooks/postmark", content=postmark_bounce(sample), headers=headers)
    assert answer.status_code == 200
    assert sample.store.is_suppressed(sample.email)


def test_postmark_complaint_suppresses_and_marks(
    client: TestClient, sample: Sample, keys: Keys
) -> None:
    body = json.dumps(
        {
            "RecordType": "SpamComplaint",
            "ID": 77,
            "Type": "SpamComplaint",
            "Email": sample.email,
            "MessageID": "pm-msg-1",
            "Metadata": {"delivery_id": sample.delivery.id},
        }
    ).encode()
    answer = client.post(
        "/webhooks/postmark", content=body, headers=postmark_headers(keys.postmark)
    )
    assert answer.status_code == 200
    assert sample.store.is_suppressed(sample.email)
    assert status_of(sample) is SubscriberStatus.COMPLAINED


def test_soft_bounces_suppress_at_threshold(client: TestClient, sample: Sample, keys: Keys) -> None:
    headers = postmark_headers(keys.postmark)
    for bounce_id in (1, 2):
        body = postmark_bounce(sample, "SoftBounce", bounce_id)
        assert client.post("/webhooks/postmark", content=body, headers=headers).status_code == 200
        assert not sample.store.is_suppressed(sample.email)
    assert sample.store.soft_bounce_count(sample.subscriber_id) == 2
    answer = client.post(
        "/webhooks/postmark", content=postmark_bounce(sample, "SoftBounce", 3), headers=headers
    )
    assert answer.json()["suppressed"] == 1
    assert sample.store.is_suppressed(sample.email)
    assert status_of(sample) is SubscriberStatus.BOUNCED


def test_delivery_resets_soft_bounce_count(client: TestClient, sample: Sample, keys: Keys) -> None:
    headers = postmark_headers(keys.postmark)
    for bounce_id in (1, 2):
        body = postmark_bounce(sample, "SoftBounce", bounce_id)
        client.post("/webhooks/postmark", content=body, headers=headers)
    delivered = {
        "RecordType": "Delivery",
        "MessageID": "pm-msg-2",
        "Recipient": sample.email,
        "DeliveredAt": "2026-01-20T02:59:30Z",
        "Metadata": {"delivery_id": sample.delivery.id},
    }
    client.post("/webhooks/postmark", content=json.dumps(delivered).encode(), headers=headers)
    assert sample.store.soft_bounce_count(sample.subscriber_id) == 0
    client.post(
        "/webhooks/postmark", content=postmark_bounce(sample, "SoftBounce", 3), headers=headers
    )
    assert not sample.store.is_suppressed(sample.email)


def test_duplicate_soft_bounce_counts_once(client: TestClient, sample: Sample, keys: Keys) -> None:
    headers = postmark_headers(keys.postmark)
    body = postmark_bounce(sample, "SoftBounce", 41)
    answers = [client.post("/webhooks/postmark", content=body, headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert [a.json().get("duplicate", 0) for a in answers] == [0, 1, 1, 1]
    assert sample.store.soft_bounce_count(sample.subscriber_id) == 1
    assert not sample.store.is_suppressed(sample.email)


def test_duplicate_hard_bounce_is_harmless(client: TestClient, sample: Sample, keys: Keys) -> None:
    headers = postmark_headers(keys.postmark)
    first = client.post("/webhooks/postmark", content=postmark_bounce(sample), headers=headers)
    second = client.post("/webhooks/postmark", content=postmark_bounce(sample), headers=headers)
    assert first.json()["suppressed"] == 1
    assert second.json() == {"events": 1, "duplicate": 1}
    assert [s.email for s in sample.store.suppressions()] == [sample.email]


def test_event_matched_by_delivery_id_not_address(
    client: TestClient, sample: Sample, keys: Keys
) -> None:
    """The provider reports a different spelling of the address; our delivery id decides whom."""
    body = json.loads(postmark_bounce(sample, "SoftBounce"))
    body["Email"] = ""
    headers = postmark_headers(keys.postmark)
    client.post("/webhooks/postmark", content=json.dumps(body).encode(), headers=headers)
    assert sample.store.soft_bounce_count(sample.subscriber_id) == 1


def test_unknown_provider_and_unconfigured_are_404(
    tmp_path: Path, store_url: str, sample: Sample, clock: Clock
) -> None:
    client = client_for(make_settings(tmp_path, store_url), sample.store, {}, clock)
    assert client.post("/webhooks/postmark", content=b"{}").status_code == 404
    assert client.post("/webhooks/nosuch", content=b"{}").status_code == 404
    assert client.get("/webhooks/ses").status_code == 405


# --- SendGrid --------------------------------------------------------------------------------


def sendgrid_events(sample: Sample, event: str = "bounce", **extra: Any) -> bytes:
    item = {
        "email": sample.email,
        "timestamp": int(NOW.timestamp()) - 30,
        "event": event,
        "sg_event_id": "evt-1",
        "sg_message_id": f"{sample.delivery.provider_id}.filterdrecv-1",
        "delivery_id": sample.delivery.id,
        **extra,
    }
    return json.dumps([item, {"email": "x@example.net", "event": "processed"}]).encode()


def test_sendgrid_valid_signature(client: TestClient, sample: Sample, keys: Keys) -> None:
    body = sendgrid_events(sample, type="bounce", status="5.1.1")
    answer = client.post(
        "/webhooks/sendgrid", content=body, headers=sendgrid_headers(keys.sendgrid, body, NOW)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"events": 2, "bounce_hard": 1, "suppressed": 1, "ignored": 1}
    assert status_of(sample) is SubscriberStatus.BOUNCED


def test_sendgrid_spamreport(client: TestClient, sample: Sample, keys: Keys) -> None:
    body = sendgrid_events(sample, "spamreport")
    headers = sendgrid_headers(keys.sendgrid, body, NOW)
    assert client.post("/webhooks/sendgrid", content=body, headers=headers).status_code == 200
    assert status_of(sample) is SubscriberStatus.COMPLAINED


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param("body", id="body-changed"),
        pytest.param("other-key", id="signed-by-another-key"),
        pytest.param("timestamp", id="timestamp-changed"),
        pytest.param("missing", id="headers-missing"),
    ],
)
def test_sendgrid_bad_signature(
    client: TestClient, sample: Sample, keys: Keys, tamper: str
) -> None:
    body = sendgrid_events(sample)
    headers = sendgrid_headers(keys.sendgrid, body, NOW)
    if tamper == "body":
        body = body.replace(b"bounce", b"spamreport")
    elif tamper == "other-key":
        headers = sendgrid_headers(Keys.generate().sendgrid, body, NOW)
    elif tamper == "timestamp":
        headers["X-Twilio-Email-Event-Webhook-Timestamp"] = str(int(NOW.timestamp()) + 1)
    else:
        headers = {}
    answer = client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert answer.status_code == (401 if tamper == "missing" else 403)
    assert not sample.store.is_suppressed(sample.email)


def test_sendgrid_stale_timestamp_rejected(
    client: TestClient, sample: Sample, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    body = sendgrid_events(sample)
    headers = sendgrid_headers(keys.sendgrid, body, NOW - timedelta(minutes=30))
    with caplog.at_level("WARNING"):
        answer = client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert answer.status_code == 403
    assert "webhook replay rejected provider=sendgrid" in caplog.text
    assert sample.email not in caplog.text
    assert not sample.store.is_suppressed(sample.email)


# --- Mailgun ---------------------------------------------------------------------------------


def mailgun_failed(
    sample: Sample, severity: str = "permanent", event_id: str = "mg-1"
) -> dict[str, Any]:
    return {
        "event": "failed",
        "severity": severity,
        "reason": "bounce",
        "id": event_id,
        "recipient": sample.email,
        "timestamp": NOW.timestamp() - 10,
        "message": {"headers": {"message-id": "20260120.abc@mg.example.com"}},
        "user-variables": {"delivery_id": sample.delivery.id},
    }


def test_mailgun_valid_signature(client: TestClient, sample: Sample, keys: Keys) -> None:
    body = mailgun_body(keys.mailgun, mailgun_failed(sample), NOW)
    answer = client.post("/webhooks/mailgun", content=body)
    assert answer.status_code == 200, answer.text
    assert sample.store.is_suppressed(sample.email)
    assert status_of(sample) is SubscriberStatus.BOUNCED


def test_mailgun_bad_signature(client: TestClient, sample: Sample) -> None:
    body = mailgun_body("not-the-key", mailgun_failed(sample), NOW)
    assert client.post("/webhooks/mailgun", content=body).status_code == 403
    unsigned = json.dumps({"event-data": mailgun_failed(sample)}).encode()
    assert client.post("/webhooks/mailgun", content=unsigned).status_code == 401
    assert not sample.store.is_suppressed(sample.email)


def test_mailgun_replayed_token_and_stale_timestamp(
    client: TestClient, sample: Sample, keys: Keys
) -> None:
    genuine = mailgun_body(keys.mailgun, mailgun_failed(sample, "temporary"), NOW)
    assert client.post("/webhooks/mailgun", content=genuine).status_code == 200
    # the signature does not cover event-data: a replayed token with other data must fail
    forged = json.loads(genuine)
    forged["event-data"] = mailgun_failed(sample, "permanent", "mg-2")
    assert client.post("/webhooks/mailgun", content=json.dumps(forged).encode()).status_code == 403
    stale = mailgun_body(keys.mailgun, mailgun_failed(sample), NOW - timedelta(minutes=20))
    assert client.post("/webhooks/mailgun", content=stale).status_code == 403
    assert not sample.store.is_suppressed(sample.email)
    assert sample.store.soft_bounce_count(sample.subscriber_id) == 1


# --- Resend (Svix) ---------------------------------------------------------------------------


def resend_event(sample: Sample, kind: str = "email.bounced", bounce: str = "Permanent") -> bytes:
    data: dict[str, Any] = {
        "email_id": "re-1",
        "to": [sample.email],
        "from": "Digest <digest@news.example.com>",
        "subject": "Weekly 1",
        "tags": [{"name": "delivery_id", "value": sample.delivery.id}],
    }
    if kind == "email.bounced":
        data["bounce"] = {"type": bounce, "subType": "General", "message": "no such user"}
    return json.dumps({"type": kind, "created_at": "2026-01-20T02:59:00Z", "data": data}).encode()


def test_resend_valid_signature(client: TestClient, sample: Sample, keys: Keys) -> None:
    body = resend_event(sample, "email.complained")
    headers = svix_headers(keys.resend, body, NOW, "msg_" + secrets.token_hex(8))
    answer = client.post("/webhooks/resend", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert status_of(sample) is SubscriberStatus.COMPLAINED
    assert sample.store.is_suppressed(sample.email)


def test_resend_bad_signature_and_replay(client: TestClient, sample: Sample, keys: Keys) -> None:
    body = resend_event(sample)
    wrong = svix_headers(b"another secret", body, NOW, "msg_1")
    assert client.post("/webhooks/resend", content=body, headers=wrong).status_code == 403
    headers = svix_headers(keys.resend, body, NOW, "msg_1")
    headers["svix-id"] = "msg_2"  # the id is part of what is signed
    assert client.post("/webhooks/resend", content=body, headers=headers).status_code == 403
    old = svix_headers(keys.resend, body, NOW - timedelta(minutes=6), "msg_1")
    assert client.post("/webhooks/resend", content=body, headers=old).status_code == 403
    assert client.post("/webhooks/resend", content=body).status_code == 401
    assert not sample.store.is_suppressed(sample.email)


def test_resend_retry_with_same_svix_id_counts_once(
    client: TestClient, sample: Sample, keys: Keys, clock: Clock
) -> None:
    body = resend_event(sample, bounce="Transient")
    for minutes in (0, 5, 35):  # Svix re-signs each attempt with a fresh timestamp
        clock.now = NOW + timedelta(minutes=minutes)
        headers = svix_headers(keys.resend, body, clock.now, "msg_retry")
        assert client.post("/webhooks/resend", content=body, headers=headers).status_code == 200
    assert sample.store.soft_bounce_count(sample.subscriber_id) == 1
