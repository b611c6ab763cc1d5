"""The outbox backend: one complete .eml per delivery, written once, atomically."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from syndicator.config import MailSettings
from syndicator.deliver import open_backend
from syndicator.deliver.outbox import OutboxBackend
from syndicator.errors import DeliveryError
from syndicator.model import Message


def _message(delivery_id: str, subject: str = "주간 브리핑") -> Message:
    return Message(
        delivery_id=delivery_id,
        sender="news@blog.example.com",
        to="reader@example.org",
        subject=subject,
        text="본문\n",
        html="<p>본문</p>\n",
    )


def test_registry_opens_the_outbox(tmp_path: Path) -> None:
    backend = open_backend(MailSettings(outbox=tmp_path))
    assert isinstance(backend, OutboxBackend)
    assert backend.name == "outbox" and backend.max_batch == 500


def test_writes_one_parseable_file_per_message(tmp_path: Path) -> None:
    backend = OutboxBackend(MailSettings(outbox=tmp_path / "outbox"))
    receipts = backend.send_batch([_message("3-1"), _message("3-2")])
    backend.close()
    assert [r.ok for r in receipts] == [True, True]
    assert [r.provider_id for r in receipts] == ["3-1.eml", "3-2.eml"]
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert files == ["3-1.eml", "3-2.eml"]  # no temporary files left behind
    parsed = email.message_from_bytes(
        (tmp_path / "outbox" / "3-1.eml").read_bytes(), policy=email.policy.default
    )
    assert parsed["Subject"] == "주간 브리핑"


def test_the_same_delivery_is_never_written_twice(tmp_path: Path) -> None:
    backend = OutboxBackend(MailSettings(outbox=tmp_path))
    backend.send_batch([_message("3-1", "first")])
    receipts = backend.send_batch([_message("3-1", "second")])
    assert receipts[0].ok and receipts[0].provider_id == "3-1.eml"
    assert list(tmp_path.iterdir()) == [tmp_path / "3-1.eml"]
    assert b"Subject: first" in (tmp_path / "3-1.eml").read_bytes()


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(_message("../escape"), id="path-in-delivery-id"),
        pytest.param(_message("3-9", "Hi\r\nBcc: x@evil.example"), id="header-injection"),
    ],
)
def test_a_bad_message_fails_alone(tmp_path: Path, message: Message) -> None:
    receipts = OutboxBackend(MailSettings(outbox=tmp_path)).send_batch([message, _message("3-3")])
    assert receipts[0].ok is False and receipts[0].error
    assert receipts[1].ok is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["3-3.eml"]


def test_an_unwritable_outbox_fails_the_batch(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(DeliveryError) as info:
        OutboxBackend(MailSettings(outbox=blocker / "outbox")).send_batch([_message("1")])
    assert info.value.retryable
