"""Polite concurrent HTTP GETs for remote feeds: one httpx client, limits, conditional GET.

Only HTTP lives here; what a status means for a feed's state is decided in ``feed.py``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

__all__ = ["AfterFetch", "FetchRequest", "FetchResult", "fetch_all"]

log = logging.getLogger(__name__)

_REDIRECTS = (301, 302, 303, 307, 308)
_PERMANENT = (301, 308)
_DRAIN = 64 * 1024  # bytes read from an error/redirect/304 body to keep its connection


@dataclass(frozen=True, slots=True)
class FetchRequest:
    url: str
    user_agent: str
    etag: str | None = None
    last_modified: str | None = None
    timeout: float = 20.0  # whole exchange, including a slow body
    max_bytes: int = 10 * 1024 * 1024  # decoded body
    max_redirects: int = 5
    per_host: int = 4


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one GET; ``error`` is a reason for people when nothing usable came back."""

    url: str  # the URL finally answered
    status: int = 0
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""
    moved_to: str | None = None  # the new address after permanent redirects only
    error: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


# Called with each result's index as soon as it arrives, while the other GETs go on.
AfterFetch = Callable[[int, FetchResult], Awaitable[None]]


class _TooLarge(Exception):
    pass


def _describe(exc: Exception) -> str:
    """A short reason a person can act on, from an httpx or OS error (and what caused it)."""
    text = str(exc) or type(exc).__name__
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return f"DNS lookup failed: {cause}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause}"
        cause = cause.__cause__ or cause.__context__
    lowered = text.lower()
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "timed out"
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
        return f"TLS error: {text}"
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or ("temporary failure in name resolution" in lowered)
    ):
        return f"DNS lookup failed: {text}"
    if "refused" in lowered:
        return "connection refused"
    if isinstance(exc, httpx.DecodingError):
        return f"cannot decode the compressed body: {text}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"broken HTTP answer: {text}"
    return f"{type(exc).__name__}: {text}"


async def _drain(response: httpx.Response) -> None:
    """Read a small unwanted body to its end, so that the keep-alive connection can be reused.

    A response closed before its end makes httpcore drop the connection: a new TCP connection
    (and, on https, a new TLS handshake) for every 304. Bodies bigger than _DRAIN are not read.
    """
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > _DRAIN:
            return


async def _get(client: httpx.AsyncClient, request: FetchRequest) -> FetchResult:
    headers = {"User-Agent": request.user_agent}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    url = request.url
    moved_to: str | None = None
    permanent_so_far = True
    seen = {url}
    for _ in range(request.max_redirects + 1):
        async with client.stream("GET", url, headers=headers) as response:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                await _drain(response)
                target = urljoin(url, response.headers["location"])
                if response.status_code in _PERMANENT and permanent_so_far:
                    moved_to = target
                else:
                    permanent_so_far = False
                if target in seen:
                    return FetchResult(
                        url, response.status_code, error=f"redirect loop at {target}"
                    )
                seen.add(target)
                url = target
                continue
            common = {
                "status": response.status_code,
                "etag": response.headers.get("etag"),
                "last_modified": response.headers.get("last-modified"),
                "content_type": response.headers.get("content-type", ""),
                "moved_to": moved_to,
            }
            if response.status_code == 304:
                await _drain(response)
                return FetchResult(url, **common)
            if response.status_code >= 400:
                await _drain(response)
                reason = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
                return FetchResult(url, **common, error=reason)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > request.max_bytes:
                raise _TooLarge(declared)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > request.max_bytes:
                    raise _TooLarge(str(size))
                chunks.append(chunk)
            return FetchResult(url, body=b"".join(chunks), **common)
    return FetchResult(url, error=f"more than {request.max_redirects} redirects")


async def _fetch_one(
    client: httpx.AsyncClient,
    request: FetchRequest,
    overall: asyncio.Semaphore,
    hosts: dict[str, asyncio.Semaphore],
) -> FetchResult:
    host = (urlsplit(request.url).hostname or "").lower()
    per_host = hosts.setdefault(host, asyncio.Semaphore(request.per_host))
    async with per_host, overall:
        try:
            async with asyncio.timeout(request.timeout):
                result = await _get(client, request)
        except _TooLarge:
            result = FetchResult(request.url, error=f"body larger than {request.max_bytes} bytes")
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            result = FetchResult(request.url, error=_describe(exc))
        except httpx.InvalidURL as exc:  # not an HTTPError subclass
            result = FetchResult(request.url, error=f"invalid URL: {exc}")
    log.debug(
        "fetched url=%s status=%s bytes=%d error=%s",
        request.url, result.status, len(result.body), result.error,
    )  # fmt: skip
    return result


async def _fetch_then(
    index: int,
    client: httpx.AsyncClient,
    request: FetchRequest,
    overall: asyncio.Semaphore,
    hosts: dict[str, asyncio.Semaphore],
    after: AfterFetch | None,
) -> FetchResult:
    result = await _fetch_one(client, request, overall, hosts)  # releases its slots first
    if after is not None:
        await after(index, result)
    return result


async def _fetch_all(
    requests: Sequence[FetchRequest], concurrency: int, after: AfterFetch | None
) -> list[FetchResult]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(max((r.timeout for r in requests), default=20.0))
    overall = asyncio.Semaphore(concurrency)
    hosts: dict[str, asyncio.Semaphore] = {}
    async with httpx.AsyncClient(
        http1=True, http2=False, limits=limits, timeout=timeout, follow_redirects=False
    ) as client:
        jobs = (_fetch_then(i, client, r, overall, hosts, after) for i, r in enumerate(requests))
        return list(await asyncio.gather(*jobs))


def fetch_all(
    requests: Sequence[FetchRequest], concurrency: int = 32, after: AfterFetch | None = None
) -> list[FetchResult]:
    """GET every request concurrently with one keep-alive client; never raises for one URL.

    ``after`` (if given) is awaited with each result as it arrives, e.g. to start parsing it.
    """
    if not requests:
        return []
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_fetch_all(requests, concurrency, after))
    # Called from inside an event loop (the web app): run ours on a worker thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _fetch_all(requests, concurrency, after)).result()
