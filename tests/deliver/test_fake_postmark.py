"""The fake Postmark's fast batch reader answers exactly as its generic reader does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes.postmark_batch import read_batch
from tests.fakes.providers import Accepted, PostmarkProvider

GOOD: dict[str, Any] = {
    "From": "Weekly <news@example.com>",
    "To": "reader@example.org",
    "Subject": "이번 주 소식",
    "HtmlBody": '<p>본문 "인용" \\ 끝</p>',
    "TextBody": "본문",
    "Headers": [{"Name": "List-Unsubscribe", "Value": "<https://x.example/u/1>"}],
    "Metadata": {"delivery_id": "d1"},
    "TrackOpens": False,
    "TrackLinks": "None",
    "MessageStream": "broadcast",
    "Unknown": {"ignored": [1, 2]},
}


def _with(**changes: Any) -> dict[str, Any]:
    item = {**GOOD, **changes}
    return {k: v for k, v in item.items() if v is not _DROP}


_DROP = object()
BATCHES = {
    "good": [GOOD, _with(To="second@example.org", Metadata={"delivery_id": "d2"})],
    "html only": [_with(TextBody=_DROP)],
    "text only, null html": [_with(HtmlBody=None)],
    "empty bodies": [_with(HtmlBody="", TextBody="")],
    "no bodies": [_with(HtmlBody=_DROP, TextBody=_DROP)],
    "missing to": [_with(To=_DROP), GOOD],
    "bad to": [_with(To="no-at-sign.example.org")],
    "refused": [_with(To="blocked@example.org"), GOOD],
    "empty subject": [_with(Subject="")],
    "numeric from": [_with(From=5)],
    "bad track links": [_with(TrackLinks="Always")],
    "bad track opens": [_with(TrackOpens="yes")],
    "bad header": [_with(Headers=[{"Name": "X-A"}])],
    "extra header key": [_with(Headers=[{"Name": "X-A", "Value": "1", "More": 2}])],
    "bad metadata": [_with(Metadata={"delivery_id": 7})],
    "numeric body": [_with(HtmlBody=0, TextBody=_DROP)],
    "not an object": ["text", GOOD],
    "no metadata": [_with(Metadata=_DROP)],
}
HEADERS = {"accept": "application/json", "content-type": "application/json"}


def _answers(provider: PostmarkProvider, body: bytes) -> tuple[int, Any]:
    answer = provider.handle("/email/batch", HEADERS, body)
    value = json.loads(answer.body)
    if isinstance(value, list):
        for item in value:
            item.pop("MessageID", None)
            item.pop("SubmittedAt", None)
    return answer.status, value


def _provider(keep: bool, seen: list[Accepted]) -> PostmarkProvider:
    def rejected(address: str) -> str | None:
        return "inactive recipient" if address.startswith("blocked@") else None

    return PostmarkProvider("key", seen.append, rejected, keep_payloads=keep)


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_fast_reader_answers_like_the_generic_one(name: str) -> None:
    body = json.dumps(BATCHES[name], ensure_ascii=False).encode()
    fast_seen: list[Accepted] = []
    slow_seen: list[Accepted] = []
    fast = _answers(_provider(False, fast_seen), body)
    slow = _answers(_provider(True, slow_seen), body)
    assert fast == slow
    assert [(a.delivery_id, a.to, a.headers) for a in fast_seen] == [
        (a.delivery_id, a.to, a.headers) for a in slow_seen
    ]


def test_fast_reader_takes_well_formed_batches_and_declines_the_rest() -> None:
    assert read_batch(json.dumps(BATCHES["good"]).encode()) is not None
    assert read_batch(json.dumps(BATCHES["text only, null html"]).encode()) is not None
    assert read_batch(json.dumps(BATCHES["numeric from"]).encode()) is not None  # per item
    for name in ("bad track opens", "bad header", "bad metadata", "numeric body"):
        assert read_batch(json.dumps(BATCHES[name]).encode()) is None, name
    assert read_batch(b"[{") is None and read_batch(b'{"a": 1}') is None


@pytest.mark.parametrize("body", [b"[{", b'{"To": "x"}', b"", '["\xff"]'.encode("latin-1")])
def test_malformed_batches_get_the_invalid_json_error(body: bytes) -> None:
    status, value = _answers(_provider(False, []), body)
    assert status == 422 and value["ErrorCode"] == 402
