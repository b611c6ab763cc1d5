"""Assembles the web app: pages, archive, feeds, webhooks, metrics, and the middleware around."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from syndicator.config import Settings
from syndicator.store import Store
from syndicator.tokens import TokenSigner
from syndicator.web.account import account_routes
from syndicator.web.archive import archive_routes
from syndicator.web.context import WebContext
from syndicator.web.metrics import metrics_routes
from syndicator.web.pages import subscription_routes
from syndicator.web.ratelimit import SubscribeLimits
from syndicator.web.security import AccessLog, CsrfGuard, SecurityHeaders, origin_of
from syndicator.web.webhooks import webhook_routes
from syndicator.web.words import words

__all__ = ["build_app", "feed_media_type"]

log = logging.getLogger(__name__)


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


def _stylesheet_route() -> Route:
    css = resources.files("syndicator").joinpath("templates/web/site.css").read_bytes()
    etag = '"' + hashlib.sha256(css).hexdigest()[:16] + '"'

    async def stylesheet(request: Request) -> Response:
        headers = {"etag": etag, "cache-control": "public, max-age=86400"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(css, media_type="text/css; charset=utf-8", headers=headers)

    return Route("/assets/site.css", stylesheet, methods=["GET", "HEAD"])


def _error_handlers(ctx: WebContext) -> dict[Any, Callable[..., Any]]:
    async def not_found(request: Request, exc: Exception) -> Response:
        lang = ctx.language(request)
        t = words(lang)
        links = ((ctx.url("/subscribe"), t["home"]),)
        return ctx.message(lang, t["not_found_title"], t["not_found_body"], status=404, links=links)

    async def server_error(request: Request, exc: Exception) -> Response:
        # The traceback goes to the log (no request data in it); the visitor gets a plain page.
        log.error("request failed path=%s error=%s", request.url.path.split("/")[1:2], type(exc))
        lang = ctx.language(request)
        t = words(lang)
        return ctx.message(lang, t["error_title"], t["error_body"], status=500)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return await not_found(request, exc)
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)

    return {HTTPException: http_error, 500: server_error}


def build_app(
    settings: Settings,
    store: Store,
    *,
    limits: SubscribeLimits | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """The web app ``serve`` runs; ``limits`` and ``clock`` (for rate limits) are for tests."""
    allowed = {origin_of(settings.site.url), origin_of(settings.web.base_url)}
    ctx = WebContext(
        settings=settings,
        store=store,
        signer=TokenSigner(settings.secret_keys),
        csrf=CsrfGuard(settings.secret_keys, allowed),
        limits=limits or SubscribeLimits(),
        clock=clock,
    )

    async def healthz(request: Request) -> Response:
        if await run_in_threadpool(store.ping):
            return PlainTextResponse("ok", headers={"cache-control": "no-store"})
        return PlainTextResponse("database unreachable", status_code=503)

    async def home(request: Request) -> Response:
        return Response(status_code=303, headers={"location": ctx.url("/subscribe")})

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204, headers={"cache-control": "public, max-age=86400"})

    settings.feeds.dir.mkdir(parents=True, exist_ok=True)
    # Compression only where no secret shares a response with reflected input (BREACH).
    gzip = [Middleware(GZipMiddleware, minimum_size=500)]
    routes: list[BaseRoute] = [
        Route("/", home, methods=["GET", "HEAD"]),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/favicon.ico", no_icon, methods=["GET", "HEAD"]),
        _stylesheet_route(),
        *subscription_routes(ctx),
        *account_routes(ctx),
        *archive_routes(ctx),
        Mount("/feeds", app=FeedFiles(directory=settings.feeds.dir), name="feeds", middleware=gzip),
        *webhook_routes(settings, store),
        *metrics_routes(store, [n.name for n in settings.newsletters]),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(AccessLog),
            Middleware(SecurityHeaders, hsts=settings.web.base_url.startswith("https://")),
        ],
        exception_handlers=_error_handlers(ctx),
    )
