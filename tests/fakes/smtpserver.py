"""A real SMTP server on 127.0.0.1 (aiosmtpd) with STARTTLS or implicit TLS, AUTH, and
per-recipient refusals; certificates come from a throwaway CA made with ``openssl``."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "mailer", "s3cret-for-tests"


@dataclass(frozen=True, slots=True)
class CertFiles:
    ca: Path  # trust this to accept ``server``
    server_cert: Path
    server_key: Path
    rogue_cert: Path  # self-signed, for "bad certificate" tests
    rogue_key: Path

    def context(self, rogue: bool = False) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        if rogue:
            ctx.load_cert_chain(self.rogue_cert, self.rogue_key)
        else:
            ctx.load_cert_chain(self.server_cert, self.server_key)
        return ctx


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(folder: Path) -> CertFiles:
    """A CA, a server certificate for 127.0.0.1/localhost signed by it, and a self-signed rogue."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=syndicator test CA",
        cwd=folder,
    )
    _openssl(
        "req",
        *ec,
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
        cwd=folder,
    )
    (folder / "san.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        cwd=folder,
    )
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "rogue.key",
        "-out",
        "rogue.pem",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        cwd=folder,
    )
    return CertFiles(
        folder / "ca.pem",
        folder / "server.pem",
        folder / "server.key",
        folder / "rogue.pem",
        folder / "rogue.key",
    )


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any


@dataclass
class _Handler:
    refuse: dict[str, str] = field(default_factory=dict)  # address -> "550 5.1.1 ..." reply
    received: list[Received] = field(default_factory=list)
    peers: set[Any] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content or envelope.content,
                    session.peer,
                )
            )
            self.peers.add(session.peer)
        return "250 2.0.0 queued"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == USER.encode()
        and data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=True would leave the client waiting


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeSmtp:
    """``mode`` "starttls" (TLS required before AUTH/MAIL) or "ssl" (implicit TLS)."""

    def __init__(self, certs: CertFiles, mode: str = "starttls", *, rogue: bool = False) -> None:
        self.handler = _Handler()
        self.port = _free_port()
        context = certs.context(rogue)
        common: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": self.port,
            "authenticator": _authenticate,
            "auth_require_tls": True,
        }
        if mode == "ssl":
            # aiosmtpd counts only STARTTLS as TLS for AUTH; the implicit-TLS socket already is
            common["auth_require_tls"] = False
            self.controller = Controller(self.handler, ssl_context=context, **common)
        else:
            self.controller = Controller(
                self.handler, tls_context=context, require_starttls=True, **common
            )

    def __enter__(self) -> FakeSmtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received
