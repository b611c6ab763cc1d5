"""What every page handler shares: settings, store, signer, CSRF guard, limits and templates."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from syndicator.config import Settings
from syndicator.errors import RenderError
from syndicator.model import Subscriber
from syndicator.store import Store
from syndicator.tokens import TokenError, TokenSigner
from syndicator.web.ratelimit import RateLimiter, SubscribeLimits
from syndicator.web.security import CsrfGuard, origin_of
from syndicator.web.words import LANGUAGES, negotiate, words

__all__ = ["NO_STORE", "WebContext", "template_environment"]

log = logging.getLogger(__name__)

NO_STORE = {"cache-control": "no-store"}  # pages that hold a token or personal data


def template_environment(settings: Settings) -> jinja2.Environment:
    """Page templates by name like ``web/subscribe.html.j2``; the user's folder wins over ours."""
    loaders: list[jinja2.BaseLoader] = []
    if settings.templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(settings.templates)))
    loaders.append(jinja2.PackageLoader("syndicator", "templates"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def mask_email(email: str) -> str:
    """``r***@example.com``: enough for its owner to recognise, little for anyone else."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


@dataclass
class WebContext:
    settings: Settings
    store: Store
    signer: TokenSigner
    csrf: CsrfGuard
    limits: SubscribeLimits
    clock: Callable[[], float]
    env: jinja2.Environment = field(init=False)
    ip_limiter: RateLimiter = field(init=False)
    address_limiter: RateLimiter = field(init=False)
    prefix: str = field(init=False)
    secure: bool = field(init=False)

    def __post_init__(self) -> None:
        self.env = template_environment(self.settings)
        self.ip_limiter = RateLimiter(self.limits.per_ip, clock=self.clock)
        self.address_limiter = RateLimiter(self.limits.per_address, clock=self.clock)
        self.prefix = urlsplit(self.settings.web.base_url).path.rstrip("/")
        self.secure = self.settings.web.base_url.startswith("https://")

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    @property
    def site_title(self) -> str:
        return self.settings.site.title or urlsplit(self.settings.site.url).netloc

    def own_origin(self, request: Request) -> str:
        return origin_of(self.settings.web.base_url) or origin_of(str(request.base_url))

    def language(self, request: Request, subscriber: Subscriber | None = None) -> str:
        return negotiate(
            request.query_params.get("lang"),
            subscriber.language if subscriber else None,
            request.headers.get("accept-language", ""),
            self.settings.site.language,
        )

    def url(self, path: str) -> str:
        """A path on this app, under base_url's path when the app lives in a subfolder."""
        return f"{self.prefix}{path}"

    def page(
        self,
        name: str,
        lang: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """Render ``web/<name>.html.j2`` in ``lang``."""
        values = {
            "lang": lang,
            "t": words(lang),
            "site_title": self.site_title,
            "site_url": self.settings.site.url,
            "postal_address": self.settings.web.postal_address,
            "languages": [(code, words(code)["language_name"]) for code in LANGUAGES],
            "url": self.url,
            **context,
        }
        try:
            body = self.env.get_template(f"web/{name}.html.j2").render(values)
        except jinja2.TemplateError as exc:
            raise RenderError(f"web template {name!r}: {exc}") from exc
        return HTMLResponse(body, status_code=status, headers=headers)

    def message(
        self,
        lang: str,
        title: str,
        body: str,
        *,
        status: int = 200,
        links: tuple[tuple[str, str], ...] = (),
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """A page with a heading, a sentence and a few links (confirmations, errors)."""
        return self.page(
            "message", lang, status=status, headers=headers, title=title, body=body, links=links
        )

    def read_token(self, token: str, purpose: str, max_age: float | None = None) -> int:
        """The subscriber id in a signed token; TokenError when forged, damaged or expired."""
        data = self.signer.read(token, purpose, max_age=max_age)
        return int(data["subscriber_id"])

    def token_error_page(self, lang: str, error: TokenError, days: int) -> HTMLResponse:
        t = words(lang)
        again = ((self.url("/subscribe"), t["subscribe_again"]),)
        if error.expired:
            title, body = t["link_expired_title"], t["link_expired_body"].format(days=days)
        else:
            title, body = t["link_invalid_title"], t["link_invalid_body"]
        return self.message(lang, title, body, status=400, links=again, headers=NO_STORE)
