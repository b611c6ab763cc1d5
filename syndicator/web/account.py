"""A subscriber's own pages, reached by signed links: unsubscribe, preferences, export, delete."""

from __future__ import annotations

import csv
import io
import json
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from syndicator.model import Subscriber, SubscriberStatus
from syndicator.tokens import TokenError
from syndicator.web.context import NO_STORE, WebContext, mask_email
from syndicator.web.forms import FREQUENCIES, parse_preferences
from syndicator.web.security import CsrfGuard
from syndicator.web.words import LANGUAGES, words

__all__ = ["account_routes", "subscriber_data"]

log = logging.getLogger(__name__)

EXPORT_COLUMNS = (
    "email",
    "name",
    "status",
    "language",
    "created_at",
    "confirmed_at",
    "newsletter",
    "topics",
    "frequency",
)
ONE_CLICK = ("List-Unsubscribe", "One-Click")  # RFC 8058 section 3.1: the POST body


def subscriber_data(subscriber: Subscriber) -> dict[str, Any]:
    """Everything we keep about one subscriber, for the data export."""
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "status": subscriber.status.value,
        "language": subscriber.language,
        "created_at": subscriber.created.isoformat(),
        "confirmed_at": subscriber.confirmed.isoformat() if subscriber.confirmed else None,
        "subscriptions": [
            {"newsletter": s.newsletter, "topics": list(s.topics), "frequency": s.frequency}
            for s in subscriber.subscriptions
        ],
    }


def _csv_export(subscriber: Subscriber) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    data = subscriber_data(subscriber)
    head = [data[k] or "" for k in ("email", "name", "status", "language")]
    head += [data["created_at"], data["confirmed_at"] or ""]
    for sub in data["subscriptions"] or [{"newsletter": "", "topics": [], "frequency": ""}]:
        writer.writerow([*head, sub["newsletter"], " ".join(sub["topics"]), sub["frequency"]])
    return out.getvalue()


async def _form(request: Request) -> FormData:
    async with request.form(max_files=0, max_fields=2000) as form:
        return form


def account_routes(ctx: WebContext) -> list[BaseRoute]:
    """/unsubscribe/<token> and /preferences/<token> with its export and delete actions."""

    async def load(
        request: Request, purpose: str
    ) -> tuple[str, Subscriber | None, Response | None]:
        """The token, its subscriber (None once deleted), or the error page to answer with."""
        token: str = request.path_params["token"]
        try:
            subscriber_id = ctx.read_token(token, purpose)
        except TokenError as exc:
            log.info("%s rejected expired=%s", purpose, exc.expired)
            return token, None, ctx.token_error_page(ctx.language(request), exc, 0)
        subscriber = await run_in_threadpool(ctx.store.get_subscriber, subscriber_id)
        return token, subscriber, None

    def unsubscribed_page(lang: str) -> Response:
        t = words(lang)
        return ctx.message(
            lang,
            t["unsubscribed_title"],
            t["unsubscribed_body"].format(site=ctx.site_title),
            links=((ctx.url("/subscribe"), t["subscribe_again"]),),
            headers=NO_STORE,
        )

    def forbidden(lang: str) -> Response:
        t = words(lang)
        return ctx.message(
            lang, t["forbidden_title"], t["forbidden_body"], status=403, headers=NO_STORE
        )

    async def unsubscribe(request: Request) -> Response:
        token, subscriber, error = await load(request, "unsubscribe")
        if error is not None:
            return error
        lang = ctx.language(request, subscriber)
        if request.method in ("GET", "HEAD"):  # never changes anything: link scanners fetch GETs
            if subscriber is None or subscriber.status not in (
                SubscriberStatus.ACTIVE,
                SubscriberStatus.PENDING,
            ):
                return unsubscribed_page(lang)
            t = words(lang)
            return ctx.page(
                "unsubscribe",
                lang,
                headers=NO_STORE,
                body=t["unsubscribe_body"].format(
                    site=ctx.site_title, email=mask_email(subscriber.email)
                ),
                csrf=ctx.csrf.page_field(token),
            )
        form = await _form(request)
        one_click = form.get(ONE_CLICK[0]) == ONE_CLICK[1]
        # RFC 8058 one-click comes with no cookie and no CSRF field: the signed token in the
        # URL is the proof. Any other POST must come from our own page's button.
        if not one_click and not ctx.csrf.check_page_field(token, _field(form)):
            log.info("unsubscribe rejected reason=csrf")
            return forbidden(lang)
        if subscriber is not None and subscriber.status in (
            SubscriberStatus.ACTIVE,
            SubscriberStatus.PENDING,
        ):
            await run_in_threadpool(
                ctx.store.set_status, subscriber.id, SubscriberStatus.UNSUBSCRIBED, ctx.now()
            )
            log.info("unsubscribed id=%d one_click=%s", subscriber.id, one_click)
        return unsubscribed_page(lang)

    def preferences_page(
        token: str, subscriber: Subscriber, lang: str, topics: list[str], saved: bool
    ) -> Response:
        t = words(lang)
        chosen = {s.newsletter: s for s in subscriber.subscriptions}
        picked = sorted({topic for s in subscriber.subscriptions for topic in s.topics})
        newsletters = [
            {
                "name": n.name,
                "title": n.title,
                "description": n.description,
                "checked": n.name in chosen,
                "frequency": chosen[n.name].frequency if n.name in chosen else "every",
            }
            for n in ctx.settings.newsletters
        ]
        return ctx.page(
            "preferences",
            lang,
            headers=NO_STORE,
            intro=t["preferences_intro"].format(
                site=ctx.site_title, email=mask_email(subscriber.email)
            ),
            saved=saved,
            unsubscribed=subscriber.status is not SubscriberStatus.ACTIVE,
            newsletters=newsletters,
            frequencies=FREQUENCIES,
            topics=topics,
            picked=picked,
            languages_for_mail=LANGUAGES,
            mail_language=subscriber.language or lang,
            csrf=ctx.csrf.page_field(token),
            action=ctx.url(f"/preferences/{token}"),
        )

    async def known_topics(subscriber: Subscriber) -> list[str]:
        found = await run_in_threadpool(ctx.store.topics)
        mine = {topic for s in subscriber.subscriptions for topic in s.topics}
        return sorted(found["categories"] | found["tags"] | mine, key=str.casefold)

    async def preferences(request: Request) -> Response:
        token, subscriber, error = await load(request, "preferences")
        if error is not None:
            return error
        if subscriber is None:
            return ctx.token_error_page(ctx.language(request), TokenError("gone"), 0)
        lang = ctx.language(request, subscriber)
        topics = await known_topics(subscriber)
        if request.method in ("GET", "HEAD"):
            saved = request.query_params.get("saved") == "1"
            return preferences_page(token, subscriber, lang, topics, saved)
        form = await _form(request)
        if not ctx.csrf.check_page_field(token, _field(form)):
            log.info("preferences rejected reason=csrf")
            return forbidden(lang)
        configured = [n.name for n in ctx.settings.newsletters]
        lists = {k: form.getlist(k) for k in ("newsletters", "topics")}
        choice = parse_preferences(dict(form), lists, configured, topics)
        # Subscriptions to newsletters no longer configured are kept as they are.
        kept = [s for s in subscriber.subscriptions if s.newsletter not in configured]
        await run_in_threadpool(
            ctx.store.set_subscriptions, subscriber.id, [*choice.subscriptions, *kept]
        )
        if choice.language:
            await run_in_threadpool(ctx.store.set_language, subscriber.id, choice.language)
        log.info("preferences saved id=%d newsletters=%d", subscriber.id, len(choice.subscriptions))
        query = f"?saved=1&lang={choice.language}" if choice.language else "?saved=1"
        return RedirectResponse(ctx.url(f"/preferences/{token}{query}"), status_code=303)

    async def export(request: Request) -> Response:
        token, subscriber, error = await load(request, "preferences")
        if error is not None:
            return error
        lang = ctx.language(request, subscriber)
        form = await _form(request)
        if not ctx.csrf.check_page_field(token, _field(form)):
            return forbidden(lang)
        if subscriber is None:
            return ctx.token_error_page(lang, TokenError("gone"), 0)
        log.info("data exported id=%d", subscriber.id)
        headers = {**NO_STORE}
        if form.get("format") == "csv":
            headers["content-disposition"] = 'attachment; filename="subscriber-data.csv"'
            return Response(_csv_export(subscriber), media_type="text/csv", headers=headers)
        headers["content-disposition"] = 'attachment; filename="subscriber-data.json"'
        body = json.dumps(subscriber_data(subscriber), ensure_ascii=False, indent=2)
        return Response(body + "\n", media_type="application/json", headers=headers)

    async def delete(request: Request) -> Response:
        token, subscriber, error = await load(request, "preferences")
        if error is not None:
            return error
        lang = ctx.language(request, subscriber)
        t = words(lang)
        form = await _form(request)
        if not ctx.csrf.check_page_field(token, _field(form)):
            return forbidden(lang)
        if subscriber is not None:
            if form.get("confirm") != "yes":
                return ctx.message(
                    lang,
                    t["data_title"],
                    t["delete_needs_confirm"],
                    status=400,
                    links=((ctx.url(f"/preferences/{token}"), t["manage_preferences"]),),
                    headers=NO_STORE,
                )
            await run_in_threadpool(ctx.store.remove_subscriber, subscriber.email)
            log.info("subscriber deleted on request id=%d", subscriber.id)
        return ctx.message(
            lang,
            t["deleted_title"],
            t["deleted_body"],
            links=((ctx.url("/subscribe"), t["subscribe_again"]),),
            headers=NO_STORE,
        )

    return [
        Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"], name="unsubscribe"),
        Route("/preferences/{token}", preferences, methods=["GET", "POST"], name="preferences"),
        Route("/preferences/{token}/export", export, methods=["POST"], name="export"),
        Route("/preferences/{token}/delete", delete, methods=["POST"], name="delete"),
    ]


def _field(form: FormData) -> str | None:
    value = form.get(CsrfGuard.FIELD)
    return value if isinstance(value, str) else None
