"""Every HTTP mail backend against its loopback fake: the same contract for all five."""

from __future__ import annotations

import pytest

from syndicator.deliver.http import RetryPolicy
from syndicator.errors import DeliveryError
from tests.deliver.conftest import LIST_HEADERS, http_backend, make_messages
from tests.fakes.clock import FakeClock
from tests.fakes.mailapi import FakeMailApi, Fault


def test_happy_batch_every_message_accepted_once_with_ids(
    fake: FakeMailApi, clock: FakeClock
) -> None:
    messages = make_messages(7)
    receipts = http_backend(fake, clock).send_batch(messages)
    assert [r.delivery_id for r in receipts] == [m.delivery_id for m in messages]
    assert all(r.ok and r.provider_id for r in receipts), receipts
    assert sorted(fake.delivery_ids()) == sorted(m.delivery_id for m in messages)
    assert clock.sleeps == []


def test_list_headers_kept_and_delivery_id_in_metadata(fake: FakeMailApi, clock: FakeClock) -> None:
    message = make_messages(1)[0]
    http_backend(fake, clock).send_batch([message])
    (accepted,) = fake.accepted
    assert accepted.delivery_id == message.delivery_id  # read from the provider's metadata field
    assert accepted.to == message.to
    for name in LIST_HEADERS:
        assert accepted.headers[name] == dict(message.headers)[name]


TRACKING_OFF = {
    "postmark": lambda p: p["TrackOpens"] is False and p["TrackLinks"] == "None",
    "sendgrid": lambda p: all(
        not p["tracking_settings"][k]["enable"]
        for k in ("click_tracking", "open_tracking", "subscription_tracking")
    ),
    "mailgun": lambda p: p["o:tracking"] == "no" and p["o:tracking-clicks"] == "no",
    # SES and Resend add no tracking to API sends unless configured on their side
    "ses": lambda p: "ConfigurationSetName" not in p,
    "resend": lambda p: "tracking" not in str(p).lower(),
}


def test_provider_tracking_and_unsubscribe_features_off(
    fake: FakeMailApi, clock: FakeClock
) -> None:
    http_backend(fake, clock).send_batch(make_messages(1))
    payload = fake.accepted[0].payload
    assert payload is not None and TRACKING_OFF[fake.provider_name](payload)


def test_per_message_error_fails_only_that_message(fake: FakeMailApi, clock: FakeClock) -> None:
    messages = make_messages(4)
    fake.rejections[messages[2].to] = "recipient is inactive"
    receipts = http_backend(fake, clock).send_batch(messages)
    assert [r.ok for r in receipts] == [True, True, False, True]
    assert not receipts[2].retryable and "inactive" in (receipts[2].error or "")
    assert sorted(fake.delivery_ids()) == sorted(
        m.delivery_id for i, m in enumerate(messages) if i != 2
    )


def test_wrong_key_stops_at_once_with_fatal_error(fake: FakeMailApi, clock: FakeClock) -> None:
    wrong = "AKIDFAKE0000EXAMPLE:wrong-secret" if fake.provider_name == "ses" else "wrong-key"
    backend = http_backend(fake, clock, api_key=wrong)
    with pytest.raises(DeliveryError) as caught:
        backend.send_batch(make_messages(40))
    assert caught.value.fatal and not caught.value.retryable
    assert "SYNDICATOR_MAIL_API_KEY" in str(caught.value)
    assert fake.request_count <= 8  # not one request per message: the send stopped
    assert fake.accepted == [] and clock.sleeps == []


def test_429_retry_after_is_honoured(fake: FakeMailApi, clock: FakeClock) -> None:
    fake.fail(429, retry_after="7")
    receipts = http_backend(fake, clock).send_batch(make_messages(1))
    assert receipts[0].ok
    assert clock.sleeps == [7.0]
    assert len(fake.accepted) == 1


@pytest.mark.parametrize("status", [pytest.param(500, id="500"), pytest.param(503, id="503")])
def test_server_error_then_success_is_retried(
    fake: FakeMailApi, clock: FakeClock, status: int
) -> None:
    fake.fail(status, count=2)
    receipts = http_backend(fake, clock).send_batch(make_messages(1))
    assert receipts[0].ok and len(fake.accepted) == 1
    assert len(clock.sleeps) == 2 and all(0 <= s <= 2.0 for s in clock.sleeps)  # jittered backoff


def test_dropped_connection_is_retried(fake: FakeMailApi, clock: FakeClock) -> None:
    fake.push(Fault(drop=True))
    receipts = http_backend(fake, clock).send_batch(make_messages(1))
    assert receipts[0].ok and len(fake.accepted) == 1 and len(clock.sleeps) == 1


def test_slow_answer_beyond_timeout_is_retried(fake: FakeMailApi, clock: FakeClock) -> None:
    import httpx

    fake.push(Fault(delay=0.5))
    backend = http_backend(fake, clock)
    backend._endpoint._client = httpx.Client(timeout=0.2)
    try:
        receipts = backend.send_batch(make_messages(1))
    finally:
        backend._endpoint._client.close()
    assert receipts[0].ok and len(clock.sleeps) == 1


def test_validation_error_is_not_retried(fake: FakeMailApi, clock: FakeClock) -> None:
    status = 422 if fake.provider_name in ("postmark", "resend") else 400
    fake.fail(status, body={"message": "invalid field", "ErrorCode": 300})
    receipts = http_backend(fake, clock).send_batch(make_messages(1))
    assert not receipts[0].ok and not receipts[0].retryable
    assert fake.request_count == 1 and clock.sleeps == []


def test_retry_budget_spent_raises_retryable(fake: FakeMailApi, clock: FakeClock) -> None:
    fake.fail(503, count=10)
    policy = RetryPolicy(attempts=3)
    backend = http_backend(fake, clock, policy)
    if fake.provider_name in ("sendgrid", "mailgun", "ses"):  # per-message requests: a receipt
        (receipt,) = backend.send_batch(make_messages(1))
        assert not receipt.ok and receipt.retryable
    else:
        with pytest.raises(DeliveryError) as caught:
            backend.send_batch(make_messages(1))
        assert caught.value.retryable and not caught.value.fatal
    assert fake.request_count == 3 and fake.accepted == []
