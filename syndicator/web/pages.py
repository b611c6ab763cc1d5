"""Double opt-in: the subscribe form (HTML and JSON) and the confirmation link."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syndicator.deliver import open_backend
from syndicator.model import SubscriberStatus, Subscription
from syndicator.render.confirm import render_confirmation
from syndicator.tokens import TokenError
from syndicator.web.context import NO_STORE, WebContext
from syndicator.web.forms import HONEYPOT, SubscribeForm, parse_subscribe
from syndicator.web.security import CsrfGuard
from syndicator.web.words import words

__all__ = ["CONFIRM_DAYS", "subscription_routes"]

log = logging.getLogger(__name__)

CONFIRM_DAYS = 7  # a confirmation link works this long
FORM_MAX_AGE = 86_400  # seconds a subscribe form (its CSRF pair) stays valid
MAX_JSON = 16_384  # bytes of a JSON subscribe request


def _all_topics(ctx: WebContext) -> list[str]:
    found = ctx.store.topics()
    return sorted(found["categories"] | found["tags"], key=str.casefold)


def _newsletter_choices(ctx: WebContext) -> list[dict[str, str]]:
    return [
        {"name": n.name, "title": n.title, "description": n.description}
        for n in ctx.settings.newsletters
    ]


def _register(ctx: WebContext, form: SubscribeForm, lang: str) -> None:
    """Record a pending subscriber and send the confirmation email; runs after the answer is
    sent, so known, unknown and suppressed addresses all look alike from outside."""
    store, now = ctx.store, ctx.now()
    if store.is_suppressed(form.email):
        log.info("subscribe skipped reason=suppressed")
        return
    subscriber = store.get_subscriber(form.email)
    if subscriber is not None and subscriber.status in (
        SubscriberStatus.BOUNCED,
        SubscriberStatus.COMPLAINED,
    ):
        log.info("subscribe skipped id=%d reason=%s", subscriber.id, subscriber.status.value)
        return
    if subscriber is None or subscriber.status is not SubscriberStatus.ACTIVE:
        subscriber = store.add_subscriber(
            form.email,
            name=form.name,
            newsletters=form.newsletters,
            status=SubscriberStatus.PENDING,
            language=form.language or lang,
            now=now,
        )
        store.set_subscriptions(
            subscriber.id, [Subscription(name, form.topics) for name in form.newsletters]
        )
    # An active subscriber gets the same email; its confirm page links to their preferences.
    message = render_confirmation(ctx.settings, subscriber, ctx.signer)
    backend = open_backend(ctx.settings.mail)
    try:
        receipt = backend.send_batch([message])[0]
    finally:
        backend.close()
    if receipt.ok:
        log.info("confirmation sent id=%d delivery=%s", subscriber.id, message.delivery_id)
    else:
        log.warning("confirmation failed id=%d error=%s", subscriber.id, receipt.error)


def _guarded_register(ctx: WebContext, form: SubscribeForm, lang: str) -> None:
    try:
        _register(ctx, form, lang)
    except Exception:  # the visitor has their answer already; the log keeps the failure
        log.exception("confirmation could not be sent")


def _cors_headers(ctx: WebContext, request: Request) -> dict[str, str]:
    origin = request.headers.get("origin", "")
    if not ctx.csrf.origin_allowed(origin, ctx.own_origin(request)):
        return {"vary": "Origin"}
    return {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": "Content-Type",
        "access-control-max-age": "600",
        "vary": "Origin",
    }


async def _read_json(request: Request) -> Any:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_JSON:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON:
            return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def subscription_routes(ctx: WebContext) -> list[BaseRoute]:
    """/subscribe (GET form, POST form or JSON, OPTIONS preflight) and /confirm/<token>."""

    def form_page(
        lang: str,
        *,
        status: int = 200,
        form: SubscribeForm | None = None,
        errors: tuple[str, ...] = (),
        topics: list[str],
    ) -> Response:
        cookie, field = ctx.csrf.new_pair()
        response = ctx.page(
            "subscribe",
            lang,
            status=status,
            headers=NO_STORE,
            form=form,
            errors=errors,
            csrf=field,
            honeypot=HONEYPOT,
            newsletters=_newsletter_choices(ctx),
            topics=topics,
        )
        response.set_cookie(
            CsrfGuard.COOKIE,
            cookie,
            max_age=FORM_MAX_AGE,
            path=ctx.url("/subscribe"),
            secure=ctx.secure,
            httponly=True,
            samesite="strict",
        )
        return response

    async def subscribe(request: Request) -> Response:
        lang = ctx.language(request)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=_cors_headers(ctx, request))
        topics = await run_in_threadpool(_all_topics, ctx)
        if request.method in ("GET", "HEAD"):
            return form_page(lang, topics=topics)
        as_json = request.headers.get("content-type", "").startswith("application/json")
        origin = request.headers.get("origin")
        if as_json:
            cors = _cors_headers(ctx, request)
            # Only our pages and the site's may post; JSON from a page elsewhere needs a
            # preflight our CORS answer refuses, and a form cannot send application/json.
            if origin and not ctx.csrf.origin_allowed(origin, ctx.own_origin(request)):
                return JSONResponse({"ok": False, "error": "origin"}, 403, headers=cors)
            data = await _read_json(request)
            if not isinstance(data, dict):
                return JSONResponse({"ok": False, "error": "bad request"}, 400, headers=cors)
            lists = {k: data.get(k) or [] for k in ("newsletters", "topics")}
            lists = {k: v if isinstance(v, list) else [v] for k, v in lists.items()}
        else:
            async with request.form(max_files=0, max_fields=500) as submitted:
                data = dict(submitted)
                lists = {k: submitted.getlist(k) for k in ("newsletters", "topics")}
            genuine = ctx.csrf.check_pair(
                request.cookies.get(CsrfGuard.COOKIE), data.get(CsrfGuard.FIELD), FORM_MAX_AGE
            ) or ctx.csrf.origin_allowed(origin, ctx.own_origin(request))
            if not genuine:
                log.info("subscribe rejected reason=csrf")
                return form_page(lang, status=403, errors=("error_form_expired",), topics=topics)
        newsletters = [n.name for n in ctx.settings.newsletters]
        form = parse_subscribe(data, lists, newsletters, topics)
        lang = form.language or lang
        t = words(lang)
        client = request.client.host if request.client else "unknown"
        wait = ctx.ip_limiter.hit(client)
        if wait:
            log.info("subscribe rejected reason=rate-ip")
            retry = {"retry-after": str(int(wait) + 1)}
            if as_json:
                headers = {**retry, **_cors_headers(ctx, request)}
                return JSONResponse({"ok": False, "error": t["error_rate"]}, 429, headers=headers)
            return ctx.message(lang, t["error_title"], t["error_rate"], status=429, headers=retry)
        if form.errors:
            if as_json:
                error = " ".join(t[e] for e in form.errors)
                cors = _cors_headers(ctx, request)
                return JSONResponse({"ok": False, "error": error}, 400, headers=cors)
            return form_page(lang, status=400, form=form, errors=form.errors, topics=topics)
        task = None
        if form.honeypot:
            log.info("subscribe rejected reason=honeypot")
        elif ctx.address_limiter.hit(form.email.lower()):
            log.info("subscribe rejected reason=rate-address")
        else:
            task = BackgroundTask(_guarded_register, ctx, form, lang)
        body = t["sent_body"].format(site=ctx.site_title)
        if as_json:
            return JSONResponse(
                {"ok": True, "message": body},
                202,
                headers=_cors_headers(ctx, request),
                background=task,
            )
        response = ctx.message(lang, t["sent_title"], body, headers=NO_STORE)
        response.background = task
        return response

    async def confirm(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            subscriber_id = ctx.read_token(token, "confirm", max_age=CONFIRM_DAYS * 86_400)
        except TokenError as exc:
            log.info("confirm rejected expired=%s", exc.expired)
            return ctx.token_error_page(ctx.language(request), exc, CONFIRM_DAYS)
        subscriber = await run_in_threadpool(ctx.store.get_subscriber, subscriber_id)
        lang = ctx.language(request, subscriber)
        t = words(lang)
        if subscriber is None or subscriber.status not in (
            SubscriberStatus.PENDING,
            SubscriberStatus.ACTIVE,
        ):
            # Deleted, unsubscribed since, bounced: an old link must not revive the address.
            log.info("confirm rejected reason=state id=%d", subscriber_id)
            return ctx.token_error_page(lang, TokenError("stale"), CONFIRM_DAYS)
        body = t["already_confirmed_body"]
        if subscriber.status is SubscriberStatus.PENDING:
            await run_in_threadpool(
                ctx.store.set_status, subscriber.id, SubscriberStatus.ACTIVE, ctx.now()
            )
            body = t["confirmed_body"]
        preferences = ctx.url(f"/preferences/{ctx.signer.make('preferences', subscriber.id)}")
        return ctx.message(
            lang,
            t["confirmed_title"],
            body,
            links=((preferences, t["manage_preferences"]),),
            headers=NO_STORE,
        )

    return [
        Route("/subscribe", subscribe, methods=["GET", "POST", "OPTIONS"], name="subscribe"),
        Route("/confirm/{token}", confirm, methods=["GET"], name="confirm"),
    ]
