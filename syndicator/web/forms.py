"""What the subscribe and preferences forms (and the JSON POST) may carry, validated."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syndicator.model import Subscription
from syndicator.subscribers import InvalidAddress, normalize_email
from syndicator.web.words import LANGUAGES

__all__ = [
    "FREQUENCIES",
    "HONEYPOT",
    "PreferencesForm",
    "SubscribeForm",
    "parse_preferences",
    "parse_subscribe",
]

FREQUENCIES = ("every", "weekly", "monthly")
HONEYPOT = "website"  # a field people never see or fill; bots fill every field
MAX_NAME = 100
MAX_EMAIL = 254


@dataclass(frozen=True, slots=True)
class SubscribeForm:
    """A subscribe request; ``errors`` names the fields (by word key) that need fixing."""

    email: str
    name: str
    newsletters: tuple[str, ...]
    topics: tuple[str, ...]
    language: str | None
    honeypot: bool
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PreferencesForm:
    subscriptions: tuple[Subscription, ...]
    language: str | None
    errors: tuple[str, ...] = field(default=())


def _text(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else ""
    return " ".join(text.split())[:limit]


def _names(values: Iterable[Any], allowed: Collection[str]) -> tuple[str, ...]:
    """The allowed names among ``values``, in order, once each; unknown names are ignored."""
    return tuple(dict.fromkeys(v for v in values if isinstance(v, str) and v in allowed))


def _language(value: Any) -> str | None:
    return value if isinstance(value, str) and value in LANGUAGES else None


def parse_subscribe(
    data: Mapping[str, Any],
    lists: Mapping[str, Sequence[Any]],
    newsletters: Sequence[str],
    topics: Collection[str],
) -> SubscribeForm:
    """Validate a subscribe request; ``lists`` holds the multi-valued fields."""
    errors: list[str] = []
    raw_email = data.get("email")
    email = ""
    if isinstance(raw_email, str) and len(raw_email) <= MAX_EMAIL:
        try:
            email = normalize_email(raw_email)
        except InvalidAddress:
            email = ""
    if not email:
        errors.append("error_email")
    chosen = _names(lists.get("newsletters", ()), newsletters)
    if len(newsletters) == 1 and not chosen:
        chosen = tuple(newsletters)  # one list: subscribing means that one
    if newsletters and not chosen:
        errors.append("error_newsletter")
    return SubscribeForm(
        email=email or (raw_email if isinstance(raw_email, str) else "")[:MAX_EMAIL],
        name=_text(data.get("name"), MAX_NAME),
        newsletters=chosen,
        topics=_names(lists.get("topics", ()), topics),
        language=_language(data.get("lang")),
        honeypot=bool(_text(data.get(HONEYPOT), 200)),
        errors=tuple(errors),
    )


def parse_preferences(
    data: Mapping[str, Any],
    lists: Mapping[str, Sequence[Any]],
    newsletters: Sequence[str],
    topics: Collection[str],
) -> PreferencesForm:
    """Subscriptions from the preferences form: a checkbox and a frequency per newsletter,
    one topic choice shared by all of them."""
    chosen = _names(lists.get("newsletters", ()), newsletters)
    picked_topics = _names(lists.get("topics", ()), topics)
    subs = []
    for name in chosen:
        frequency = data.get(f"frequency-{name}")
        subs.append(
            Subscription(
                name,
                picked_topics,
                frequency if isinstance(frequency, str) and frequency in FREQUENCIES else "every",
            )
        )
    return PreferencesForm(tuple(subs), _language(data.get("language")))
