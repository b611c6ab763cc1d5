"""Archive pages, the editions' Atom feed, feed files, health, headers and the access log."""

from __future__ import annotations

import gzip
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from defusedxml import ElementTree

from syndicator.store import Store
from syndicator.web import build_app
from tests.web.conftest import LiveApp, confirm_link, free_port, make_settings, sample_posts, serve

ATOM = "{http://www.w3.org/2005/Atom}"
CREATED = datetime(2026, 1, 19, 0, 0, tzinfo=UTC)
EDITION_HTML = (
    '<!DOCTYPE html><html lang="en"><head><style>p{color:#111}</style></head>'
    "<body><p>Edition one</p></body></html>"
)


def _edition(live_app: LiveApp) -> None:
    posts = sample_posts()
    edition = live_app.store.create_edition(
        "weekly", "Weekly notes: 2 posts", [p.id for p in posts], EDITION_HTML, CREATED, []
    )
    assert edition is not None and edition.number == 1


def test_archive_index_newsletter_page_and_edition(live_app: LiveApp) -> None:
    _edition(live_app)
    index = live_app.client.get(live_app.url("/archive/"))
    assert index.status_code == 200
    assert 'href="/archive/weekly/1"' in index.text and "Weekly notes: 2 posts" in index.text
    assert "No editions yet." in index.text  # the daily newsletter has none
    listing = live_app.client.get(live_app.url("/archive/weekly/"))
    assert listing.status_code == 200 and 'href="/archive/weekly/feed.xml"' in listing.text
    page = live_app.client.get(live_app.url("/archive/weekly/1"))
    assert page.status_code == 200 and page.text == EDITION_HTML
    policy = page.headers["content-security-policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/archive/weekly/2", id="no-such-edition"),
        pytest.param("/archive/monthly/1", id="no-such-newsletter"),
        pytest.param("/nothing-here", id="no-such-page"),
    ],
)
def test_missing_pages_are_friendly_404s(live_app: LiveApp, path: str) -> None:
    _edition(live_app)
    answer = live_app.client.get(live_app.url(path))
    assert answer.status_code == 404
    assert "Page not found" in answer.text and '<html lang="en">' in answer.text


def test_editions_atom_feed_with_etag(live_app: LiveApp) -> None:
    _edition(live_app)
    url = live_app.url("/archive/weekly/feed.xml")
    feed = live_app.client.get(url)
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "application/atom+xml; charset=utf-8"
    root = ElementTree.fromstring(feed.content)
    assert root.find(f"{ATOM}id").text == f"{live_app.base_url}/archive/weekly/"
    [entry] = root.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}id").text == f"{live_app.base_url}/archive/weekly/1"
    assert entry.find(f"{ATOM}updated").text == "2026-01-19T00:00:00+00:00"
    assert "First light" in entry.find(f"{ATOM}summary").text
    again = live_app.client.get(url, headers={"if-none-match": feed.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_feed_files_types_validators_304_and_gzip(live_app: LiveApp) -> None:
    folder: Path = live_app.settings.feeds.dir
    (folder / "feed").mkdir(parents=True, exist_ok=True)
    atom = (
        b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        + b" " * 2000
        + b"</feed>"
    )
    files = {
        "feed.xml": ("application/atom+xml", atom),
        "rss.xml": ("application/rss+xml", b"<rss/>"),
        "feed.json": ("application/feed+json", b"{}"),
        "feed/news.rss.xml": ("application/rss+xml", b"<rss/>"),
    }
    for name, (kind, body) in files.items():
        (folder / name).write_bytes(body)
        answer = live_app.client.get(live_app.url(f"/feeds/{name}"))
        assert answer.status_code == 200
        assert answer.headers["content-type"] == f"{kind}; charset=utf-8"
        assert answer.content == body
    first = live_app.client.get(live_app.url("/feeds/feed.xml"))
    assert first.headers["last-modified"] and first.headers["etag"]
    by_etag = live_app.client.get(
        live_app.url("/feeds/feed.xml"), headers={"if-none-match": first.headers["etag"]}
    )
    assert by_etag.status_code == 304
    by_date = live_app.client.get(
        live_app.url("/feeds/feed.xml"),
        headers={"if-modified-since": first.headers["last-modified"]},
    )
    assert by_date.status_code == 304
    with httpx.stream(
        "GET", live_app.url("/feeds/feed.xml"), headers={"accept-encoding": "gzip"}
    ) as raw:
        assert raw.headers["content-encoding"] == "gzip"
        assert gzip.decompress(b"".join(raw.iter_raw())) == atom
    assert live_app.client.get(live_app.url("/feeds/../syndicator.toml")).status_code == 404


def test_pages_with_secrets_are_never_compressed(live_app: LiveApp) -> None:
    """BREACH: a CSRF token next to reflected input must not be compressed."""
    answer = live_app.client.get(live_app.url("/subscribe"), headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in answer.headers


def test_healthz_and_security_headers(live_app: LiveApp) -> None:
    answer = live_app.client.get(live_app.url("/healthz"))
    assert answer.status_code == 200 and answer.text == "ok"
    page = live_app.client.get(live_app.url("/subscribe"))
    policy = page.headers["content-security-policy"]
    assert "script" not in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in page.headers  # plain http base_url
    assert "<script" not in page.text and " style=" not in page.text
    css = live_app.client.get(live_app.url("/assets/site.css"))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_hsts_when_base_url_is_https(tmp_path: Path, store: Store) -> None:
    settings = make_settings(tmp_path, "sqlite://", "https://news.example.com")
    port = free_port()
    with serve(build_app(settings, store), port):
        answer = httpx.get(f"http://127.0.0.1:{port}/subscribe")
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert "Secure" in answer.headers["set-cookie"]


def test_access_log_has_no_tokens_or_addresses(
    live_app: LiveApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    answer = live_app.subscribe("private.person@example.com", newsletters=["weekly"])
    assert answer.status_code == 200
    [message] = live_app.wait_for_mail()
    link = confirm_link(message)
    token = link.rsplit("/", 1)[1]
    live_app.client.get(link + "?lang=en&email=private.person@example.com")
    expected = "request method=GET path=/confirm/<token> status=200"
    deadline = time.monotonic() + 5  # the server thread logs just after it answered
    while True:
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("syndicator")]
        access = [line for line in lines if line.startswith("request ")]
        if expected in "\n".join(access) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert expected in "\n".join(access)
    assert any(line.startswith("request method=POST path=/subscribe status=200") for line in access)
    for line in lines:
        assert "private.person" not in line and token not in line
        assert live_app.settings.secret_keys[0] not in line
