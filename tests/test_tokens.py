"""Signed per-subscriber tokens: round trips, tampering, purposes, expiry, key rotation."""

from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from syndicator.errors import ConfigError
from syndicator.tokens import TokenError, TokenSigner

KEYS = ("new-key-0123456789", "old-key-9876543210")


def test_round_trip_with_extra_values() -> None:
    signer = TokenSigner(KEYS)
    token = signer.make("confirm", 42, newsletter="weekly")
    assert signer.read(token, "confirm") == {"subscriber_id": 42, "newsletter": "weekly"}


def test_tokens_are_what_itsdangerous_makes_and_reads() -> None:
    signer = TokenSigner(KEYS)
    stock = URLSafeTimedSerializer(list(reversed(KEYS)), salt="syndicator.unsubscribe")
    assert stock.loads(signer.make("unsubscribe", 7)) == {"s": 7}
    assert signer.read(stock.dumps({"s": 7}), "unsubscribe") == {"subscriber_id": 7}


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), id="signature"),
        pytest.param(lambda t: "eyJzIjo5OX0" + t[t.index(".") :], id="payload-swapped-to-99"),
        pytest.param(lambda t: t.replace(".", "", 1), id="dot-removed"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: "not a token at all", id="garbage"),
    ],
)
def test_tampered_tokens_are_refused(mangle: object) -> None:
    signer = TokenSigner(KEYS)
    token = signer.make("unsubscribe", 5)
    assert callable(mangle)
    with pytest.raises(TokenError) as info:
        signer.read(mangle(token), "unsubscribe")
    assert not info.value.expired


def test_a_token_for_one_purpose_does_not_read_as_another() -> None:
    signer = TokenSigner(KEYS)
    with pytest.raises(TokenError):
        signer.read(signer.make("preferences", 5), "unsubscribe")


def test_expired_tokens_say_so() -> None:
    signer = TokenSigner(KEYS)
    token = signer.make("confirm", 5)
    time.sleep(1.1)
    with pytest.raises(TokenError) as info:
        signer.read(token, "confirm", max_age=0)
    assert info.value.expired
    assert signer.read(token, "confirm", max_age=3600)["subscriber_id"] == 5


def test_key_rotation_old_tokens_still_verify_new_ones_use_the_first_key() -> None:
    old = TokenSigner(["old-key-9876543210"])
    token = old.make("unsubscribe", 9)
    rotated = TokenSigner(KEYS)
    assert rotated.read(token, "unsubscribe") == {"subscriber_id": 9}
    fresh = rotated.make("unsubscribe", 9)
    assert TokenSigner(KEYS[:1]).read(fresh, "unsubscribe") == {"subscriber_id": 9}
    with pytest.raises(TokenError):
        old.read(fresh, "unsubscribe")


def test_different_subscribers_get_different_tokens() -> None:
    signer = TokenSigner(KEYS)
    assert signer.make("unsubscribe", 1) != signer.make("unsubscribe", 2)


def test_no_keys_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="SYNDICATOR_SECRET_KEY"):
        TokenSigner([])
    with pytest.raises(ConfigError):
        TokenSigner(["", ""])


def test_unknown_purpose_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="purpose"):
        TokenSigner(KEYS).make("login", 1)


@pytest.mark.parametrize(
    ("subscriber_id", "extra"),
    [
        pytest.param(7, {}, id="small-id"),
        pytest.param(123_456_789, {}, id="large-id"),
        pytest.param(42, {"newsletter": "weekly"}, id="with-extra"),
    ],
)
@pytest.mark.parametrize("purpose", ["confirm", "unsubscribe", "preferences"])
def test_tokens_are_byte_for_byte_what_stock_itsdangerous_dumps(
    monkeypatch: pytest.MonkeyPatch, purpose: str, subscriber_id: int, extra: dict[str, str]
) -> None:
    """The fast signing path (key derived once, payload built by hand) equals the reference."""
    stock = URLSafeTimedSerializer(list(reversed(KEYS)), salt=f"syndicator.{purpose}")
    made = TokenSigner(KEYS)
    for now in (1_764_100_000.25, 1_764_100_001.75):  # a second apart: the stamp is renewed
        monkeypatch.setattr(time, "time", lambda now=now: now)
        expected = stock.dumps({"s": subscriber_id, **extra})
        assert made.make(purpose, subscriber_id, **extra) == expected
        assert made.make(purpose, subscriber_id, **extra) == expected  # cached stamp, key
