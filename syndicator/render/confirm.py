"""The double opt-in email: one signed link that confirms a pending subscription."""

from __future__ import annotations

import secrets

from syndicator.config import Settings
from syndicator.errors import ConfigError
from syndicator.model import Message, Subscriber
from syndicator.render.digest import mail_domain
from syndicator.render.i18n import language_code, strings
from syndicator.render.mailtemplates import (
    email_environment,
    fold_long_lines,
    inline_css,
    one_line,
    render_template,
)
from syndicator.tokens import TokenSigner

__all__ = ["render_confirmation"]


def render_confirmation(
    settings: Settings,
    subscriber: Subscriber,
    signer: TokenSigner,
    *,
    delivery_id: str | None = None,
) -> Message:
    """The confirmation email for ``subscriber``, in their language (else the site's)."""
    if not settings.web.base_url or not settings.mail.sender:
        raise ConfigError(
            "confirmation emails need base_url under [web] and from under [mail]",
            file=str(settings.path),
        )
    lang = language_code(subscriber.language or settings.site.language)
    t = strings(lang)
    site = one_line(settings.site.title) or mail_domain(settings)
    confirm_url = f"{settings.web.base_url}/confirm/{signer.make('confirm', subscriber.id)}"
    subject = one_line(t["confirm_subject"].format(site=site))
    context = {
        "lang": lang,
        "t": t,
        "subject": subject,
        "site": settings.site,
        "body": t["confirm_body"].format(site=site, email=one_line(subscriber.email)),
        "confirm_url": confirm_url,
        "postal_address": settings.web.postal_address,
    }
    env = email_environment(settings)
    html = fold_long_lines(inline_css(render_template(env, "email/confirm.html.j2", context)))
    text = render_template(env, "email/confirm.txt.j2", context)
    delivery = delivery_id or f"confirm-{subscriber.id}-{secrets.token_hex(6)}"
    return Message(
        delivery_id=delivery,
        sender=settings.mail.sender,
        to=one_line(subscriber.email),
        subject=subject,
        text=text,
        html=html,
        reply_to=settings.mail.reply_to or None,
        message_id=f"<{delivery}@{mail_domain(settings)}>",
        tags=("confirm",),
    )
