"""HTTP fetching over a real loopback server: limits, deadlines, connection reuse, proxies."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest

from syndicator.sources import fetch
from syndicator.sources.fetch import FetchRequest, fetch_all
from tests.fakes.feedserver import FeedServer, generated_feed
from tests.fakes.smtpserver import CertFiles, make_certs


@pytest.fixture
def server() -> Iterator[FeedServer]:
    feeds = FeedServer(generate=12).start()
    yield feeds
    feeds.stop()


def request(url: str, **options: object) -> FetchRequest:
    return dataclasses.replace(FetchRequest(url, "syndicator-test"), **options)  # type: ignore[arg-type]


def test_per_host_limit_holds_with_many_threads(server: FeedServer) -> None:
    slow = [request(server.url(f"delay/100/gen/{n}.xml"), per_host=3) for n in range(12)]
    # The same server under a second host name: its own limit, served alongside.
    other = [
        request(f"http://localhost:{server.port}/delay/100/gen/{n}.xml", per_host=2)
        for n in range(6)
    ]
    results = fetch_all(slow + other, concurrency=32)
    assert [r.status for r in results] == [200] * 18
    assert results[0].body == generated_feed(0)
    assert server.most_in_flight["127.0.0.1"] == 3
    assert server.most_in_flight["localhost"] == 2


def test_a_busy_host_does_not_hold_the_threads_of_others(server: FeedServer) -> None:
    busy = [request(server.url(f"delay/300/gen/{n}.xml"), per_host=1) for n in range(4)]
    quick = request(f"http://localhost:{server.port}/gen/1.xml")
    started = time.monotonic()
    seen: dict[int, float] = {}
    fetch_all(
        [*busy, quick], concurrency=2, after=lambda i, _: seen.setdefault(i, time.monotonic())
    )
    assert seen[4] - started < 0.3  # not after the busy host's 1.2 s queue


def test_304s_reuse_keep_alive_connections(server: FeedServer) -> None:
    first = fetch_all([request(server.url(f"gen/{n}.xml")) for n in range(12)])
    connections = server.connections
    again = [
        request(server.url(f"gen/{n}.xml"), etag=r.etag, per_host=2) for n, r in enumerate(first)
    ]
    results = fetch_all(again)
    assert all(r.not_modified and r.body == b"" for r in results)
    assert server.connections - connections <= 2


@pytest.mark.parametrize(
    ("path", "no_proxy"),
    [("slow", None), ("slow-headers", None), ("slow-headers", "example.com")],
    ids=["body", "headers", "headers-with-NO_PROXY"],  # NO_PROXY alone names no proxy
)
def test_slow_loris_is_cut_at_the_whole_exchange_timeout(
    server: FeedServer, path: str, no_proxy: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if no_proxy:
        monkeypatch.setenv("NO_PROXY", no_proxy)
    started = time.monotonic()
    (result,) = fetch_all([request(server.url(path), timeout=1.0)])
    assert result.error == "timed out"
    assert time.monotonic() - started < 1.8


def test_environment_proxies_are_used(server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url(""))
    (result,) = fetch_all([request("http://feeds.invalid/gen/3.xml")])  # resolvable by no DNS
    assert result.status == 200 and result.body == generated_feed(3)
    assert server.proxied == 1


@pytest.mark.parametrize(
    "path",
    [
        "gen/2.xml",
        "feeds/rss2-cdata.xml",
        "feeds/jsonfeed11.json",
        "redirect/301/feeds/rss091.xml",
        "redirect/302/redirect/308/feeds/atom03.xml",
        "loop/a",
        "status/404",
        "status/410",
        "status/503",
        "huge",
        "huge-declared",
        "nothing-here",
    ],
)
def test_transport_answers_exactly_as_httpx_client(server: FeedServer, path: str) -> None:
    """Our transport (the fast path) against httpx.Client (the reference), one URL at a time."""
    base = request(server.url(path), max_bytes=1_000_000)
    transport, close_transport = fetch._session(2, client=False)
    client, close_client = fetch._session(2, client=True)
    try:
        fast = fetch._fetch_one(transport, base)
        reference = fetch._fetch_one(client, base)
        assert fast == reference
        if fast.etag:  # and the conditional GET that follows
            again = dataclasses.replace(base, etag=fast.etag, last_modified=fast.last_modified)
            assert fetch._fetch_one(transport, again) == fetch._fetch_one(client, again)
    finally:
        close_transport()
        close_client()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.mark.parametrize("rogue", [False, True], ids=["trusted", "self-signed"])
def test_https_trusts_what_httpx_trusts(
    certs: CertFiles, rogue: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TLS context is made late (at the first https connection) but as httpx makes it."""
    server = FeedServer(generate=2, tls=certs.context(rogue=rogue)).start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))  # httpx honours it: so must we
        feeds = [request(server.url("gen/1.xml")), request(server.url("redirect/301/gen/0.xml"))]
        results = fetch_all(feeds)
        if rogue:
            assert all((r.error or "").startswith("TLS error") for r in results)
        else:
            assert [r.body for r in results] == [generated_feed(1), generated_feed(0)]
        transport, close_transport = fetch._session(1, client=False)
        client, close_client = fetch._session(1, client=True)
        try:
            assert fetch._fetch_one(transport, feeds[0]) == fetch._fetch_one(client, feeds[0])
        finally:
            close_transport()
            close_client()
        monkeypatch.delenv("SSL_CERT_FILE")
        (untrusted,) = fetch_all(feeds[:1])
        assert (untrusted.error or "").startswith("TLS error")
    finally:
        server.stop()
