"""The smtp backend against a real aiosmtpd server with a test CA: TLS, auth, reuse, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes, policy

import pytest

from syndicator.config import MailSettings
from syndicator.deliver.smtp import SmtpBackend, dot_stuffed, quoted_address, tls_context
from syndicator.errors import DeliveryError
from tests.deliver.conftest import LIST_HEADERS, make_messages
from tests.fakes.smtpserver import PASSWORD, USER, CertFiles, FakeSmtp, make_certs


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return make_certs(tmp_path_factory.mktemp("certs"))


def settings(server: FakeSmtp, mode: str, **changes: object) -> MailSettings:
    values: dict[str, object] = {
        "backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
        "smtp_security": mode,
        "smtp_username": USER,
        "smtp_password": PASSWORD,
        "smtp_connections": 2,
    }
    values.update(changes)
    return MailSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def backend_for(certs: CertFiles) -> Iterator[object]:
    made: list[SmtpBackend] = []

    def make(server: FakeSmtp, mode: str, **changes: object) -> SmtpBackend:
        made.append(
            SmtpBackend(settings(server, mode, **changes), context=tls_context(str(certs.ca)))
        )
        return made[-1]

    yield make
    for backend in made:
        backend.close()


@pytest.mark.parametrize(
    "mode", [pytest.param("starttls", id="starttls"), pytest.param("ssl", id="implicit-tls")]
)
def test_delivers_over_verified_tls_with_auth(certs: CertFiles, backend_for, mode: str) -> None:
    messages = make_messages(6)
    with FakeSmtp(certs, mode) as server:
        receipts = backend_for(server, mode).send_batch(messages)
        assert all(r.ok for r in receipts)
        assert sorted(r.rcpt_tos[0] for r in server.received) == sorted(m.to for m in messages)
        first = message_from_bytes(server.received[0].content, policy=policy.SMTP)
        for name in LIST_HEADERS:
            assert first[name]
        assert {r.mail_from for r in server.received} == {"news@example.com"}


def test_connections_are_reused_and_parallel(certs: CertFiles, backend_for) -> None:
    with FakeSmtp(certs) as server:
        backend = backend_for(server, "starttls", smtp_connections=3)
        backend.send_batch(make_messages(9))
        backend.send_batch(make_messages(9, start=9))
        assert len(server.received) == 18
        assert len(server.handler.peers) == 3  # three sessions, reused for the second batch


def test_certificate_from_unknown_ca_is_refused(certs: CertFiles, backend_for) -> None:
    with FakeSmtp(certs, rogue=True) as server:
        with pytest.raises(DeliveryError, match="certificate not trusted") as caught:
            backend_for(server, "starttls").send_batch(make_messages(1))
        assert caught.value.fatal and server.received == []


def test_default_context_does_not_trust_the_test_ca(
    certs: CertFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeSmtp(certs) as server:
        backend = SmtpBackend(settings(server, "starttls"))
        try:
            with pytest.raises(DeliveryError, match="certificate not trusted"):
                backend.send_batch(make_messages(1))
        finally:
            backend.close()


def test_ca_file_setting_adds_trust(certs: CertFiles) -> None:
    with FakeSmtp(certs) as server:
        backend = SmtpBackend(replace(settings(server, "starttls"), smtp_ca_file=str(certs.ca)))
        try:
            assert backend.send_batch(make_messages(1))[0].ok
        finally:
            backend.close()


def test_wrong_password_is_fatal_and_names_the_variable(certs: CertFiles, backend_for) -> None:
    with FakeSmtp(certs) as server:
        with pytest.raises(DeliveryError, match="SYNDICATOR_SMTP_PASSWORD") as caught:
            backend_for(server, "starttls", smtp_password="wrong").send_batch(make_messages(4))
        assert caught.value.fatal and server.received == []


@pytest.mark.parametrize(
    ("reply", "suppress", "retryable"),
    [
        pytest.param("550 5.1.1 No such user here", True, False, id="550-suppress"),
        pytest.param("452 4.2.2 Mailbox full, try later", False, True, id="452-retry-later"),
        pytest.param("554 5.7.1 Rejected by policy", False, False, id="554-failed"),
    ],
)
def test_per_recipient_refusal(
    certs: CertFiles, backend_for, reply: str, suppress: bool, retryable: bool
) -> None:
    messages = make_messages(3)
    with FakeSmtp(certs) as server:
        server.handler.refuse[messages[1].to] = reply
        receipts = backend_for(server, "starttls").send_batch(messages)
        assert [r.ok for r in receipts] == [True, False, True]
        assert (receipts[1].suppress, receipts[1].retryable) == (suppress, retryable)
        assert reply[:3] in (receipts[1].error or "")
        assert len(server.received) == 2


def test_server_gone_between_batches_reconnects(certs: CertFiles, backend_for) -> None:
    with FakeSmtp(certs) as server:
        backend = backend_for(server, "starttls", smtp_connections=1)
        assert backend.send_batch(make_messages(1))[0].ok
        for connection in backend._connections:  # the server side hangs up on idle sessions
            if connection.smtp is not None and connection.smtp.sock is not None:
                connection.smtp.sock.close()
        assert backend.send_batch(make_messages(1, start=1))[0].ok
        assert len(server.received) == 2


def test_unreachable_server_is_retryable(backend_for, certs: CertFiles) -> None:
    with FakeSmtp(certs) as server:
        port = server.port
    backend = SmtpBackend(MailSettings(backend="smtp", smtp_host="127.0.0.1", smtp_port=port))
    try:
        with pytest.raises(DeliveryError) as caught:
            backend.send_batch(make_messages(2))
        assert caught.value.retryable and not caught.value.fatal
    finally:
        backend.close()


@pytest.mark.parametrize(
    "wire",
    [
        b".starts with a dot\r\nok\r\n",
        b"a\r\n.\r\n..two\r\n",
        b"bare\n.lf\n",
        b"",
        b".",
        b"no final line break\r\n.",
        b"a\r\n\r\n.\r\n.\r\n",
    ],
)
def test_dot_stuffing_equals_smtplibs(wire: bytes) -> None:
    import smtplib

    reference = smtplib._quote_periods(wire)  # type: ignore[attr-defined]
    if reference[-2:] != b"\r\n":
        reference += b"\r\n"
    assert dot_stuffed(wire) == reference + b".\r\n"


def test_lines_starting_with_a_dot_arrive_intact(certs: CertFiles, backend_for) -> None:
    [message] = make_messages(1)
    text = ".hidden first line\n..two dots\n.\nend\n"
    message = replace(message, text=text, html="<p>\n.dot</p>\n")
    with FakeSmtp(certs, "starttls") as server:
        [receipt] = backend_for(server, "starttls").send_batch([message])
        assert receipt.ok
        got = message_from_bytes(server.received[0].content, policy=policy.SMTP)
        plain, html = [part.get_content().replace("\r\n", "\n") for part in got.iter_parts()]
        assert plain == text and html == "<p>\n.dot</p>\n"


@pytest.mark.parametrize(
    "address",
    [
        "reader5@example.org",
        "first.last+tag@mail.example.co.kr",
        "o'brien@example.ie",
        "news@blog.example.com",
        "a..b@example.org",
        ".lead@example.org",
        '"quoted local"@example.org',
        "Name <named@example.org>",
        "<bracketed@example.org>",
        "no-at-sign.example.org",
        "",
        "<>",
        "사용자@example.org",
        "user@[127.0.0.1]",
        "user@example.org (comment)",
    ],
)
def test_quoted_address_equals_smtplibs(address: str) -> None:
    import smtplib

    assert quoted_address(address) == smtplib.quoteaddr(address)
