"""Fixtures for the mail backend tests: messages, a simulated clock, backends wired to fakes."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from syndicator.config import MailSettings
from syndicator.deliver import BACKENDS
from syndicator.deliver.http import RetryPolicy
from syndicator.model import Message
from tests.fakes.clock import FakeClock
from tests.fakes.mailapi import FakeMailApi

HTTP_PROVIDERS = ("postmark", "sendgrid", "mailgun", "ses", "resend")
LIST_HEADERS = ("List-Unsubscribe", "List-Unsubscribe-Post", "List-Id")


def make_messages(count: int, start: int = 0) -> list[Message]:
    """Digest-like messages, each with its own unsubscribe link and one-click headers."""
    return [
        Message(
            delivery_id=f"e7-s{i}",
            sender="Weekly Notes <news@example.com>",
            to=f"reader{i}@example.org",
            subject="이번 주 소식 — weekly notes",
            text=f"Hello reader {i}\nUnsubscribe: https://news.example.com/u/tok{i}\n",
            html=f"<p>Hello reader {i}</p><p><a href='https://news.example.com/u/tok{i}'>x</a></p>",
            headers=(
                ("List-Unsubscribe", f"<https://news.example.com/u/tok{i}>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                ("List-Id", "Weekly Notes <weekly.news.example.com>"),
            ),
            tags=("weekly",),
        )
        for i in range(start, start + count)
    ]


def settings_for(fake: FakeMailApi, **changes: object) -> MailSettings:
    values: dict[str, object] = {
        "backend": fake.provider_name,
        "api_key": fake.key,
        "api_url": fake.url,
        "sender": "Weekly Notes <news@example.com>",
    }
    values.update(changes)
    return MailSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=HTTP_PROVIDERS)
def fake(request: pytest.FixtureRequest) -> Iterator[FakeMailApi]:
    with FakeMailApi(request.param) as server:
        yield server


def http_backend(
    fake: FakeMailApi, clock: FakeClock, policy: RetryPolicy | None = None, **changes: object
) -> Any:
    """The backend class the registry names for the fake's provider, on the simulated clock."""
    module_name, _, class_name = BACKENDS[fake.provider_name].partition(":")
    backend_class = getattr(importlib.import_module(module_name), class_name)
    return backend_class(settings_for(fake, **changes), clock=clock, policy=policy)
