"""Message bytes: structure, RFC 2047 headers, injection refused, checked with the email parser."""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage, MIMEPart

import pytest

from syndicator.deliver.mime import (
    BodyTemplate,
    FilledBody,
    _headers,
    _headers_reference,
    build_mime,
    message_bytes,
)
from syndicator.errors import DeliveryError
from syndicator.model import Message


def _message(**changes: object) -> Message:
    fields: dict[str, object] = {
        "delivery_id": "9-1",
        "sender": '"AI 뉴스" <news@blog.example.com>',
        "to": '"김민지" <reader@example.org>',
        "subject": "AI 뉴스 주간 브리핑: 새 글 3편이 올라왔습니다 — 로봇, 작은 모델, 라이선스",
        "text": "안녕하세요.\n본문입니다.\n",
        "html": "<p>안녕하세요.</p>\n",
        "reply_to": "editor@blog.example.com",
        "headers": (("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),),
        "message_id": "<9-1@news.example.com>",
    }
    fields.update(changes)
    return Message(**fields)  # type: ignore[arg-type]


def _content(part: MIMEPart) -> str:
    """A part's decoded text with line ends as Python writes them (the parser keeps CRLF)."""
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_structure_crlf_and_parts_in_order() -> None:
    raw = message_bytes(_message())
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert raw.isascii() is False  # 8bit UTF-8 bodies
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # every header is ASCII on the wire
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    parsed = _parse(raw)
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.iter_parts()
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert _content(plain) == "안녕하세요.\n본문입니다.\n"
    assert _content(html) == "<p>안녕하세요.</p>\n"
    assert parsed["MIME-Version"] == "1.0" and parsed["Date"] is not None


def test_korean_subject_is_encoded_and_decodes_back() -> None:
    message = _message()
    raw = message_bytes(message)
    assert b"Subject: =?utf-8?b?" in raw
    parsed = _parse(raw)
    assert parsed["Subject"] == message.subject
    assert parsed["From"].addresses[0].display_name == "AI 뉴스"
    assert parsed["To"].addresses[0].display_name == "김민지"
    assert parsed["Message-ID"] == "<9-1@news.example.com>"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"subject": "Hi\r\nBcc: x@evil.example"}, id="crlf-in-subject"),
        pytest.param({"subject": "Hi\nBcc: x@evil.example"}, id="lf-in-subject"),
        pytest.param({"to": "a@example.org\r\nBcc: x@evil.example"}, id="crlf-in-to"),
        pytest.param({"headers": (("X-Note", "a\rb"),)}, id="cr-in-extra-header"),
        pytest.param({"headers": (("Bcc", "x@evil.example"),)}, id="bcc-as-extra-header"),
        pytest.param({"headers": (("Bad Name", "x"),)}, id="space-in-header-name"),
    ],
)
def test_header_injection_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(DeliveryError):
        message_bytes(_message(**changes))


def test_long_lines_fall_back_to_quoted_printable() -> None:
    html = "<p>" + "가나다라 " * 400 + "</p>\n"
    parsed = _parse(message_bytes(_message(html=html)))
    part = list(parsed.iter_parts())[1]
    assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert _content(part) == html


def test_text_only_message_is_a_single_part() -> None:
    parsed = _parse(message_bytes(_message(html="")))
    assert parsed.get_content_type() == "text/plain"
    assert _content(parsed) == "안녕하세요.\n본문입니다.\n"


def test_body_template_fills_and_reuses_its_wire_form() -> None:
    template = BodyTemplate("<p>MARKg</p>\n<a href='MARKu'>x</a>", {"MARKg": "g", "MARKu": "u"})
    body = template.fill({"g": "안녕 &lt;b&gt;", "u": "https://x.example/u/t"})
    assert isinstance(body, FilledBody)
    assert str(body) == "<p>안녕 &lt;b&gt;</p>\n<a href='https://x.example/u/t'>x</a>\n"
    assert body.wire == str(body).encode("utf-8").replace(b"\n", b"\r\n")
    # a value with a line break, or too long for its line, takes the generic path
    assert template.fill({"g": "a\nb", "u": "u"}).wire is None
    assert template.fill({"g": "x" * 1000, "u": "u"}).wire is None
    raw = message_bytes(_message(html=template.fill({"g": "x" * 1000, "u": "u"})))
    assert _content(list(_parse(raw).iter_parts())[1]).startswith("<p>" + "x" * 1000)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"g": "안녕 &lt;b&gt;", "u": "https://x.example/u/t"}, id="korean"),
        pytest.param({"g": 'quote " back\\slash \t tab \x01', "u": "u"}, id="escapes"),
    ],
)
def test_body_template_json_equals_encoding_the_filled_text(values: dict[str, str]) -> None:
    template = BodyTemplate(
        "<p title=\"t\">MARKg</p>\n<a href='MARKu'>\\</a>", {"MARKg": "g", "MARKu": "u"}
    )
    body = template.fill(values)
    assert isinstance(body, FilledBody)
    assert json.loads(b'"' + b"".join(body.json_parts()) + b'"') == str(body)


def test_build_mime_gives_an_email_message() -> None:
    built = build_mime(_message())
    assert isinstance(built, EmailMessage)
    assert built["Subject"].startswith("AI 뉴스 주간 브리핑")
    assert built.get_body(("plain",)) is not None
    assert b"\r\n" in built.as_bytes()


_LONG_UNSUBSCRIBE = (
    "<https://news.example.com/unsubscribe/eyJzIjoxMjM0NX0.aSbQ2A.N3x0LzJ0dW5zdWJzY3JpYmVfdG9rZW4>"
    ", <mailto:leave@news.example.com?subject=unsubscribe%20eyJzIjoxMjM0NX0>"
)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="korean-names-and-subject"),
        pytest.param(
            {"sender": "news@example.com", "to": "a@example.org", "subject": "Weekly"},
            id="all-ascii-short",
        ),
        pytest.param({"reply_to": None}, id="no-reply-to"),
        pytest.param({"reply_to": '"편집부" <editor@blog.example.com>'}, id="korean-reply-to"),
        pytest.param({"to": "reader" * 14 + "@example.org"}, id="long-ascii-to"),
        pytest.param({"to": "김민지 <reader@example.org>"}, id="unquoted-korean-to"),
        pytest.param({"message_id": "<" + "x" * 90 + "@news.example.com>"}, id="long-message-id"),
        pytest.param({"subject": "Weekly digest " * 8}, id="long-ascii-subject"),
        pytest.param(
            {
                "headers": (
                    ("List-Unsubscribe", _LONG_UNSUBSCRIBE),
                    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                    ("List-Id", '"AI 뉴스 주간" <weekly.news.example.com>'),
                    ("X-Campaign", "주간 브리핑"),
                    ("X-Short", "7"),
                )
            },
            id="digest-extras-and-custom",
        ),
    ],
)
def test_cached_headers_equal_the_uncached_reference_byte_for_byte(
    changes: dict[str, object],
) -> None:
    """Per-variant caching and the short-ASCII fast path change no header byte."""
    message = _message(**changes)
    for _ in range(2):  # the second call reads the caches
        fast = _headers(message, message.headers)
        slow = _headers_reference(message, message.headers)
        date = 3  # From, To, then Reply-To and Subject in one cached block
        assert fast[date].startswith(b"Date: ")
        assert b"".join(fast[:date] + fast[date + 1 :]) == b"".join(
            line for line in slow if not line.startswith(b"Date: ")
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("To", "a@example.org\r\nBcc: x@evil.example", id="to-crlf"),
        pytest.param("X-Note", "short\nBcc: x@evil.example", id="extra-lf"),
        pytest.param("Bcc", "x@example.org", id="ours-as-extra"),
        pytest.param("Bad Name", "x", id="bad-extra-name"),
    ],
)
def test_fast_header_path_still_refuses_injection(name: str, value: str) -> None:
    message = _message(to=value) if name == "To" else _message(headers=((name, value),))
    with pytest.raises(DeliveryError):
        message_bytes(message)
