"""The double opt-in confirmation email."""

from __future__ import annotations

import re
from pathlib import Path

from syndicator.deliver.mime import build_mime
from syndicator.render.confirm import render_confirmation
from syndicator.tokens import TokenSigner
from tests.render.digest_samples import KEYS, settings, subscriber


def test_confirmation_carries_a_valid_confirm_token(tmp_path: Path) -> None:
    signer = TokenSigner(KEYS)
    message = render_confirmation(settings(tmp_path), subscriber(21), signer)
    token = re.search(r"https://news.example.com/confirm/([A-Za-z0-9_.-]+)", message.text)
    assert token is not None
    assert signer.read(token.group(1), "confirm") == {"subscriber_id": 21}
    assert f'href="https://news.example.com/confirm/{token.group(1)}"' in message.html
    assert message.subject == "AI 뉴스 구독을 확인해 주세요"
    assert "reader21@example.org" in message.text
    assert "background-color:#1d4ed8" in message.html.replace(" ", "")  # inlined button
    parsed = build_mime(message)
    assert parsed["Subject"] == message.subject


def test_confirmation_in_english_for_an_english_reader(tmp_path: Path) -> None:
    message = render_confirmation(
        settings(tmp_path),
        subscriber(22, language="en"),
        TokenSigner(KEYS),
        delivery_id="confirm-22",
    )
    assert message.subject == "Confirm your subscription to AI 뉴스"
    assert message.message_id == "<confirm-22@news.example.com>"
