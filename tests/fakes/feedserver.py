"""A real loopback HTTP server for feed-fetching tests and the aggregate benchmark.

Serves tests/data/remote_feeds/ under /feeds/<file>, generated feeds under /gen/<n>.xml, and
misbehaviour: /redirect/<code>/<path>, /loop/<a|b>, /status/<code>, /slow (slow-loris body),
/slow-headers (slow-loris headers), /delay/<ms>/<path> (a slow server), /huge (endless body),
/huge-declared (50 MB Content-Length). Answers conditional GETs with 304, gzips when asked,
counts requests per path, connections, and requests in flight per Host (the most at once).
Also acts as an HTTP proxy for itself: an absolute URL as request target is served as its
path (and counted in ``proxied``).

    python -m tests.fakes.feedserver --port 8765 --generate 500
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import ssl
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "data" / "remote_feeds"
LAST_MODIFIED = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
_TYPES = {".xml": "application/xml", ".json": "application/feed+json", ".html": "text/html"}


def generated_feed(number: int, entries: int = 20) -> bytes:
    """A deterministic RSS 2.0 feed shaped like a real blog's (HTML bodies of ~1.5 KB)."""
    items = []
    start = datetime(2025, 6, 1, tzinfo=UTC)
    for i in range(entries):
        when = format_datetime(start + timedelta(days=number % 30, hours=i))
        paragraph = (
            f"Entry {i} of blog {number}: notes on build systems, caching and the odd "
            f'<a href="/tags/t{i % 7}/">tag {i % 7}</a> &amp; <em>emphasis</em>. '
        )
        body = "".join(f"<p>{paragraph * 3}</p>" for _ in range(3))
        items.append(
            f"<item><title>Blog {number} post {i} &amp; more</title>"
            f"<link>https://blog{number}.example.com/posts/{i}/</link>"
            f"<guid>https://blog{number}.example.com/posts/{i}/</guid>"
            f"<pubDate>{when}</pubDate><category>cat{i % 5}</category>"
            f'<description><![CDATA[{body}<img src="/img/{i}.png" alt="">]]></description>'
            f"</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Blog {number}</title><link>https://blog{number}.example.com/</link>"
        f"<description>generated</description>{''.join(items)}</channel></rss>"
    ).encode()


class FeedServer:
    """The server plus what tests inspect: request counts and the last request's headers."""

    def __init__(self, port: int = 0, generate: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.counts: Counter[str] = Counter()
        self.connections = 0
        self.proxied = 0
        self.in_flight: Counter[str] = Counter()  # by Host header, without the port
        self.most_in_flight: Counter[str] = Counter()
        self.headers: dict[str, dict[str, str]] = {}
        self.overrides: dict[str, tuple[bytes, str]] = {}
        self.generated = {n: generated_feed(n) for n in range(generate)}
        self.lock = threading.Lock()
        self._encoded: dict[str, tuple[str, bytes]] = {}
        handler = type("Handler", (_Handler,), {"feeds": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.scheme = "https" if tls else "http"
        if tls:  # handshakes happen in accept(), on the serving thread: fine for tests
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def start(self) -> FeedServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def encoded(self, body: bytes) -> tuple[str, bytes]:
        """The body's ETag and gzipped bytes, computed once per distinct body."""
        key = hashlib.sha256(body).hexdigest()
        found = self._encoded.get(key)
        if found is None:
            found = ('"' + key[:20] + '"', gzip.compress(body, compresslevel=5, mtime=0))
            with self.lock:
                self._encoded[key] = found
        return found

    def serve(self, path: str, body: bytes, content_type: str = "application/xml") -> None:
        """Serve ``body`` at ``path`` instead of whatever was there (an edited feed)."""
        self.overrides["/" + path.lstrip("/")] = (body, content_type)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection serves many requests
    # TCP_NODELAY: headers and body go out as separate writes, and with Nagle's algorithm the
    # body waits for the client's delayed ACK (~40 ms per response on loopback).
    disable_nagle_algorithm = True
    feeds: FeedServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.feeds.lock:
            self.feeds.connections += 1

    def do_GET(self) -> None:
        target = self.path
        if target.startswith("http://"):  # a proxy request: serve it as if it were for us
            target = "/" + target.removeprefix("http://").partition("/")[2]
            with self.feeds.lock:
                self.feeds.proxied += 1
        path = target.split("?", 1)[0]
        host = (self.headers.get("Host") or "").rpartition(":")[0]
        with self.feeds.lock:
            self.feeds.counts[path] += 1
            self.feeds.headers[path] = {k.lower(): v for k, v in self.headers.items()}
            self.feeds.in_flight[host] += 1
            most = self.feeds.most_in_flight
            most[host] = max(most[host], self.feeds.in_flight[host])
        parts = path.strip("/").split("/")
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._route(path, parts)
        finally:
            with self.feeds.lock:
                self.feeds.in_flight[host] -= 1

    def _route(self, path: str, parts: list[str]) -> None:
        if path in self.feeds.overrides:
            body, kind = self.feeds.overrides[path]
            return self._document(body, kind)
        if parts[0] == "feeds" and len(parts) == 2 and (CORPUS / parts[1]).is_file():
            file = CORPUS / parts[1]
            return self._document(file.read_bytes(), _TYPES.get(file.suffix, "text/plain"))
        if parts[0] == "gen" and len(parts) == 2 and parts[1].removesuffix(".xml").isdigit():
            number = int(parts[1].removesuffix(".xml"))
            if number in self.feeds.generated:
                return self._document(self.feeds.generated[number], "application/rss+xml")
        if parts[0] == "redirect" and len(parts) >= 3 and parts[1].isdigit():
            return self._redirect(int(parts[1]), "/" + "/".join(parts[2:]))
        if parts[0] == "loop" and len(parts) == 2:
            return self._redirect(302, "/loop/b" if parts[1] == "a" else "/loop/a")
        if parts[0] == "status" and len(parts) == 2 and parts[1].isdigit():
            return self._empty(int(parts[1]))
        if parts[0] == "delay" and len(parts) >= 3 and parts[1].isdigit():
            time.sleep(int(parts[1]) / 1000)
            rest = "/" + "/".join(parts[2:])
            return self._route(rest, parts[2:])
        if path == "/slow":
            return self._slow()
        if path == "/slow-headers":
            return self._slow_headers()
        if path in ("/huge", "/huge-declared"):
            return self._huge(declared=path == "/huge-declared")
        return self._empty(404)

    def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _redirect(self, status: int, location: str) -> None:
        self._empty(status, {"Location": location})

    def _document(self, body: bytes, content_type: str) -> None:
        etag, gzipped = self.feeds.encoded(body)
        if self.headers.get("If-None-Match") == etag or self._not_modified_since():
            return self._empty(304, {"ETag": etag})
        headers = {"Content-Type": content_type, "ETag": etag}
        headers["Last-Modified"] = format_datetime(LAST_MODIFIED, usegmt=True)
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzipped
            headers["Content-Encoding"] = "gzip"
        self.send_response(200)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _not_modified_since(self) -> bool:
        since = self.headers.get("If-Modified-Since")
        if not since or self.headers.get("If-None-Match"):
            return False
        try:
            return parsedate_to_datetime(since) >= LAST_MODIFIED
        except (TypeError, ValueError):
            return False

    def _slow(self) -> None:
        """Slow-loris: headers at once, then one byte every 0.2 s for up to a minute."""
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        for _ in range(300):
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(0.2)

    def _slow_headers(self) -> None:
        """Slow-loris before the body: one byte of a header every 0.1 s for up to a minute."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(600):
            self.wfile.write(b"X")
            self.wfile.flush()
            time.sleep(0.1)

    def _huge(self, declared: bool) -> None:
        """A 50 MB body, with or without saying so up front."""
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        size = 50 * 1024 * 1024
        if declared:
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"<!-- padding -->" * 4096
        for _ in range(size // len(chunk)):
            data = chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk)
            self.wfile.write(data)
        if not declared:
            self.wfile.write(b"0\r\n\r\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--generate", type=int, default=0, help="serve /gen/0.xml … /gen/N-1.xml")
    args = parser.parse_args()
    server = FeedServer(args.port, args.generate)
    print(f"serving on http://127.0.0.1:{server.port}/", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


if __name__ == "__main__":
    main()
