"""The domain model: frozen records with explicit fields and zone-aware datetimes. No I/O here."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Literal, Protocol

__all__ = [
    "Author",
    "BodyFormat",
    "Delivery",
    "DeliveryStatus",
    "Edition",
    "Entry",
    "LazyText",
    "Message",
    "Post",
    "Reader",
    "Receipt",
    "Recipient",
    "Subscriber",
    "SubscriberStatus",
    "Subscription",
]

BodyFormat = Literal["markdown", "html"]


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must carry a time zone, got naive {value!r}")


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    email: str | None = None
    url: str | None = None


@dataclass(frozen=True)  # no slots: content_hash is cached on the instance
class Post:
    """One post as a source collected it, before rendering.

    ``id`` is the post's permanent identity (an absolute URI: for a Jekyll site, exactly what
    jekyll-feed puts in ``<id>``); ``url`` its absolute permalink. ``body`` is Markdown (after
    Liquid) or HTML, per ``body_format``; rendering happens later and only for posts an output
    needs. ``excerpt`` is an explicit summary in the same format, or None to derive one.
    """

    id: str
    url: str
    title: str
    published: datetime
    updated: datetime
    source: str
    body: str
    body_format: BodyFormat = "markdown"
    excerpt: str | None = None
    authors: tuple[Author, ...] = ()
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    image: str | None = None
    language: str | None = None
    origin: str = ""  # file path or feed URL, for messages

    def __post_init__(self) -> None:
        _require_aware("published", self.published)
        _require_aware("updated", self.updated)

    @property
    def topics(self) -> frozenset[str]:
        """Categories and tags together, as newsletter filters match them."""
        return frozenset(self.categories) | frozenset(self.tags)

    @cached_property
    def content_hash(self) -> str:
        """A digest of everything a reader sees; it changes when the post is edited."""
        digest = hashlib.sha256()
        fields: list[str | None] = [
            self.id,
            self.url,
            self.title,
            self.published.isoformat(),
            self.updated.isoformat(),
            self.body,
            self.body_format,
            self.excerpt,
            *(f"{a.name}\x1f{a.email or ''}\x1f{a.url or ''}" for a in self.authors),
            "\x1e",
            *self.categories,
            "\x1e",
            *self.tags,
            "\x1e",
            self.image,
            self.language,
        ]
        for value in fields:  # length-prefixed, so no two field lists hash alike
            data = b"\xff" if value is None else value.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """A post with its rendered HTML: what feed and digest renderers consume.

    ``content_html`` has absolute URLs only; ``summary_text`` is plain text without markup.
    """

    post: Post
    content_html: str
    summary_html: str
    summary_text: str


class SubscriberStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscriber's choice for one newsletter: optional topic filter and frequency."""

    newsletter: str
    topics: tuple[str, ...] = ()
    frequency: str = "every"  # every edition; "weekly"/"monthly" digests of editions later


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str
    name: str
    status: SubscriberStatus
    created: datetime
    confirmed: datetime | None = None
    language: str | None = None
    subscriptions: tuple[Subscription, ...] = ()

    def __post_init__(self) -> None:
        _require_aware("created", self.created)
        _require_aware("confirmed", self.confirmed)

    def subscription(self, newsletter: str) -> Subscription | None:
        return next((s for s in self.subscriptions if s.newsletter == newsletter), None)


@dataclass(frozen=True, slots=True)
class Edition:
    """One issue of a newsletter: the posts it announces and its rendered archive HTML."""

    id: int
    newsletter: str
    number: int
    created: datetime
    subject: str
    post_ids: tuple[str, ...]
    html: str = ""

    def __post_init__(self) -> None:
        _require_aware("created", self.created)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender, request in flight
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row per (edition, subscriber): exists before any request is made."""

    id: str
    edition_id: int
    subscriber_id: int
    email: str
    status: DeliveryStatus
    variant: str = ""
    attempts: int = 0
    provider_id: str | None = None
    error: str | None = None
    sent_at: datetime | None = None


class Reader(Protocol):
    """Whom a message is personalized for: a Subscriber, or a Recipient of a claimed batch."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Recipient:
    """A claimed delivery with what personalizing it needs: the reader's id, address, name."""

    delivery_id: str
    edition_id: int
    variant: str
    id: int  # the subscriber's
    email: str
    name: str


class LazyText(ABC):
    """A message body made on demand from pieces many messages share; ``str()`` makes it.

    A digest goes to thousands of readers with only a few values of their own: backends that
    can write the pieces (the JSON of an API, the MIME wire form) never build the whole text.
    """

    __slots__ = ()

    @abstractmethod
    def __str__(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Message:
    """A complete email ready for a mail backend; backends that want MIME build it from this."""

    delivery_id: str
    sender: str
    to: str
    subject: str
    text: str | LazyText
    html: str | LazyText  # "" for a plain-text message
    reply_to: str | None = None
    headers: tuple[tuple[str, str], ...] = ()  # extra headers: List-Unsubscribe, List-Id, ...
    message_id: str | None = None
    tags: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Receipt:
    """The provider's answer for one message."""

    delivery_id: str
    ok: bool
    provider_id: str | None = None
    error: str | None = None
    retryable: bool = False
    suppress: bool = False  # the address is invalid or suppressed at the provider
