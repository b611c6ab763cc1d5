"""The web app `serve` runs: health check and feed files (subscription pages come with issue 5)."""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from syndicator.config import Settings
from syndicator.store import Store

__all__ = ["build_app", "feed_media_type"]


def feed_media_type(name: str) -> str:
    """The registered media type for a feed file, by jekyll-feed's naming."""
    if name.endswith(".rss.xml") or name == "rss.xml":
        return "application/rss+xml; charset=utf-8"
    if name.endswith(".xml"):
        return "application/atom+xml; charset=utf-8"
    if name.endswith(".json"):
        return "application/feed+json; charset=utf-8"
    return "application/octet-stream"


class FeedFiles(StaticFiles):
    """Static feed files with feed media types; ETag, Last-Modified and 304 from Starlette."""

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["content-type"] = feed_media_type(os.path.basename(str(full_path)))
        response.headers["cache-control"] = "public, max-age=300"
        return response


def build_app(settings: Settings, store: Store) -> Starlette:
    async def healthz(request: Request) -> Response:
        if store.ping():
            return PlainTextResponse("ok")
        return PlainTextResponse("database unreachable", status_code=503)

    settings.feeds.dir.mkdir(parents=True, exist_ok=True)
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Mount("/feeds", app=FeedFiles(directory=settings.feeds.dir), name="feeds"),
        ],
        middleware=[Middleware(GZipMiddleware, minimum_size=500)],
    )
