"""Provider-specific rules: Postmark codes, Resend idempotency, SES errors, fakes' validation."""

from __future__ import annotations

import httpx
import pytest

from syndicator.errors import DeliveryError
from tests.deliver.conftest import http_backend, make_messages
from tests.fakes.clock import FakeClock
from tests.fakes.mailapi import FakeMailApi, Fault


@pytest.mark.parametrize(
    ("code", "suppress", "retryable"),
    [
        pytest.param(406, True, False, id="406-inactive-recipient"),
        pytest.param(300, True, False, id="300-invalid-email"),
        pytest.param(100, False, True, id="100-maintenance"),
        pytest.param(405, False, False, id="405-not-allowed"),
    ],
)
def test_postmark_error_codes_per_message(code: int, suppress: bool, retryable: bool) -> None:
    from syndicator.deliver.postmark import PostmarkBackend

    with FakeMailApi("postmark") as fake:
        backend = http_backend(fake, FakeClock())
        assert isinstance(backend, PostmarkBackend)
        answer = httpx.Response(
            200, json=[{"ErrorCode": 0, "MessageID": "m1"}, {"ErrorCode": code, "Message": "no"}]
        )
        first, second = backend._answers(make_messages(2), answer)
        assert first.ok and first.provider_id == "m1"
        assert (second.ok, second.suppress, second.retryable) == (False, suppress, retryable)


def test_postmark_bad_token_code_is_fatal() -> None:
    with FakeMailApi("postmark") as fake:
        fake.fail(422, body={"ErrorCode": 10, "Message": "bad token"})
        with pytest.raises(DeliveryError, match="SYNDICATOR_MAIL_API_KEY") as caught:
            http_backend(fake, FakeClock()).send_batch(make_messages(2))
        assert caught.value.fatal


def test_postmark_maintenance_422_is_retried() -> None:
    with FakeMailApi("postmark") as fake:
        fake.fail(422, body={"ErrorCode": 100, "Message": "Maintenance"})
        receipts = http_backend(fake, FakeClock()).send_batch(make_messages(2))
        assert all(r.ok for r in receipts) and fake.request_count == 2


def test_postmark_splits_batches_at_500() -> None:
    with FakeMailApi("postmark", keep_payloads=False) as fake:
        receipts = http_backend(fake, FakeClock()).send_batch(make_messages(1001))
        assert all(r.ok for r in receipts) and fake.request_count == 3


def test_resend_answer_lost_after_sending_is_not_sent_twice() -> None:
    with FakeMailApi("resend") as fake:
        fake.push(Fault(drop=True, after=True))  # the batch is accepted, then the answer is lost
        receipts = http_backend(fake, FakeClock()).send_batch(make_messages(5))
        assert all(r.ok for r in receipts) and fake.request_count == 2
        assert len(fake.accepted) == 5  # the retry carried the same Idempotency-Key
        keys = {headers["idempotency-key"] for _, headers in fake.requests}
        assert len(keys) == 1


def test_resend_same_batch_in_a_later_run_is_not_sent_twice() -> None:
    with FakeMailApi("resend") as fake:
        messages = make_messages(3)
        first = http_backend(fake, FakeClock()).send_batch(messages)
        again = http_backend(fake, FakeClock()).send_batch(messages)  # e.g. after a crash
        assert [r.provider_id for r in first] == [r.provider_id for r in again]
        assert len(fake.accepted) == 3


def test_resend_concurrent_idempotent_request_is_retried() -> None:
    with FakeMailApi("resend") as fake:
        fake.fail(409, body={"statusCode": 409, "name": "concurrent_idempotent_requests"})
        assert all(r.ok for r in http_backend(fake, FakeClock()).send_batch(make_messages(2)))


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        pytest.param("ThrottlingException", 400, id="throttling-400"),
        pytest.param("TooManyRequestsException", 429, id="too-many-requests-429"),
    ],
)
def test_ses_throttling_is_retried(kind: str, status: int) -> None:
    with FakeMailApi("ses") as fake:
        fake.fail(
            status,
            body={"message": "Maximum sending rate exceeded."},
            headers={"x-amzn-ErrorType": kind},
        )
        clock = FakeClock()
        assert http_backend(fake, clock).send_batch(make_messages(1))[0].ok
        assert len(clock.sleeps) == 1


def test_ses_sending_paused_stops_the_send() -> None:
    with FakeMailApi("ses") as fake:
        fake.fail(
            400, body={"message": "paused"}, headers={"x-amzn-ErrorType": "SendingPausedException"}
        )
        with pytest.raises(DeliveryError, match="SendingPaused") as caught:
            http_backend(fake, FakeClock()).send_batch(make_messages(1))
        assert caught.value.fatal


def test_ses_message_rejected_fails_that_message() -> None:
    with FakeMailApi("ses") as fake:
        messages = make_messages(2)
        fake.rejections[messages[0].to] = "Email address is not verified."
        first, second = http_backend(fake, FakeClock()).send_batch(messages)
        assert not first.ok and "MessageRejected" in (first.error or "") and second.ok


@pytest.mark.parametrize(
    ("provider", "path", "headers", "body", "status"),
    [
        pytest.param(
            "postmark",
            "/email/batch",
            {
                "X-Postmark-Server-Token": "pm-test-token",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            b'{"From": "x"}',
            422,
            id="postmark-object-not-array-422",
        ),
        pytest.param(
            "postmark",
            "/email/batch",
            {"X-Postmark-Server-Token": "pm-test-token"},
            b"[]",
            415,
            id="postmark-no-json-headers-415",
        ),
        pytest.param(
            "sendgrid",
            "/v3/mail/send",
            {"Authorization": "Bearer sendgrid-test-key"},
            b'{"personalizations": []}',
            400,
            id="sendgrid-no-personalization-400",
        ),
        pytest.param(
            "mailgun",
            "/v3/example.com/messages",
            {
                "Authorization": "Basic YXBpOm1haWxndW4tdGVzdC1rZXk=",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            b"to=a%40b.org",
            400,
            id="mailgun-missing-from-400",
        ),
        pytest.param(
            "resend",
            "/emails/batch",
            {"Authorization": "Bearer resend-test-key"},
            b"["
            + b",".join([b'{"from":"a@b.c","to":"d@e.f","subject":"s","html":"h"}'] * 101)
            + b"]",
            422,
            id="resend-101-emails-422",
        ),
        pytest.param(
            "ses",
            "/v2/email/outbound-emails",
            {"Authorization": "AWS4-HMAC-SHA256 nonsense"},
            b"{}",
            403,
            id="ses-unsigned-403",
        ),
    ],
)
def test_fakes_reject_malformed_requests_like_the_provider(
    provider: str, path: str, headers: dict[str, str], body: bytes, status: int
) -> None:
    with FakeMailApi(provider) as fake:
        response = httpx.post(fake.url + path, content=body, headers=headers)
        assert response.status_code == status
        assert fake.accepted == []
