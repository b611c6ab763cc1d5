"""End to end in headless Chromium (Debian's package, driven by Playwright): subscribe through
the form, confirm from the outbox email, change preferences, unsubscribe."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syndicator.model import SubscriberStatus, Subscription
from syndicator.tokens import TokenSigner
from tests.web.conftest import LiveApp, confirm_link

CHROMIUM = os.environ.get("SYNDICATOR_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    """In CI a missing browser is a failure, never a silent skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def _shoot(page: Any, name: str, folder: Path) -> None:
    for width in (1000, 375):
        page.set_viewport_size({"width": width, "height": 900})
        target = folder / f"{name}-{width}.png"
        page.screenshot(path=str(target), full_page=True)
        # Nothing may stick out sideways on a phone.
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"{name} scrolls sideways at {width}px"
    page.set_viewport_size({"width": 1000, "height": 900})


def test_subscribe_confirm_preferences_unsubscribe(
    browser: Any, live_app: LiveApp, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("SYNDICATOR_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    page.goto(live_app.url("/subscribe"))
    _shoot(page, "subscribe", shots)
    page.get_by_label("Email address").fill("browser.reader@example.com")
    page.get_by_label("Name (optional)").fill("Brow")
    page.get_by_label("Daily notes").uncheck()
    page.get_by_label("python").check()
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()

    [message] = live_app.wait_for_mail()
    page.goto(confirm_link(message))
    page.get_by_role("heading", name="You are subscribed").wait_for()
    page.get_by_role("link", name="Manage your preferences").click()
    page.get_by_role("heading", name="Your subscription").wait_for()
    _shoot(page, "preferences", shots)

    page.get_by_label("Receive Daily notes").check()
    page.locator("#frequency-daily").select_option("weekly")
    page.get_by_label("한국어").check()
    page.get_by_label("Language of the emails").select_option("ko")
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("설정을 저장했습니다.").wait_for()
    subscriber = live_app.store.get_subscriber("browser.reader@example.com")
    assert subscriber is not None and subscriber.status is SubscriberStatus.ACTIVE
    assert subscriber.language == "ko"
    assert set(subscriber.subscriptions) == {
        Subscription("daily", ("python", "한국어"), "weekly"),
        Subscription("weekly", ("python", "한국어"), "every"),
    }

    token = TokenSigner(live_app.settings.secret_keys).make("unsubscribe", subscriber.id)
    page.goto(live_app.url(f"/unsubscribe/{token}"))
    assert page.locator("html").get_attribute("lang") == "ko"
    again = live_app.store.get_subscriber(subscriber.id)
    assert again is not None and again.status is SubscriberStatus.ACTIVE  # GET changed nothing
    page.get_by_role("button", name="구독 해지").click()
    page.get_by_role("heading", name="구독이 해지되었습니다").wait_for()
    gone = live_app.store.get_subscriber(subscriber.id)
    assert gone is not None and gone.status is SubscriberStatus.UNSUBSCRIBED
    assert problems == [], f"browser console errors (CSP?): {problems}"
    context.close()
    if os.environ.get("SYNDICATOR_SCREENSHOTS") is None:
        shutil.rmtree(shots, ignore_errors=True)
