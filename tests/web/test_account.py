"""Signed-link pages over a real socket: confirm, unsubscribe (RFC 8058), preferences, data."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import UTC, datetime

import httpx
import pytest
from itsdangerous import TimestampSigner

from syndicator.model import Subscriber, SubscriberStatus, Subscription
from syndicator.tokens import TokenSigner
from tests.web.conftest import OLD_SECRET, LiveApp

NOW = datetime(2026, 1, 20, tzinfo=UTC)


def _subscriber(
    live_app: LiveApp, status: SubscriberStatus = SubscriberStatus.ACTIVE
) -> Subscriber:
    store = live_app.store
    found = store.add_subscriber(
        "reader@example.com", name="Ada", newsletters=["weekly"], language="en", now=NOW
    )
    store.set_status(found.id, status, NOW)
    again = store.get_subscriber(found.id)
    assert again is not None
    return again


def _token(live_app: LiveApp, purpose: str, subscriber_id: int) -> str:
    return TokenSigner(live_app.settings.secret_keys).make(purpose, subscriber_id)


def _status(live_app: LiveApp) -> SubscriberStatus | None:
    found = live_app.store.get_subscriber("reader@example.com")
    return None if found is None else found.status


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "no csrf field on the page"
    return found.group(1)


def _tamper(token: str) -> str:
    payload, stamp, signature = token.split(".")
    return f"{payload}.{stamp}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


# --- confirm ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("tampered", id="tampered-signature"),
        pytest.param("other-purpose", id="unsubscribe-token-at-confirm"),
        pytest.param("garbage", id="garbage"),
        pytest.param("expired", id="expired"),
    ],
)
def test_bad_confirm_link_gets_a_clear_400_page(
    live_app: LiveApp, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriber = _subscriber(live_app, SubscriberStatus.PENDING)
    if kind == "tampered":
        token = _tamper(_token(live_app, "confirm", subscriber.id))
    elif kind == "other-purpose":
        token = _token(live_app, "unsubscribe", subscriber.id)
    elif kind == "garbage":
        token = "not-a-token"
    else:
        eight_days_ago = int(time.time()) - 8 * 86_400
        with monkeypatch.context() as patch:
            patch.setattr(TimestampSigner, "get_timestamp", lambda self: eight_days_ago)
            token = _token(live_app, "confirm", subscriber.id)
    answer = live_app.client.get(live_app.url(f"/confirm/{token}"))
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    title = "This link has expired" if kind == "expired" else "This link is not valid"
    assert title in answer.text
    assert 'href="/subscribe"' in answer.text
    assert "Traceback" not in answer.text
    assert _status(live_app) is SubscriberStatus.PENDING


def test_confirm_link_replayed_is_harmless_and_cannot_revive_an_unsubscribed_reader(
    live_app: LiveApp,
) -> None:
    subscriber = _subscriber(live_app, SubscriberStatus.PENDING)
    link = live_app.url(f"/confirm/{_token(live_app, 'confirm', subscriber.id)}")
    first = live_app.client.get(link)
    assert first.status_code == 200 and "Thank you for confirming" in first.text
    second = live_app.client.get(link)
    assert second.status_code == 200 and "already confirmed" in second.text
    live_app.store.set_status(subscriber.id, SubscriberStatus.UNSUBSCRIBED, NOW)
    third = live_app.client.get(link)
    assert third.status_code == 400
    assert _status(live_app) is SubscriberStatus.UNSUBSCRIBED


def test_links_signed_with_the_previous_key_still_work(live_app: LiveApp) -> None:
    subscriber = _subscriber(live_app, SubscriberStatus.PENDING)
    old = TokenSigner([OLD_SECRET]).make("confirm", subscriber.id)
    assert live_app.client.get(live_app.url(f"/confirm/{old}")).status_code == 200
    assert _status(live_app) is SubscriberStatus.ACTIVE
    forged = TokenSigner(["somebody-elses-key"]).make("confirm", subscriber.id)
    assert live_app.client.get(live_app.url(f"/confirm/{forged}")).status_code == 400


# --- unsubscribe ------------------------------------------------------------------------------


def test_get_never_unsubscribes(live_app: LiveApp) -> None:
    subscriber = _subscriber(live_app)
    url = live_app.url(f"/unsubscribe/{_token(live_app, 'unsubscribe', subscriber.id)}")
    for _ in range(3):
        page = live_app.client.get(url)
        assert page.status_code == 200
        assert page.text.count("<button") == 1
        assert "r***@example.com" in page.text
    assert live_app.client.head(url).status_code == 200
    assert _status(live_app) is SubscriberStatus.ACTIVE


def test_one_click_post_exactly_as_gmail_sends_it(live_app: LiveApp) -> None:
    subscriber = _subscriber(live_app)
    url = live_app.url(f"/unsubscribe/{_token(live_app, 'unsubscribe', subscriber.id)}")
    for _ in range(2):  # idempotent: a retried POST answers the same
        answer = httpx.post(  # a fresh connection: no cookies, no CSRF field
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 200
        assert "You are unsubscribed" in answer.text
        assert "set-cookie" not in answer.headers
        assert _status(live_app) is SubscriberStatus.UNSUBSCRIBED


def test_one_click_as_multipart_also_works(live_app: LiveApp) -> None:
    subscriber = _subscriber(live_app)
    url = live_app.url(f"/unsubscribe/{_token(live_app, 'unsubscribe', subscriber.id)}")
    answer = httpx.post(url, files={"List-Unsubscribe": (None, "One-Click")})
    assert answer.status_code == 200
    assert _status(live_app) is SubscriberStatus.UNSUBSCRIBED


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"List-Unsubscribe=Other", id="wrong-value"),
        pytest.param(b"csrf=forged", id="forged-csrf"),
    ],
)
def test_other_posts_without_the_pages_csrf_field_are_refused(
    live_app: LiveApp, body: bytes
) -> None:
    subscriber = _subscriber(live_app)
    url = live_app.url(f"/unsubscribe/{_token(live_app, 'unsubscribe', subscriber.id)}")
    answer = httpx.post(
        url, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 403
    assert _status(live_app) is SubscriberStatus.ACTIVE


def test_the_pages_button_unsubscribes(live_app: LiveApp) -> None:
    subscriber = _subscriber(live_app)
    url = live_app.url(f"/unsubscribe/{_token(live_app, 'unsubscribe', subscriber.id)}")
    page = live_app.client.get(url)
    answer = live_app.client.post(url, data={"csrf": _csrf(page)})
    assert answer.status_code == 200
    assert _status(live_app) is SubscriberStatus.UNSUBSCRIBED
    again = live_app.client.get(url)  # the page now says so, with a way back
    assert "You are unsubscribed" in again.text and 'href="/subscribe"' in again.text


def test_tampered_unsubscribe_token_is_a_400_and_changes_nothing(live_app: LiveApp) -> None:
    subscriber = _subscriber(live_app)
    url = live_app.url(f"/unsubscribe/{_tamper(_token(live_app, 'unsubscribe', subscriber.id))}")
    answer = httpx.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 400
    assert _status(live_app) is SubscriberStatus.ACTIVE


def test_one_click_for_a_deleted_subscriber_still_succeeds(live_app: LiveApp) -> None:
    subscriber = _subscriber(live_app)
    live_app.store.remove_subscriber(subscriber.email)
    url = live_app.url(f"/unsubscribe/{_token(live_app, 'unsubscribe', subscriber.id)}")
    answer = httpx.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200


# --- preferences ------------------------------------------------------------------------------


def test_preferences_change_newsletters_topics_frequency_and_language(live_app: LiveApp) -> None:
    subscriber = _subscriber(live_app)
    url = live_app.url(f"/preferences/{_token(live_app, 'preferences', subscriber.id)}")
    page = live_app.client.get(url)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for topic in ("news", "essay", "python", "한국어"):
        assert f'value="{topic}"' in page.text
    answer = live_app.client.post(
        url,
        data={
            "csrf": _csrf(page),
            "newsletters": ["daily", "nonexistent"],
            "frequency-daily": "weekly",
            "topics": ["한국어", "python", "made-up"],
            "language": "ko",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("?saved=1&lang=ko")
    changed = live_app.store.get_subscriber(subscriber.id)
    assert changed is not None
    assert changed.subscriptions == (Subscription("daily", ("한국어", "python"), "weekly"),)
    assert changed.language == "ko"
    saved = live_app.client.get(live_app.base_url + answer.headers["location"])
    assert "설정을 저장했습니다." in saved.text


def test_preferences_post_without_csrf_is_refused(live_app: LiveApp) -> None:
    subscriber = _subscriber(live_app)
    url = live_app.url(f"/preferences/{_token(live_app, 'preferences', subscriber.id)}")
    someone = live_app.store.add_subscriber("other@example.com", newsletters=["daily"], now=NOW)
    other = live_app.url(f"/preferences/{_token(live_app, 'preferences', someone.id)}")
    csrf_of_another_page = _csrf(live_app.client.get(other))
    for data in ({}, {"csrf": csrf_of_another_page}, {"csrf": "0" * 64}):
        answer = live_app.client.post(url, data={**data, "newsletters": ["daily"]})
        assert answer.status_code == 403
    unchanged = live_app.store.get_subscriber(subscriber.id)
    assert unchanged is not None and unchanged.subscriptions == (Subscription("weekly"),)


def test_data_export_as_json_and_csv(live_app: LiveApp) -> None:
    subscriber = _subscriber(live_app)
    url = live_app.url(f"/preferences/{_token(live_app, 'preferences', subscriber.id)}")
    csrf = _csrf(live_app.client.get(url))
    as_json = live_app.client.post(f"{url}/export", data={"csrf": csrf, "format": "json"})
    assert as_json.status_code == 200
    assert "attachment" in as_json.headers["content-disposition"]
    data = json.loads(as_json.text)
    assert data["email"] == "reader@example.com" and data["name"] == "Ada"
    assert data["subscriptions"] == [{"newsletter": "weekly", "topics": [], "frequency": "every"}]
    as_csv = live_app.client.post(f"{url}/export", data={"csrf": csrf, "format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows[0]["email"] == "reader@example.com" and rows[0]["newsletter"] == "weekly"
    refused = live_app.client.post(f"{url}/export", data={"format": "json"})
    assert refused.status_code == 403 and "reader@example.com" not in refused.text


def test_deletion_needs_the_box_ticked_then_removes_everything(live_app: LiveApp) -> None:
    subscriber = _subscriber(live_app)
    url = live_app.url(f"/preferences/{_token(live_app, 'preferences', subscriber.id)}")
    csrf = _csrf(live_app.client.get(url))
    unticked = live_app.client.post(f"{url}/delete", data={"csrf": csrf})
    assert unticked.status_code == 400
    assert _status(live_app) is SubscriberStatus.ACTIVE
    deleted = live_app.client.post(f"{url}/delete", data={"csrf": csrf, "confirm": "yes"})
    assert deleted.status_code == 200 and "Your data is deleted" in deleted.text
    assert live_app.store.get_subscriber(subscriber.id) is None
    assert live_app.client.get(url).status_code == 400  # the link is dead now
