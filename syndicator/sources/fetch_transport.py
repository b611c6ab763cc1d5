"""An httpx transport whose sockets end every operation at the running GET's deadline.

httpcore's own timeouts are per operation: a slow-loris server sending a byte of headers every
second would hold a fetching thread for hours. Here each read, write, connect and TLS handshake
waits at most until the deadline that ``deadline()`` set for the exchange on this thread
(a DNS lookup, done by the system's resolver, keeps the resolver's own timeouts).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

__all__ = ["DeadlineTransport", "deadline", "past_deadline"]

# The whole exchange of the GET running on this thread must be over by ``.deadline``
# (time.monotonic()); every socket operation waits at most until then.
_exchange = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound what this thread sends and receives in the block to ``seconds`` altogether."""
    _exchange.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _exchange.deadline = None


def past_deadline() -> bool:
    when: float | None = getattr(_exchange, "deadline", None)
    return when is not None and time.monotonic() > when


def _wait_limit(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    when: float | None = getattr(_exchange, "deadline", None)
    if when is None:
        return timeout
    left = when - time.monotonic()
    if left <= 0:
        raise error("timed out")
    return left if timeout is None else min(timeout, left)


class _Trust:
    """The TLS context httpx would make, made at the first https connection.

    Loading the CA bundle costs ≈ 45 ms of CPU, which a run of plain-http feeds never needs.
    The pool is given ``placeholder``, which stands for the real context until then.
    """

    def __init__(self) -> None:
        self.placeholder = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def context(self, given: ssl.SSLContext) -> ssl.SSLContext:
        if given is not self.placeholder:
            return given
        with self._lock:
            if self._context is None:
                self._context = httpx.create_ssl_context()
                # What httpcore sets on the context it is given, before each HTTP/1.1 handshake.
                self._context.set_alpn_protocols(["http/1.1"])
            return self._context


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose reads and writes end at the exchange's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, trust: _Trust) -> None:
        self._stream = stream
        self._trust = trust

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _wait_limit(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _wait_limit(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        limit = _wait_limit(timeout, httpcore.ConnectTimeout)
        context = self._trust.context(ssl_context)
        return _DeadlineStream(self._stream.start_tls(context, server_hostname, limit), self._trust)

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, trust: _Trust) -> None:
        self._backend = httpcore.SyncBackend()
        self._trust = trust

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        limit = _wait_limit(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, limit, local_address, socket_options)
        return _DeadlineStream(stream, self._trust)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


# httpcore's errors as httpx's (what httpx.HTTPTransport does), most specific first.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)
_CORE_ERRORS = tuple(core for core, _ in _ERRORS)


def _translated(exc: Exception) -> httpx.TransportError:
    kind = next(ours for core, ours in _ERRORS if isinstance(exc, core))
    return kind(str(exc))


class _Body(httpx.SyncByteStream):
    """A response body read from httpcore, its errors told as httpx's."""

    def __init__(self, response: httpcore.Response) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._response.iter_stream()
        except _CORE_ERRORS as exc:
            raise _translated(exc) from exc

    def close(self) -> None:
        self._response.close()


class DeadlineTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore pool whose sockets honour the exchange deadline."""

    def __init__(self, connections: int) -> None:
        trust = _Trust()
        self._pool = httpcore.ConnectionPool(
            ssl_context=trust.placeholder,
            max_connections=connections,
            max_keepalive_connections=connections,
            network_backend=_DeadlineBackend(trust),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            extensions=request.extensions,
        )
        try:
            response = self._pool.handle_request(core)
        except _CORE_ERRORS as exc:
            raise _translated(exc) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()
