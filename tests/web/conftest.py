"""A live web app on 127.0.0.1 (uvicorn in a thread) over a real store and the outbox mailer."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from syndicator.config import Settings, load
from syndicator.model import Post
from syndicator.sources import Collection
from syndicator.store import Store
from syndicator.web import build_app
from syndicator.web.ratelimit import Limit, SubscribeLimits

SECRET = "web-test-key-0123456789"
OLD_SECRET = "web-test-old-key-9876543210"

CONFIG = """
[site]
title = "테스트 블로그"
url = "https://blog.example.com"
language = "{language}"
timezone = "Asia/Seoul"

[database]
url = "{database}"

[feeds]
dir = "public"

[mail]
backend = "outbox"
from = "Test Blog <news@blog.example.com>"
outbox = "outbox"

[[newsletters]]
name = "weekly"
title = "Weekly notes"
description = "Everything of the week, on Monday morning."
schedule = "0 9 * * mon"

[[newsletters]]
name = "daily"
title = "Daily notes"
schedule = "0 8 * * *"

[web]
base_url = "{base_url}"
postal_address = "1 Example Street, Example City"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class FakeClock:
    """The monotonic clock the rate limiters read; tests move it forward."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sample_posts() -> list[Post]:
    when = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    return [
        Post(
            id=f"https://blog.example.com/2026/01/{slug}",
            url=f"https://blog.example.com/2026/01/{slug}/",
            title=title,
            published=when + timedelta(days=i),
            updated=when + timedelta(days=i),
            source="blog",
            body=f"Body of {title}.",
            categories=cats,
            tags=tags,
            origin=f"_posts/{slug}.md",
        )
        for i, (slug, title, cats, tags) in enumerate(
            [
                ("first", "First light", ("news",), ("python",)),
                ("second", "두 번째 글", ("essay",), ("한국어", "python")),
            ]
        )
    ]


@dataclass
class LiveApp:
    base_url: str
    settings: Settings
    store: Store
    clock: FakeClock
    client: httpx.Client
    outbox: Path
    seen: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return self.base_url + path

    def wait_for_mail(
        self, count: int = 1, timeout: float = 5.0
    ) -> list[email.message.EmailMessage]:
        """The next ``count`` new .eml files in the outbox (the app sends after answering)."""
        deadline = time.monotonic() + timeout
        while True:
            new = sorted(p for p in self.outbox.glob("*.eml") if p.name not in self.seen)
            if len(new) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert len(new) >= count, f"expected {count} new email(s), found {len(new)}"
        self.seen.update(p.name for p in new)
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in new
        ]

    def mail_count(self) -> int:
        return len(list(self.outbox.glob("*.eml")))

    def subscribe_form(self, client: httpx.Client | None = None) -> tuple[httpx.Client, str]:
        """GET the form (sets the CSRF cookie); returns the client and the csrf field value."""
        client = client or self.client
        page = client.get(self.url("/subscribe"))
        assert page.status_code == 200
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found
        return client, found.group(1)

    def subscribe(self, address: str, **fields: str | list[str]) -> httpx.Response:
        client, csrf = self.subscribe_form()
        data: dict[str, str | list[str]] = {"csrf": csrf, "email": address, "website": ""}
        data.update(fields)
        return client.post(self.url("/subscribe"), data=data)


def confirm_link(message: email.message.EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    found = re.search(r"https?://\S+/confirm/[A-Za-z0-9_.\-]+", part.get_content())
    assert found, "no confirmation link in the email"
    return found.group(0)


@contextmanager
def serve(app: object, port: int) -> Iterator[None]:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


def make_settings(tmp_path: Path, store_url: str, base_url: str, language: str = "en") -> Settings:
    path = tmp_path / "syndicator.toml"
    path.write_text(
        CONFIG.format(language=language, database=store_url, base_url=base_url), encoding="utf-8"
    )
    settings = load(path, env={"SYNDICATOR_SECRET_KEY": f"{SECRET},{OLD_SECRET}"})
    settings.mail.outbox.mkdir(parents=True, exist_ok=True)
    return settings


@pytest.fixture
def live_app(tmp_path: Path, store: Store, request: pytest.FixtureRequest) -> Iterator[LiveApp]:
    """The app over a real socket; ``@pytest.mark.parametrize("live_app", [...], indirect=True)``
    may pass {"language": "ko", "per_ip": n, "per_address": n}."""
    options = getattr(request, "param", {})
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path, "sqlite://", base_url, options.get("language", "en"))
    store.record_collection(
        Collection("blog", changed=tuple(sample_posts())), datetime(2026, 1, 15, tzinfo=UTC)
    )
    clock = FakeClock()
    limits = SubscribeLimits(
        per_ip=Limit(options.get("per_ip", 100), 600.0),
        per_address=Limit(options.get("per_address", 3), 86_400.0),
    )
    app = build_app(settings, store, limits=limits, clock=clock)
    with httpx.Client(timeout=10.0, follow_redirects=False) as client, serve(app, port):
        yield LiveApp(base_url, settings, store, clock, client, settings.mail.outbox)
