"""POST /webhooks/<provider>: verified provider events become suppressions and counts.

Secrets come from the environment only: SYNDICATOR_WEBHOOK_SECRET (Postmark),
SYNDICATOR_SENDGRID_WEBHOOK_KEY, SYNDICATOR_MAILGUN_SIGNING_KEY,
SYNDICATOR_RESEND_WEBHOOK_SECRET; SES needs none (SYNDICATOR_SES_TOPIC_ARNS narrows topics).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from syndicator.config import Settings
from syndicator.errors import SyndicatorError
from syndicator.metrics import count_webhook_events
from syndicator.store import Store
from syndicator.web.webhooks.auth import WebhookRejected
from syndicator.web.webhooks.events import SOFT_BOUNCE_LIMIT, Event, apply_events
from syndicator.web.webhooks.mailgun import MailgunWebhook
from syndicator.web.webhooks.postmark import PostmarkWebhook
from syndicator.web.webhooks.resend import ResendWebhook
from syndicator.web.webhooks.sendgrid import SendGridWebhook
from syndicator.web.webhooks.ses import SesWebhook
from syndicator.web.webhooks.sns import SnsVerifier

__all__ = ["ENV_VARS", "Provider", "providers_from_env", "webhook_routes"]

log = logging.getLogger(__name__)

ENV_VARS = {
    "SYNDICATOR_WEBHOOK_SECRET": "Postmark: Basic-auth password (or X-Syndicator-Webhook-Secret)",
    "SYNDICATOR_SENDGRID_WEBHOOK_KEY": "SendGrid: the signed Event Webhook's public key",
    "SYNDICATOR_MAILGUN_SIGNING_KEY": "Mailgun: the HTTP webhook signing key",
    "SYNDICATOR_RESEND_WEBHOOK_SECRET": "Resend: the webhook signing secret (whsec_...)",
    "SYNDICATOR_SES_TOPIC_ARNS": "SES: comma-separated SNS topic ARNs to accept (default: any)",
    "SYNDICATOR_SOFT_BOUNCE_LIMIT": "soft bounces in a row before an address is suppressed (3)",
}
MAX_BODY = 5 * 1024 * 1024
KEEP_EVENTS = timedelta(days=7)  # longer than any provider retries
_TEST_SNS_ORIGIN = "SYNDICATOR_TEST_SNS_ORIGIN"  # tests only: serve SNS certificates locally


class Provider(Protocol):
    name: str

    def parse(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[Event]:
        """Verify the request and read its events; raise WebhookRejected otherwise."""
        ...


def providers_from_env(
    store: Store, env: Mapping[str, str], http_client: httpx.Client
) -> dict[str, Provider]:
    """The providers whose secrets are set (SES always: SNS signs with AWS's certificates)."""
    found: dict[str, Provider] = {}
    if env.get("SYNDICATOR_WEBHOOK_SECRET"):
        found["postmark"] = PostmarkWebhook(env["SYNDICATOR_WEBHOOK_SECRET"])
    if env.get("SYNDICATOR_SENDGRID_WEBHOOK_KEY"):
        found["sendgrid"] = SendGridWebhook(env["SYNDICATOR_SENDGRID_WEBHOOK_KEY"])
    if env.get("SYNDICATOR_MAILGUN_SIGNING_KEY"):
        found["mailgun"] = MailgunWebhook(env["SYNDICATOR_MAILGUN_SIGNING_KEY"], store)
    if env.get("SYNDICATOR_RESEND_WEBHOOK_SECRET"):
        found["resend"] = ResendWebhook(env["SYNDICATOR_RESEND_WEBHOOK_SECRET"])
    topics = [t.strip() for t in env.get("SYNDICATOR_SES_TOPIC_ARNS", "").split(",") if t.strip()]
    if not topics:
        log.warning("ses webhook accepts any SNS topic; set SYNDICATOR_SES_TOPIC_ARNS")
    verifier = SnsVerifier(http_client, env.get(_TEST_SNS_ORIGIN, ""))
    found["ses"] = SesWebhook(verifier, topics)
    return found


def _soft_bounce_limit(env: Mapping[str, str]) -> int:
    raw = env.get("SYNDICATOR_SOFT_BOUNCE_LIMIT", "")
    try:
        return max(1, int(raw)) if raw else SOFT_BOUNCE_LIMIT
    except ValueError:
        log.warning("SYNDICATOR_SOFT_BOUNCE_LIMIT is not a number; using %d", SOFT_BOUNCE_LIMIT)
        return SOFT_BOUNCE_LIMIT


async def _body(request: Request) -> bytes | None:
    """The raw body, or None past MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def webhook_routes(
    settings: Settings,
    store: Store,
    *,
    env: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] | None = None,
    http_client: httpx.Client | None = None,
) -> list[BaseRoute]:
    """The POST /webhooks/{provider} route; a provider without its secret answers 404."""
    env = os.environ if env is None else env
    now_of = clock or (lambda: datetime.now(UTC))
    client = http_client or httpx.Client(timeout=10.0, follow_redirects=False)
    providers = providers_from_env(store, env, client)
    limit = _soft_bounce_limit(env)
    records = store
    pruned = {"at": datetime.min.replace(tzinfo=UTC)}
    log.info("webhooks enabled providers=%s", ",".join(sorted(providers)))

    def handle(provider: Provider, headers: Mapping[str, str], body: bytes) -> Response:
        now = now_of()
        try:
            events = provider.parse(headers, body, now)
        except WebhookRejected as exc:
            log.warning(
                "webhook rejected provider=%s status=%d reason=%s",
                provider.name,
                exc.status,
                exc.reason,
            )
            count_webhook_events(provider.name, "rejected")
            extra = {"www-authenticate": "Basic"} if exc.status == 401 else None
            return PlainTextResponse(exc.reason, status_code=exc.status, headers=extra)
        try:
            outcome = apply_events(store, provider.name, events, now, soft_bounce_limit=limit)
            if now - pruned["at"] > timedelta(hours=1):
                pruned["at"] = now
                records.prune_webhook_events(now - KEEP_EVENTS)
        except SyndicatorError as exc:
            log.error("webhook not applied provider=%s error=%s", provider.name, type(exc).__name__)
            return PlainTextResponse("try again later", status_code=503)
        for outcome_name, n in outcome.items():
            count_webhook_events(provider.name, outcome_name, n)
        log.info(
            "webhook accepted provider=%s events=%d %s",
            provider.name,
            len(events),
            " ".join(f"{k}={v}" for k, v in sorted(outcome.items())),
        )
        return JSONResponse({"events": len(events), **dict(outcome)})

    async def endpoint(request: Request) -> Response:
        provider = providers.get(request.path_params["provider"])
        if provider is None:
            return PlainTextResponse("no such webhook", status_code=404)
        body = await _body(request)
        if body is None:
            return PlainTextResponse("body too large", status_code=413)
        headers = {k.lower(): v for k, v in request.headers.items()}
        return await run_in_threadpool(handle, provider, headers, body)

    del settings  # the webhooks read nothing from the config file: secrets are env-only
    return [Route("/webhooks/{provider}", endpoint, methods=["POST"], name="webhook")]
