"""Loopback fake mail APIs (Postmark, SendGrid, Mailgun, SES v2, Resend) with fault switches.

In tests: ``with FakeMailApi("postmark") as fake: ... fake.url ... fake.accepted``.
As a process (benchmarks): ``python -m tests.fakes.mailapi --provider postmark --port 8025``;
``GET /_fake/stats`` answers ``{"accepted": N, "requests": N}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.providers import (
    Accepted,
    Answer,
    MailgunProvider,
    PostmarkProvider,
    Provider,
    ResendProvider,
    SendgridProvider,
    json_answer,
)
from tests.fakes.ses import SesProvider

__all__ = ["PROVIDERS", "Accepted", "FakeMailApi", "Fault"]

PROVIDERS: dict[str, type[Provider]] = {
    "postmark": PostmarkProvider,
    "sendgrid": SendgridProvider,
    "mailgun": MailgunProvider,
    "ses": SesProvider,
    "resend": ResendProvider,
}
DEFAULT_KEYS = {"ses": "AKIDFAKE0000EXAMPLE:fake-secret-key", "postmark": "pm-test-token"}


@dataclass(frozen=True, slots=True)
class Fault:
    """What the next request gets instead of (or before) a normal answer."""

    status: int = 0  # answer with this status (0: answer normally)
    body: Any = None  # JSON body for the status; a default error otherwise
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False  # close the connection without answering
    delay: float = 0.0  # wait this long first
    after: bool = False  # drop only after the request was processed (ambiguous failure)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        fake = self.server.fake
        if self.path == "/_fake/stats":
            self._send(
                json_answer(200, {"accepted": fake.accepted_count, "requests": fake.request_count})
            )
        else:
            self._send(json_answer(404, {"message": "not found"}))

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        fault = fake.next_fault()
        if fault.delay:
            time.sleep(fault.delay)
        if fault.drop and not fault.after:
            self._drop()
            return
        answer = fake.answer(self.path, headers, body, fault)
        if fault.drop:
            self._drop()
            return
        self._send(answer)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], fake: FakeMailApi) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class FakeMailApi:
    """A provider's API on 127.0.0.1, recording what it accepts."""

    def __init__(
        self,
        provider: str,
        *,
        key: str | None = None,
        port: int = 0,
        keep_payloads: bool = True,
        keep_messages: bool = True,
    ) -> None:
        self.provider_name = provider
        self.key = key or DEFAULT_KEYS.get(provider, f"{provider}-test-key")
        self.accepted: list[Accepted] = []
        self.accepted_count = 0
        self.request_count = 0
        self.requests: list[tuple[str, dict[str, str]]] = []  # path and headers of each POST
        self.rejections: dict[str, str] = {}  # address -> the provider's refusal text
        self.outage: Callable[[], bool] | None = None  # while true: 503 for every request
        self.keep_messages = keep_messages
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._provider = PROVIDERS[provider](
            self.key, self._record, self.rejections.get, keep_payloads
        )
        self._server = _Server(("127.0.0.1", port), self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeMailApi:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeMailApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def push(self, *faults: Fault) -> None:
        """Apply these faults, one per request, to the next requests in order."""
        with self._lock:
            self._faults.extend(faults)

    def fail(
        self,
        status: int,
        *,
        count: int = 1,
        retry_after: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = retry_after
        self.push(*[Fault(status=status, body=body, headers=tuple(extra.items()))] * count)

    def next_fault(self) -> Fault:
        with self._lock:
            self.request_count += 1
            return self._faults.popleft() if self._faults else Fault()

    def answer(self, path: str, headers: dict[str, str], body: bytes, fault: Fault) -> Answer:
        with self._lock:
            self.requests.append((path, headers))
        denied = self._provider.unauthorized(path, headers)
        if denied is not None:
            return denied
        if self.outage is not None and self.outage():
            return json_answer(503, {"message": "Service Unavailable"})
        if fault.status:
            body_value = (
                fault.body if fault.body is not None else {"message": f"fake fault {fault.status}"}
            )
            return json_answer(fault.status, body_value, dict(fault.headers))
        with self._lock:  # one request at a time through the provider keeps recording simple
            return self._provider.handle(path.split("?")[0], headers, body)

    def _record(self, accepted: Accepted) -> None:
        self.accepted_count += 1
        if self.keep_messages:
            self.accepted.append(accepted)

    def delivery_ids(self) -> list[str]:
        return [a.delivery_id for a in self.accepted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--provider", choices=sorted(PROVIDERS), required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default=None)
    parser.add_argument("--keep-messages", action="store_true", help="keep every accepted message")
    args = parser.parse_args()
    fake = FakeMailApi(
        args.provider,
        key=args.key,
        port=args.port,
        keep_payloads=False,
        keep_messages=args.keep_messages,
    )
    print(f"listening {fake.url} provider={args.provider}", flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()
        print(
            json.dumps({"accepted": fake.accepted_count, "requests": fake.request_count}),
            flush=True,
        )


if __name__ == "__main__":
    main()
