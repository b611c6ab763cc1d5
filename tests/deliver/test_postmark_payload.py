"""Postmark items with template bodies are spliced from pre-escaped JSON, same as encoding."""

from __future__ import annotations

import json

import pytest

from syndicator.deliver.http import encode_json
from syndicator.deliver.mime import BodyTemplate, FilledBody
from syndicator.deliver.postmark import _encoded, _payload
from syndicator.model import Message

SLOTS = {"MARKg": "g", "MARKu": "u"}


@pytest.mark.parametrize(
    "greeting",
    [
        pytest.param("안녕하세요, 김민지 님", id="korean"),
        pytest.param('Hi "Al" \\ <b>\t\x01', id="escapes"),
    ],
)
def test_spliced_item_equals_the_encoded_payload(greeting: str) -> None:
    html = BodyTemplate('<p>MARKg</p>\n<a href="MARKu">그만 받기</a>', SLOTS)
    text = BodyTemplate("MARKg\n그만 받기: MARKu", SLOTS)
    values = {"g": greeting, "u": "https://news.example.com/unsubscribe/abc.def"}
    message = Message(
        delivery_id="7-1",
        sender="Weekly <news@example.com>",
        to="reader@example.org",
        subject="제7호",
        text=text.fill(values),
        html=html.fill(values),
        headers=(("List-Id", "<weekly.example.com>"),),
        tags=("weekly",),
    )
    assert isinstance(message.html, FilledBody) and isinstance(message.text, FilledBody)
    item = b"".join(_encoded(message, "broadcast"))
    assert item.startswith(b",{")  # items are written one by one, each after its comma
    spliced = json.loads(item[1:])
    assert spliced == json.loads(encode_json(_payload(message, "broadcast")))
    assert spliced["HtmlBody"].startswith(f"<p>{greeting}</p>")
