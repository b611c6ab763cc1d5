"""/subscribe over a real socket: double opt-in, no enumeration, honeypot, CSRF, rate limits."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
import pytest

from syndicator.model import SubscriberStatus, Subscription
from tests.web.conftest import LiveApp, confirm_link


def test_subscribe_confirm_flow_activates_with_chosen_newsletters_and_topics(
    live_app: LiveApp,
) -> None:
    answer = live_app.subscribe(
        " Reader@Example.COM ", name="Ada", newsletters=["weekly"], topics=["python", "bogus"]
    )
    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    [message] = live_app.wait_for_mail()
    assert message["To"] == "Reader@example.com"
    pending = live_app.store.get_subscriber("reader@example.com")
    assert pending is not None and pending.status is SubscriberStatus.PENDING
    assert pending.name == "Ada"
    assert pending.subscriptions == (Subscription("weekly", ("python",)),)

    confirmed = live_app.client.get(confirm_link(message))
    assert confirmed.status_code == 200
    assert "You are subscribed" in confirmed.text
    assert re.search(r'href="/preferences/[^"]+"', confirmed.text)
    active = live_app.store.get_subscriber("reader@example.com")
    assert active is not None and active.status is SubscriberStatus.ACTIVE


def test_answers_are_identical_whether_or_not_the_address_is_known(live_app: LiveApp) -> None:
    store = live_app.store
    active = store.add_subscriber("known@example.com", newsletters=["weekly"], now=_now())
    store.set_status(active.id, SubscriberStatus.ACTIVE, _now())
    store.suppress("blocked@example.com", "complaint", _now())
    answers = [
        live_app.subscribe(address, newsletters=["weekly"])
        for address in ("new@example.com", "known@example.com", "blocked@example.com")
    ]
    assert {a.status_code for a in answers} == {200}
    assert answers[0].text == answers[1].text == answers[2].text
    assert [sorted(a.headers.keys()) for a in answers[1:]] == [
        sorted(answers[0].headers.keys())
    ] * 2
    # The new and the active address get an email; the suppressed one never does.
    messages = live_app.wait_for_mail(2)
    assert sorted(m["To"] for m in messages) == ["known@example.com", "new@example.com"]
    assert store.get_subscriber("blocked@example.com") is None
    known = store.get_subscriber("known@example.com")
    assert known is not None and known.status is SubscriberStatus.ACTIVE


def test_honeypot_gets_the_same_answer_and_no_email(live_app: LiveApp) -> None:
    human = live_app.subscribe("human@example.com", newsletters=["weekly"])
    bot = live_app.subscribe("bot@example.com", newsletters=["weekly"], website="http://spam")
    assert bot.status_code == human.status_code == 200
    assert bot.text == human.text
    [message] = live_app.wait_for_mail()
    assert message["To"] == "human@example.com"
    assert live_app.store.get_subscriber("bot@example.com") is None


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("not-an-address", id="no-at"),
        pytest.param("a@b@example.com", id="two-ats"),
        pytest.param("x@example.com\r\nBcc: y@example.com", id="header-injection"),
        pytest.param("", id="empty"),
    ],
)
def test_invalid_address_is_shown_again_with_a_message(live_app: LiveApp, address: str) -> None:
    answer = live_app.subscribe(address, newsletters=["weekly"])
    assert answer.status_code == 400
    assert "Please enter a valid email address." in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert live_app.mail_count() == 0


def test_no_newsletter_chosen_is_an_error(live_app: LiveApp) -> None:
    answer = live_app.subscribe("reader@example.com")
    assert answer.status_code == 400
    assert "Please choose at least one newsletter." in answer.text


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("no-token-no-cookie", id="no-token-no-cookie"),
        pytest.param("token-without-cookie", id="token-without-cookie"),
        pytest.param("token-of-another-visitor", id="token-of-another-visitor"),
        pytest.param("foreign-origin", id="foreign-origin"),
    ],
)
def test_form_post_without_a_genuine_csrf_pair_is_rejected(live_app: LiveApp, case: str) -> None:
    data = {"email": "victim@example.com", "newsletters": "weekly"}
    headers = {}
    if case == "token-without-cookie":
        _, data["csrf"] = live_app.subscribe_form(httpx.Client())
    elif case == "token-of-another-visitor":
        _, data["csrf"] = live_app.subscribe_form(httpx.Client())
        live_app.subscribe_form()  # our client holds a cookie of its own
    elif case == "foreign-origin":
        _, data["csrf"] = live_app.subscribe_form(httpx.Client())
        headers["origin"] = "https://evil.example.net"
    answer = live_app.client.post(live_app.url("/subscribe"), data=data, headers=headers)
    assert answer.status_code == 403
    assert "The form expired" in answer.text
    assert live_app.mail_count() == 0
    assert live_app.store.get_subscriber("victim@example.com") is None


def test_form_post_from_the_blog_origin_needs_no_csrf_pair(live_app: LiveApp) -> None:
    """An embedded plain HTML form on the blog posts cross-origin; its Origin vouches for it."""
    answer = httpx.post(
        live_app.url("/subscribe"),
        data={"email": "embed@example.com", "newsletters": "daily"},
        headers={"origin": "https://blog.example.com"},
    )
    assert answer.status_code == 200
    [message] = live_app.wait_for_mail()
    assert message["To"] == "embed@example.com"


@pytest.mark.parametrize("live_app", [{"per_ip": 3}], indirect=True)
def test_per_ip_limit_answers_429_until_the_window_passes(live_app: LiveApp) -> None:
    codes = [
        live_app.subscribe(f"r{i}@example.com", newsletters=["weekly"]).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    blocked = live_app.subscribe("late@example.com", newsletters=["weekly"])
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    live_app.wait_for_mail(3)
    live_app.clock.now += 601
    assert live_app.subscribe("late@example.com", newsletters=["weekly"]).status_code == 200
    live_app.wait_for_mail(1)


@pytest.mark.parametrize("live_app", [{"per_address": 2}], indirect=True)
def test_per_address_limit_sends_no_more_mail_but_answers_the_same(live_app: LiveApp) -> None:
    answers = [live_app.subscribe("target@example.com", newsletters=["weekly"]) for _ in range(4)]
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    live_app.wait_for_mail(2)
    other = live_app.subscribe("TARGET@example.com", newsletters=["weekly"])  # same address
    assert other.status_code == 200
    time.sleep(0.3)
    assert live_app.mail_count() == 2


def test_json_post_with_cors_for_the_blog(live_app: LiveApp) -> None:
    origin = {"origin": "https://blog.example.com"}
    preflight = httpx.options(
        live_app.url("/subscribe"),
        headers={**origin, "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://blog.example.com"
    answer = httpx.post(
        live_app.url("/subscribe"),
        json={"email": "json@example.com", "newsletters": ["daily"], "topics": ["news"]},
        headers=origin,
    )
    assert answer.status_code == 202
    assert answer.json()["ok"] is True
    assert answer.headers["access-control-allow-origin"] == "https://blog.example.com"
    [message] = live_app.wait_for_mail()
    assert message["To"] == "json@example.com"
    bad = httpx.post(live_app.url("/subscribe"), json={"email": "nope"}, headers=origin)
    assert bad.status_code == 400 and bad.json()["ok"] is False


def test_json_post_from_a_foreign_origin_is_refused(live_app: LiveApp) -> None:
    evil = {"origin": "https://evil.example.net"}
    preflight = httpx.options(
        live_app.url("/subscribe"), headers={**evil, "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    answer = httpx.post(
        live_app.url("/subscribe"),
        json={"email": "x@example.com", "newsletters": ["daily"]},
        headers=evil,
    )
    assert answer.status_code == 403
    assert live_app.mail_count() == 0


@pytest.mark.parametrize("live_app", [{"language": "ko"}], indirect=True)
def test_language_site_default_accept_language_and_override(live_app: LiveApp) -> None:
    korean = live_app.client.get(live_app.url("/subscribe"))
    assert '<html lang="ko">' in korean.text and "구독하기" in korean.text
    english = live_app.client.get(
        live_app.url("/subscribe"), headers={"accept-language": "en-US,en;q=0.9,ko;q=0.5"}
    )
    assert '<html lang="en">' in english.text
    override = live_app.client.get(
        live_app.url("/subscribe?lang=ko"), headers={"accept-language": "en-US"}
    )
    assert '<html lang="ko">' in override.text
    # A subscriber who used the Korean page gets Korean emails.
    answer = live_app.subscribe("kim@example.com", newsletters=["weekly"], lang="ko")
    assert "메일함을 확인해 주세요" in answer.text
    [message] = live_app.wait_for_mail()
    assert "구독" in str(message["Subject"])


def _now() -> datetime:
    return datetime(2026, 1, 20, tzinfo=UTC)
