"""Messages to RFC 5322 bytes: CRLF, UTF-8, multipart/alternative (text first, then HTML).

Header text is encoded per RFC 2047 where it is not ASCII; a header value holding CR or LF is
refused, so nothing a reader typed can add a header. Bodies go out as 8bit UTF-8 when every
line fits SMTP's 998 octets, otherwise quoted-printable. A body made from a
:class:`BodyTemplate` already carries its wire form, so 100,000 copies of one digest are not
encoded 100,000 times.
"""

from __future__ import annotations

import binascii
import email
import email.policy
import random
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, make_msgid
from functools import lru_cache

from syndicator.errors import DeliveryError
from syndicator.model import LazyText, Message

try:  # JSON string bodies for the API backends, escaped once per variant
    from orjson import dumps as _dumps

    def _json_string(text: str) -> bytes:
        """``text`` as a JSON string literal (UTF-8, no ASCII escapes)."""
        return _dumps(text)

except ImportError:  # pragma: no cover - the standard library fallback
    import json

    def _json_string(text: str) -> bytes:
        """``text`` as a JSON string literal (UTF-8, no ASCII escapes)."""
        return json.dumps(text, ensure_ascii=False).encode("utf-8")


__all__ = ["BodyTemplate", "FilledBody", "build_mime", "message_bytes"]

MAX_LINE = 998  # RFC 5322 2.1.1, octets before CRLF
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "sender", "list-id"})
_OURS = frozenset(
    {
        "from",
        "to",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "bcc",
    }
)
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'
_SHARED = frozenset({"list-id", "list-unsubscribe-post", "list-post", "list-help"})


class FilledBody(LazyText):
    """One reader's body: a template's shared pieces plus the reader's slot values.

    ``str()`` joins the text; ``json_parts()`` gives the inside of the body's JSON string
    (``orjson.dumps(str(body))`` in meaning) from pieces escaped once per template; ``wire``
    the CRLF UTF-8 form when the shared wire pieces can be reused as they are (else None, and
    the MIME writer measures the text).
    """

    __slots__ = ("_encoded", "_template", "_values", "ascii")

    def __init__(
        self,
        template: BodyTemplate,
        values: list[str],
        encoded: list[bytes] | None,
        ascii: bool,
    ) -> None:
        self._template = template
        self._values = values
        self._encoded = encoded
        self.ascii = ascii

    def __str__(self) -> str:
        parts = self._template._text.copy()
        parts[1::2] = self._values
        return "".join(parts)

    def __repr__(self) -> str:
        return f"FilledBody({len(self._values)} values)"

    @property
    def wire(self) -> bytes | None:
        if self._encoded is None:
            return None
        parts = self._template._wire.copy()
        parts[1::2] = self._encoded
        return b"".join(parts)

    def json_parts(self) -> list[bytes]:
        """The body as the inside of a JSON string literal (no quotes), in pieces."""
        parts = self._template._json.copy()
        parts[1::2] = [_json_string(value)[1:-1] for value in self._values]
        return parts


class BodyTemplate:
    """A body split at named slots, encoded once; ``fill`` makes one reader's copy cheaply."""

    def __init__(self, text: str, slots: Mapping[str, str]) -> None:
        """``slots`` maps each marker string found in ``text`` to the name ``fill`` takes."""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.endswith("\n"):
            text += "\n"
        pattern = "|".join(re.escape(marker) for marker in sorted(slots, key=len, reverse=True))
        pieces = re.split(f"({pattern})", text) if slots else [text]
        self._order = [slots[marker] for marker in pieces[1::2]]
        # Buffers with the slots' places left open: fill assigns the odd items in one step.
        self._text = list(pieces)
        self._wire = [p.encode("utf-8").replace(b"\n", b"\r\n") for p in pieces]
        self._json = [_json_string(p)[1:-1] for p in pieces]
        self._ascii = text.isascii()
        # The longest line holding a slot, without its values: the room those values share.
        longest_fixed, fits = 0, True
        fixed, holds = 0, False
        for index, static in enumerate(pieces[0::2]):
            segments = static.encode("utf-8").split(b"\n")
            fixed += len(segments[0])
            for segment in segments[1:]:
                fits = fits and fixed <= MAX_LINE
                if holds:
                    longest_fixed = max(longest_fixed, fixed)
                fixed, holds = len(segment), False
            holds = holds or index < len(self._order)
        self._fits = fits and fixed <= MAX_LINE
        self._room = MAX_LINE - longest_fixed

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._order)

    def fill(self, values: Mapping[str, str]) -> FilledBody:
        """One reader's body; nothing of the template's size is copied until a backend asks.

        The shared wire pieces are reused when no value holds a line break and all values
        together fit the room left on the fullest line that holds a slot (a cheap,
        conservative test); otherwise the MIME writer measures the joined text.
        """
        filled = [values[name] for name in self._order]
        joined = "".join(filled)
        ascii = self._ascii and joined.isascii()
        if not self._fits or "\n" in joined or "\r" in joined:
            return FilledBody(self, filled, None, ascii)
        encoded = [v.encode("utf-8") for v in filled]
        if sum(map(len, encoded)) > self._room:
            return FilledBody(self, filled, None, ascii)
        return FilledBody(self, filled, encoded, ascii)


def _check_value(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise DeliveryError(f"header {name} contains a line break; refusing to send (injection?)")


def _fold_ascii(name: str, value: str) -> str:
    """Fold a long ASCII value at spaces so lines stay near 78 characters."""
    if len(name) + 2 + len(value) <= 78 or " " not in value:
        return value
    lines: list[str] = []
    line = ""
    room = 78 - len(name) - 2
    for word in value.split(" "):
        if line and len(line) + 1 + len(word) > room:
            lines.append(line)
            line, room = word, 77
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)


_QUOTED_ADDRESS = re.compile(r'^"((?:[^"\\]|\\.)*)" <([!-~]+)>$')


def _encoded_word(text: str) -> str | None:
    """One RFC 2047 base64 word for short text, or None when it would need folding."""
    word = f"=?utf-8?b?{binascii.b2a_base64(text.encode('utf-8'), newline=False).decode()}?="
    return word if len(word) <= 75 else None


def _encode_address_list(name: str, value: str) -> str:
    quoted = _QUOTED_ADDRESS.match(value)
    if quoted:  # '"Name" <ascii@address>', as display_address writes it: skip the parser
        word = _encoded_word(re.sub(r"\\(.)", r"\1", quoted.group(1)))
        if word is not None:
            return f"{word} <{quoted.group(2)}>"
    out: list[str] = []
    for display, address in getaddresses([value]):
        local, at, domain = address.rpartition("@")
        if not address.isascii():
            if not at or not local.isascii():
                raise DeliveryError(f"header {name}: {address!r} needs SMTPUTF8, not supported")
            address = f"{local}@{domain.encode('idna').decode('ascii')}"
        out.append(formataddr((display, address), charset="utf-8"))
    return ", ".join(out)


@lru_cache(maxsize=256)
def _check_name(name: str) -> str:
    if not _HEADER_NAME.match(name):
        raise DeliveryError(f"{name!r} is not a valid header name")
    return name


def _encode_header(name: str, value: str) -> bytes:
    _check_name(name)
    _check_value(name, value)
    if value.isascii() and len(name) + len(value) < 76:  # the usual case: as it is
        return f"{name}: {value}\r\n".encode("ascii")
    if value.isascii():
        text = _fold_ascii(name, value)
    elif name.lower() in _ADDRESS_HEADERS:
        text = _fold_ascii(name, _encode_address_list(name, value))
    else:
        text = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {text}\r\n".encode("ascii")


_encode_shared_header = lru_cache(maxsize=1024)(_encode_header)  # values repeated per variant


@lru_cache(maxsize=4)
def _date_header(second: int) -> bytes:
    stamp = format_datetime(datetime.fromtimestamp(second, UTC))
    return f"Date: {stamp}\r\n".encode("ascii")


def _body_wire(name: str, body: str | LazyText) -> tuple[bytes, str]:
    """The body's wire bytes and transfer encoding."""
    if isinstance(body, FilledBody):
        wire = body.wire
        if wire is not None:
            return wire, "7bit" if body.ascii else "8bit"
    text = str(body).replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    if any(
        len(line) > MAX_LINE // 4 and len(line.encode("utf-8")) > MAX_LINE
        for line in text.split("\n")
    ):
        qp = binascii.b2a_qp(text.encode("utf-8"), istext=True)
        return qp.replace(b"\n", b"\r\n"), "quoted-printable"
    wire = text.encode("utf-8").replace(b"\n", b"\r\n")
    return wire, "7bit" if text.isascii() else "8bit"


def _part(kind: str, body: str | LazyText) -> tuple[bytes, bytes]:
    wire, cte = _body_wire(kind, body)
    return _part_head(kind, cte), wire if wire.endswith(b"\r\n") else wire + b"\r\n"


@lru_cache(maxsize=8)
def _part_head(kind: str, cte: str) -> bytes:
    head = f'Content-Type: text/{kind}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n'
    return head.encode("ascii")


def _message_id(message: Message) -> str:
    if message.message_id:
        return message.message_id
    domain = message.sender.rpartition("@")[2].strip(" >") or "localhost"
    return make_msgid(domain=domain)


def _plain_line(name: str, value: str) -> bytes:
    """A header of a checked name; a short single-line ASCII value goes out as it is."""
    if value.isascii() and len(name) + len(value) < 76 and "\r" not in value and "\n" not in value:
        return f"{name}: {value}\r\n".encode("ascii")
    return _encode_header(name, value)


@lru_cache(maxsize=256)
def _fixed_lines(sender: str, reply_to: str | None, subject: str) -> tuple[bytes, bytes]:
    """From, and Reply-To + Subject: the same for every copy of a variant, encoded once."""
    after_to = _encode_header("Reply-To", reply_to) if reply_to else b""
    return _encode_header("From", sender), after_to + _encode_header("Subject", subject)


@lru_cache(maxsize=256)
def _extra_kind(name: str) -> bool:
    """Whether an extra header's value is shared by many messages; refuses names we set."""
    _check_name(name)
    if name.lower() in _OURS:
        raise DeliveryError(f"header {name} is set by syndicator itself, not as an extra")
    return name.lower() in _SHARED


def _headers(message: Message, extra: Sequence[tuple[str, str]]) -> list[bytes]:
    if not message.sender or not message.to:
        raise DeliveryError("a message needs a sender ([mail] from) and a recipient")
    sender_line, reply_subject = _fixed_lines(message.sender, message.reply_to, message.subject)
    lines = [
        sender_line,
        _plain_line("To", message.to),
        reply_subject,
        _date_header(int(time.time())),
        _plain_line("Message-ID", _message_id(message)),
    ]
    for name, value in extra:
        if _extra_kind(name):
            lines.append(_encode_shared_header(name, value))
        else:
            lines.append(_plain_line(name, value))
    lines.append(b"MIME-Version: 1.0\r\n")
    return lines


def _headers_reference(message: Message, extra: Sequence[tuple[str, str]]) -> list[bytes]:
    """The header lines encoded one by one, uncached: the reference ``_headers`` must equal."""
    if not message.sender or not message.to:
        raise DeliveryError("a message needs a sender ([mail] from) and a recipient")
    lines = [_encode_header("From", message.sender), _encode_header("To", message.to)]
    if message.reply_to:
        lines.append(_encode_header("Reply-To", message.reply_to))
    lines.append(_encode_header("Subject", message.subject))
    lines.append(_date_header(int(datetime.now(UTC).timestamp())))
    lines.append(_encode_header("Message-ID", _message_id(message)))
    for name, value in extra:
        if name.lower() in _OURS:
            raise DeliveryError(f"header {name} is set by syndicator itself, not as an extra")
        lines.append(_encode_header(name, value))
    lines.append(b"MIME-Version: 1.0\r\n")
    return lines


def message_bytes(message: Message) -> bytes:
    """The complete message as it goes on the wire (CRLF line endings)."""
    lines = _headers(message, message.headers)
    text_head, text_wire = _part("plain", message.text)
    if not message.html:
        return b"".join([*lines, text_head, text_wire])
    html_head, html_wire = _part("html", message.html)
    # Not secret, only unlikely: a boundary found in a body is drawn again.
    boundary = f"=_{random.getrandbits(96):024x}"
    while boundary.encode("ascii") in text_wire or boundary.encode("ascii") in html_wire:
        boundary = f"=_{random.getrandbits(96):024x}"  # pragma: no cover - 96 random bits
    # The CRLF before each delimiter belongs to the delimiter, not to the part (RFC 2046 5.1.1).
    marker = f"\r\n--{boundary}\r\n".encode("ascii")
    return b"".join(
        [
            *lines,
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode("ascii"),
            marker[2:],
            text_head,
            text_wire,
            marker,
            html_head,
            html_wire,
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        ]
    )


def build_mime(message: Message) -> EmailMessage:
    """The message as an EmailMessage (policy SMTP), for backends that want the object."""
    parsed = email.message_from_bytes(message_bytes(message), policy=email.policy.SMTP)
    assert isinstance(parsed, EmailMessage)
    return parsed
