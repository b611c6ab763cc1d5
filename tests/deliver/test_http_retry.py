"""The retry policy on a simulated clock: a 30-minute outage resumes without loss or duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from syndicator.deliver.http import ApiEndpoint, RetryPolicy, retry_after
from syndicator.deliver.ratelimit import TokenBucket
from syndicator.errors import DeliveryError
from syndicator.model import Receipt
from tests.deliver.conftest import http_backend, make_messages
from tests.fakes.clock import FakeClock
from tests.fakes.mailapi import FakeMailApi

OUTAGE = 30 * 60.0


@pytest.mark.parametrize("provider", ["postmark", "sendgrid", "resend"])
def test_thirty_minute_outage_resumes_without_loss(provider: str) -> None:
    clock = FakeClock()
    ends = clock.monotonic() + OUTAGE
    messages = make_messages(40)
    with FakeMailApi(provider) as fake:
        fake.outage = lambda: clock.monotonic() < ends
        backend = http_backend(fake, clock, RetryPolicy(budget=300.0))
        pending = {m.delivery_id: m for m in messages}
        runs = 0
        while pending and runs < 100:  # each loop is one `syndicator run`, a minute apart
            runs += 1
            batch = list(pending.values())[: backend.max_batch]
            try:
                receipts: list[Receipt] = backend.send_batch(batch)
            except DeliveryError as exc:
                assert exc.retryable and not exc.fatal
                clock.sleep(60.0)
                continue
            for receipt in receipts:
                if receipt.ok:
                    del pending[receipt.delivery_id]
                else:
                    assert receipt.retryable, receipt
            if any(not r.ok for r in receipts):
                clock.sleep(60.0)
        assert not pending
        ids = fake.delivery_ids()
        assert sorted(ids) == sorted(m.delivery_id for m in messages)  # none lost, none twice
        assert clock.monotonic() >= ends
        assert runs >= 2  # the outage outlasted one run's retry budget
        assert fake.request_count < 2000  # backoff, not a hot loop


def test_one_call_rides_out_the_outage_with_a_long_budget() -> None:
    clock = FakeClock()
    ends = clock.monotonic() + OUTAGE
    with FakeMailApi("postmark") as fake:
        fake.outage = lambda: clock.monotonic() < ends
        policy = RetryPolicy(attempts=100, max_delay=120.0, budget=2 * OUTAGE)
        receipts = http_backend(fake, clock, policy).send_batch(make_messages(10))
        assert all(r.ok for r in receipts) and len(fake.accepted) == 10
        assert max(clock.sleeps) <= 120.0


def _response(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(429, headers=headers)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"Retry-After": "12"}, 12.0, id="retry-after-seconds"),
        pytest.param({"Retry-After": "DATE+90"}, 90.0, id="retry-after-http-date"),
        pytest.param({"ratelimit-reset": "3"}, 3.0, id="resend-ratelimit-reset-seconds"),
        pytest.param({"X-RateLimit-Reset": "EPOCH+45"}, 45.0, id="sendgrid-reset-epoch"),
        pytest.param({"Retry-After": "soon"}, None, id="unparseable-ignored"),
        pytest.param({}, None, id="none"),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    clock = FakeClock(start=1_800_000_000.0)
    now = datetime.fromtimestamp(clock.time(), UTC)
    for name, value in headers.items():
        if value.startswith("DATE+"):
            headers[name] = format_datetime(now + timedelta(seconds=int(value[5:])), usegmt=True)
        elif value.startswith("EPOCH+"):
            headers[name] = str(int(clock.time()) + int(value[6:]))
    assert retry_after(_response(headers), clock) == expected


def test_retry_after_beyond_the_limit_gives_up_at_once() -> None:
    clock = FakeClock()
    with FakeMailApi("resend") as fake:
        fake.fail(429, retry_after="86400", body={"name": "daily_quota_exceeded"})
        with pytest.raises(DeliveryError) as caught:
            http_backend(fake, clock).send_batch(make_messages(1))
        assert caught.value.retryable and caught.value.retry_after == 86400.0
        assert fake.request_count == 1 and clock.sleeps == []


def test_backoff_grows_exponentially_with_full_jitter() -> None:
    endpoint = ApiEndpoint(
        "x", "http://127.0.0.1:9", policy=RetryPolicy(base_delay=1.0, max_delay=30.0)
    )
    for attempt, ceiling in [(1, 1.0), (3, 4.0), (5, 16.0), (9, 30.0)]:
        samples = [endpoint._backoff(attempt) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.7  # spread over the whole range, not fixed


def test_token_bucket_caps_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock=clock)
    waited = sum(bucket.acquire(1) for _ in range(50))
    assert waited == pytest.approx(4.0, abs=0.01)  # 10 free (burst), 40 more at 10/s
    assert TokenBucket(0.0, clock=clock).acquire(1000) == 0.0
