"""Newsletter editions: when one is due, which posts it announces, who gets which variant.

Due-ness lives in the store (started, last run), so `run` from cron and `serve` agree, a
restart loses nothing, and slots missed while the machine was down coalesce into one edition.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from syndicator.config import NewsletterSettings, Settings
from syndicator.model import Edition, Entry, Post, Subscriber, SubscriberStatus
from syndicator.schedule_expr import next_fire, parse_cron
from syndicator.store import Store

__all__ = ["Candidate", "due", "make_edition", "next_edition", "parse_variant", "variant_key"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the next edition of a newsletter would hold if it were made now."""

    newsletter: NewsletterSettings
    number: int
    posts: tuple[Post, ...]


def due(settings: Settings, store: Store, newsletter: NewsletterSettings, now: datetime) -> bool:
    """True when a scheduled slot passed since the last run (missed slots count once)."""
    state = store.newsletter_state(newsletter.name, now)
    trigger = parse_cron(newsletter.schedule, settings.site.timezone)
    fire = next_fire(trigger, state.last_run or state.started)
    return fire is not None and fire <= now


def next_edition(
    settings: Settings, store: Store, newsletter: NewsletterSettings, now: datetime
) -> Candidate:
    state = store.newsletter_state(newsletter.name, now)
    posts = store.unannounced_posts(
        newsletter.name,
        started=state.started,
        since=now - newsletter.since,
        topics=newsletter.categories,
        limit=newsletter.max_posts,
    )
    ordered = tuple(sorted(posts, key=lambda p: (p.published, p.id), reverse=True))
    return Candidate(newsletter, state.last_number + 1, ordered)


# A subscriber who chose "at most once a week/month" skips editions inside that window; the
# posts they skipped come with their next mail (catch-up), so nothing is lost.
FREQUENCY_WINDOWS = {"weekly": timedelta(days=7), "monthly": timedelta(days=30)}

Parts = tuple[tuple[int, tuple[int, ...]], ...]  # (edition id, post positions) of catch-up


def variant_key(language: str, indices: Sequence[int], catch_up: Parts = ()) -> str:
    """A compact name for one content variant: language, post positions, catch-up parts.

    ``ko:0,1,3`` is posts 0, 1 and 3 of this edition in Korean; ``ko:0;12:2,4`` adds posts 2
    and 4 of edition id 12, which the reader skipped because of their chosen frequency.
    """
    key = f"{language}:{','.join(str(i) for i in indices)}"
    for edition_id, positions in catch_up:
        key += f";{edition_id}:{','.join(str(i) for i in positions)}"
    return key


def parse_variant(key: str) -> tuple[str, tuple[int, ...], Parts]:
    head, *rest = key.split(";")
    language, _, own = head.partition(":")
    parts = []
    for part in rest:
        edition_id, _, positions = part.partition(":")
        parts.append((int(edition_id), tuple(int(i) for i in positions.split(",") if i)))
    return language, tuple(int(i) for i in own.split(",") if i), tuple(parts)


def subscriber_posts(subscriber: Subscriber, newsletter: str, posts: Sequence[Post]) -> list[int]:
    """Positions of the posts this subscriber wants (their topic filter, if any)."""
    subscription = subscriber.subscription(newsletter)
    if subscription is None:
        return []
    if not subscription.topics:
        return list(range(len(posts)))
    wanted = set(subscription.topics)
    return [i for i, post in enumerate(posts) if post.topics & wanted]


class _History:
    """Past editions of one newsletter, loaded once per edition run for frequency checks."""

    def __init__(self, store: Store, newsletter: str) -> None:
        self.store = store
        self.newsletter = newsletter
        self.loaded: dict[int, tuple[Edition, list[Post]]] | None = None

    def editions(self) -> dict[int, tuple[Edition, list[Post]]]:
        if self.loaded is None:
            found = self.store.editions(self.newsletter, limit=None)
            self.loaded = {e.number: (e, self.store.edition_posts(e.id)) for e in found}
        return self.loaded


def _with_frequency(
    subscriber: Subscriber,
    name: str,
    indices: list[int],
    last: int | None,
    history: _History,
    now: datetime,
) -> tuple[list[int], Parts] | None:
    """The reader's share of this edition under their frequency, or None to skip them now."""
    window = FREQUENCY_WINDOWS.get(_frequency(subscriber, name))
    if window is None or last is None:
        return indices, ()
    past = history.editions()
    if last in past and now - past[last][0].created < window:
        return None
    catch_up = []
    for number in sorted(n for n in past if n > last):
        edition, posts = past[number]
        positions = subscriber_posts(subscriber, name, posts)
        if positions:
            catch_up.append((edition.id, tuple(positions)))
    return indices, tuple(catch_up)


def recipients(
    settings: Settings, store: Store, candidate: Candidate, now: datetime
) -> Iterator[tuple[int, str, str]]:
    """(subscriber id, email, variant) for every active, unsuppressed subscriber with posts."""
    name = candidate.newsletter.name
    history = _History(store, name)
    chunk: list[Subscriber] = []

    def flush() -> Iterator[tuple[int, str, str]]:
        blocked = store.suppressed([s.email for s in chunk])
        limited = [s.id for s in chunk if _frequency(s, name) in FREQUENCY_WINDOWS]
        last = store.last_received(name, limited) if limited else {}
        for s in chunk:
            if s.email in blocked:
                continue
            share = _with_frequency(
                s,
                name,
                subscriber_posts(s, name, candidate.posts),
                last.get(s.id),
                history,
                now,
            )
            if share is None or not (share[0] or share[1]):
                continue
            language = s.language or settings.site.language
            yield (s.id, s.email, variant_key(language, share[0], share[1]))
        chunk.clear()

    for subscriber in store.subscribers(newsletter=name, status=SubscriberStatus.ACTIVE):
        chunk.append(subscriber)
        if len(chunk) >= 1000:
            yield from flush()
    yield from flush()


def _frequency(subscriber: Subscriber, newsletter: str) -> str:
    subscription = subscriber.subscription(newsletter)
    return subscription.frequency if subscription else "every"


def make_edition(
    settings: Settings,
    store: Store,
    newsletter: NewsletterSettings,
    now: datetime,
    *,
    force: bool = False,
) -> Edition | None:
    """Make the newsletter's edition if due (or forced) and there are new posts.

    Runs under a store-wide lock per newsletter, and the store's unique edition number stops
    a second process that raced past the lock: an edition is never made twice.
    """
    from syndicator.pipeline import entries_for
    from syndicator.render.digest import DigestRenderer

    with store.lock(f"edition:{newsletter.name}", wait=True):
        if not force and not due(settings, store, newsletter, now):
            return None
        candidate = next_edition(settings, store, newsletter, now)
        if not candidate.posts:
            store.mark_run(newsletter.name, now)
            log.info("no new posts newsletter=%s: no edition", newsletter.name)
            return None
        entries = entries_for(store, candidate.posts)
        ordered: list[Entry] = [entries[p.id] for p in candidate.posts]
        renderer = DigestRenderer(settings, newsletter)
        variant = renderer.render_variant(
            ordered, edition_number=candidate.number, language=settings.site.language, created=now
        )
        edition = store.create_edition(
            newsletter.name,
            variant.subject,
            [p.id for p in candidate.posts],
            renderer.render_archive_html(variant),
            now,
            list(recipients(settings, store, candidate, now)),
            number=candidate.number,
        )
        store.mark_run(newsletter.name, now)
    if edition is None:
        log.warning("edition of newsletter=%s was made by another process", newsletter.name)
        return None
    log.info(
        "made edition newsletter=%s number=%d posts=%d deliveries=%d",
        newsletter.name,
        edition.number,
        len(edition.post_ids),
        store.delivery_counts(edition.id).get("pending", 0),
    )
    return edition
