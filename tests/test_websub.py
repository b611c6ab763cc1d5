"""WebSub publish pings go to a real hub on loopback, only for feeds that changed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from syndicator.cli import main
from tests.test_cli import make_project


class Hub:
    def __init__(self) -> None:
        self.pings: list[list[tuple[str, str]]] = []
        self.status = 204
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["content-length"])
                hub.pings.append(parse_qsl(self.rfile.read(length).decode()))
                self.send_response(hub.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hub() -> Iterator[Hub]:
    running = Hub()
    yield running
    running.server.shutdown()


def test_hub_is_pinged_for_changed_feeds_only(tmp_path: Path, hub: Hub) -> None:
    config = make_project(tmp_path, f'[feeds]\nhub = "{hub.url}"\ntags = false\n')
    assert main(["feeds", "--config", str(config)]) == 0
    [first] = hub.pings
    assert ("hub.mode", "publish") in first
    urls = {value for key, value in first if key == "hub.url"}
    assert "https://blog.example.com/feed.xml" in urls
    assert "https://blog.example.com/feed/News.json" in urls
    assert main(["feeds", "--config", str(config)]) == 0
    assert len(hub.pings) == 1  # nothing changed, nobody told
    assert f'<link href="{hub.url}" rel="hub"/>' in (tmp_path / "public" / "feed.xml").read_text()


def test_hub_down_is_a_warning_not_a_failure(
    tmp_path: Path, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub.status = 503
    config = make_project(tmp_path, f'[feeds]\nhub = "{hub.url}"\n')
    assert main(["feeds", "--config", str(config)]) == 0
    assert "answered status=503" in caplog.text
