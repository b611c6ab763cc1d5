"""Digest emails: rendered and CSS-inlined once per content variant, personalized per reader.

A variant is one set of posts in one language. Its HTML and text hold unguessable markers
where each reader's parts go (greeting, address, unsubscribe and preferences links);
``personalize`` only substitutes strings, so premailer runs once per variant, not per reader.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import quote
from typing import Any
from urllib.parse import urljoin, urlsplit

from syndicator.config import NewsletterSettings, Settings
from syndicator.deliver.mime import BodyTemplate
from syndicator.errors import ConfigError, RenderError
from syndicator.model import Entry, Message, Reader
from syndicator.render.i18n import format_date, language_code, strings
from syndicator.render.mailtemplates import (
    email_environment,
    fold_long_lines,
    inline_css,
    one_line,
    render_template,
)
from syndicator.tokens import TokenSigner

__all__ = ["DigestRenderer", "DigestVariant", "PostView", "mail_domain", "render_archive_html"]

_SLOTS = ("unsubscribe_url", "preferences_url", "greeting", "email")
_NAME_LIMIT = 100  # characters of a reader's name we print
_MSGID_UNSAFE = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")


@dataclass(frozen=True, slots=True)
class PostView:
    """One post as the templates see it: everything already formatted for the reader."""

    title: str
    url: str
    date: str
    summary: str
    image: str | None
    image_alt: str
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DigestVariant:
    """One edition's digest for one set of posts in one language, ready to personalize."""

    newsletter: str
    edition_number: int
    language: str
    subject: str
    html: str  # inlined, with markers where each reader's parts go
    text: str
    archive_html: str  # the stored copy: no personal links, styles kept in <style>
    post_ids: tuple[str, ...]
    html_body: BodyTemplate = field(repr=False, compare=False)
    text_body: BodyTemplate = field(repr=False, compare=False)


def mail_domain(settings: Settings) -> str:
    """Our domain for Message-ID and List-Id: the web app's host, else the From address's."""
    host = urlsplit(settings.web.base_url).hostname if settings.web.base_url else None
    if host:
        return host
    sender_domain = settings.mail.sender.rpartition("@")[2].strip(" >")
    return sender_domain or "localhost"


def _absolute_image(settings: Settings, entry: Entry) -> str | None:
    image = entry.post.image
    if not image:
        return None
    if image.startswith("/") and not image.startswith("//"):
        prefix = settings.site.baseurl
        path = image if not prefix or image.startswith(prefix + "/") else prefix + image
        image = settings.site.url + path
    else:
        image = urljoin(entry.post.url, image)
    return image if urlsplit(image).scheme in ("http", "https") else None


class DigestRenderer:
    """Renders one newsletter's digests; build it once per edition and reuse it per variant."""

    def __init__(self, settings: Settings, newsletter: NewsletterSettings) -> None:
        if not settings.web.base_url:
            raise ConfigError(
                "newsletters need the public address of the web app for unsubscribe and "
                "'view in browser' links: set base_url under [web]",
                file=str(settings.path),
                key="web.base_url",
            )
        self.settings = settings
        self.newsletter = newsletter
        self._env = email_environment(settings)
        self._base = settings.web.base_url
        self._base_html = html.escape(self._base)
        self._domain = mail_domain(settings)
        title = one_line(newsletter.title) or newsletter.name
        self._list_id = f'"{quote(title)}" <{newsletter.name}.{self._domain}>'
        try:
            self._subject = self._env.from_string(newsletter.subject)
        except Exception as exc:
            raise ConfigError(
                f"subject template: {exc}",
                file=str(settings.path),
                key=f"newsletters.{newsletter.name}.subject",
            ) from exc

    def _post_view(self, entry: Entry, language: str) -> PostView:
        post = entry.post
        return PostView(
            title=one_line(post.title),
            url=post.url,
            date=format_date(post.published, language, self.settings.site.timezone),
            summary=entry.summary_text.strip(),
            image=_absolute_image(self.settings, entry),
            image_alt=one_line(post.title),
            categories=post.categories,
        )

    def _render_subject(self, posts: list[PostView], edition_number: int) -> str:
        try:
            raw = self._subject.render(
                newsletter=self.newsletter, posts=posts, edition={"number": edition_number}
            )
        except Exception as exc:
            raise RenderError(f"newsletter {self.newsletter.name!r} subject: {exc}") from exc
        return one_line(raw) or one_line(self.newsletter.title)

    def render_variant(
        self,
        entries: Sequence[Entry],
        *,
        edition_number: int,
        language: str,
        created: datetime | None = None,
    ) -> DigestVariant:
        """Render subject, HTML (CSS inlined once) and text for these posts in this language."""
        if not entries:
            raise RenderError(f"newsletter {self.newsletter.name!r}: no posts, no digest")
        lang = language_code(language)
        t = strings(lang)
        posts = [self._post_view(entry, lang) for entry in entries]
        subject = self._render_subject(posts, edition_number)
        when = created or datetime.now(UTC)
        nonce = secrets.token_hex(10)
        markers = {name: f"syn{nonce}{name.replace('_', '')}x" for name in _SLOTS}
        first = posts[0].title
        context: dict[str, Any] = {
            "lang": lang,
            "t": t,
            "subject": subject,
            "newsletter": self.newsletter,
            "site": self.settings.site,
            "posts": posts,
            "edition": {"number": edition_number},
            "edition_label": t["edition"].format(number=edition_number),
            "edition_date": format_date(when, lang, self.settings.site.timezone),
            "preheader": (t["preheader"] if len(posts) > 1 else t["preheader_one"]).format(
                count=len(posts), first=first
            ),
            "archive_url": f"{self._base}/archive/{self.newsletter.name}/{edition_number}",
            "postal_address": self.settings.web.postal_address,
            "personal": True,
            **markers,
            "why": t["why"].format(email=markers["email"], newsletter=self.newsletter.title),
        }
        name = self.newsletter.template
        html_raw = render_template(self._env, f"email/{name}.html.j2", context)
        text = render_template(self._env, f"email/{name}.txt.j2", context)
        inlined = fold_long_lines(inline_css(html_raw))
        archive = render_template(
            self._env,
            f"email/{name}.html.j2",
            {**context, "personal": False, "greeting": t["greeting"], "why": ""},
        )
        slots = {marker: slot for slot, marker in markers.items()}
        return DigestVariant(
            newsletter=self.newsletter.name,
            edition_number=edition_number,
            language=lang,
            subject=subject,
            html=inlined,
            text=text,
            archive_html=archive,
            post_ids=tuple(entry.post.id for entry in entries),
            html_body=BodyTemplate(inlined, slots),
            text_body=BodyTemplate(text, slots),
        )

    def personalize(
        self,
        variant: DigestVariant,
        subscriber: Reader,
        *,
        delivery_id: str,
        signer: TokenSigner,
    ) -> Message:
        """One reader's copy: their greeting, address and signed links; string work only."""
        mail = self.settings.mail
        if not mail.sender:
            raise ConfigError("set from = your sender address under [mail]", key="mail.from")
        # Tokens are URL-safe base64 and dots: only the configured base needs HTML escaping.
        unsubscribe = signer.make("unsubscribe", subscriber.id)
        preferences = signer.make("preferences", subscriber.id)
        unsubscribe_url = f"{self._base}/unsubscribe/{unsubscribe}"
        preferences_url = f"{self._base}/preferences/{preferences}"
        name = one_line(subscriber.name)[:_NAME_LIMIT]
        t = strings(variant.language)
        greeting = t["greeting_named"].format(name=name) if name else t["greeting"]
        address = one_line(subscriber.email)
        html_body = variant.html_body.fill(
            {
                "unsubscribe_url": f"{self._base_html}/unsubscribe/{unsubscribe}",
                "preferences_url": f"{self._base_html}/preferences/{preferences}",
                "greeting": html.escape(greeting),
                "email": html.escape(address),
            }
        )
        text_body = variant.text_body.fill(
            {
                "unsubscribe_url": unsubscribe_url,
                "preferences_url": preferences_url,
                "greeting": greeting,
                "email": address,
            }
        )
        list_unsubscribe = f"<{unsubscribe_url}>"
        if mail.list_unsubscribe_mailto:
            mailbox = mail.list_unsubscribe_mailto.removeprefix("mailto:")
            list_unsubscribe += f", <mailto:{mailbox}?subject=unsubscribe%20{unsubscribe}>"
        return Message(
            delivery_id=delivery_id,
            sender=mail.sender,
            to=address,  # bare: SMTP and API backends use it as the envelope recipient too
            subject=variant.subject,
            text=text_body,
            html=html_body,
            reply_to=mail.reply_to or None,
            headers=(
                ("List-Unsubscribe", list_unsubscribe),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                ("List-Id", self._list_id),
            ),
            message_id=f"<{_MSGID_UNSAFE.sub('-', delivery_id)}@{self._domain}>",
            tags=(self.newsletter.name, f"edition-{variant.edition_number}"),
        )

    def render_archive_html(self, variant: DigestVariant) -> str:
        """The copy stored with the edition and shown at /archive/: no personal links."""
        return render_archive_html(variant)


def render_archive_html(variant: DigestVariant) -> str:
    """The copy stored with the edition and shown at /archive/: no personal links.

    Browsers read the <style> block, so this copy is not inlined (no extra premailer call).
    """
    return variant.archive_html
