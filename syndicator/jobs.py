"""The jobs `run`, `send` and `preview` perform, and the scheduler calls: orchestration only."""

from __future__ import annotations

import dataclasses
import logging
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from syndicator.config import NewsletterSettings, Settings
from syndicator.deliver import open_backend
from syndicator.deliver.parallel import deliver_in_processes, sender_processes
from syndicator.deliver.sender import DeliveryReport, deliver_pending
from syndicator.editions import Candidate, due, make_edition, next_edition
from syndicator.errors import ConfigError, SyndicatorError
from syndicator.model import Message, Subscriber, SubscriberStatus, Subscription
from syndicator.pipeline import collect, entries_for, publish_feeds
from syndicator.progress import Bar
from syndicator.store import Store
from syndicator.tokens import TokenSigner
from syndicator.websub import notify_hub

__all__ = ["deliver", "preview", "run_once", "send"]

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def _require_key(settings: Settings) -> None:
    if not settings.secret_keys:
        raise ConfigError(
            "SYNDICATOR_SECRET_KEY is not set; it signs the unsubscribe and "
            "preferences links in every email (any long random string)",
            key="SYNDICATOR_SECRET_KEY",
        )


def deliver(
    settings: Settings,
    store: Store,
    clock: Clock,
    *,
    quiet: bool = False,
    edition_id: int | None = None,
) -> DeliveryReport:
    """Send pending deliveries through the configured backend, with progress on a terminal."""
    pending = store.pending_count()
    if pending == 0:
        return DeliveryReport()
    _require_key(settings)
    processes = sender_processes(settings, pending)
    bar = Bar("sending", enabled=not quiet)
    try:
        if processes > 1:
            report = deliver_in_processes(
                settings, store, clock, processes, edition_id=edition_id, progress=bar.update
            )
        else:
            backend = open_backend(settings.mail)
            try:
                report = deliver_pending(
                    settings, store, backend, clock, edition_id=edition_id, progress=bar.update
                )
            finally:
                backend.close()
    finally:
        bar.close()
    if not quiet:
        print(report.summary())
        if report.stopped:
            print(f"delivery stopped: {report.stopped}", file=sys.stderr)
    return report


def run_once(
    settings: Settings, store: Store, clock: Clock, *, wait: bool = True, quiet: bool = False
) -> int:
    """One cron-style pass; a concurrent second run waits (or exits with --no-wait)."""
    with store.lock("run", wait=wait) as held:
        if not held:
            print("another syndicator run is in progress; nothing to do", file=sys.stderr)
            return 0
        now = clock()
        report = collect(settings, store, now)
        feeds = publish_feeds(settings, store, now)
        notify_hub(settings, feeds.written)
        made = []
        for newsletter in settings.newsletters:
            edition = make_edition(settings, store, newsletter, clock())
            if edition is not None:
                made.append(edition)
        delivery = deliver(settings, store, clock, quiet=quiet)
    if not quiet:
        for s in report.sources:
            print(
                f"source {s.name}: {s.new} new, {s.changed} changed, {s.problems} skipped"
                + (" (FAILED)" if s.failed else "")
            )
        print(
            "feeds: "
            + (
                "unchanged"
                if feeds.skipped
                else f"{len(feeds.written)} written, {feeds.unchanged} unchanged"
            )
        )
        for edition in made:
            print(
                f"edition: {edition.newsletter} #{edition.number} with "
                f"{len(edition.post_ids)} post(s)"
            )
    failed = report.problems or any(s.failed for s in report.sources) or not delivery.ok
    return 1 if failed else 0


def _sample_subscriber(settings: Settings, store: Store, newsletter: str) -> Subscriber:
    for subscriber in store.subscribers(newsletter=newsletter, status=SubscriberStatus.ACTIVE):
        return subscriber
    return Subscriber(
        id=0,
        email="reader@example.com",
        name="",
        status=SubscriberStatus.ACTIVE,
        created=datetime.now(UTC),
        subscriptions=(Subscription(newsletter),),
    )


def _render_candidate(
    settings: Settings,
    store: Store,
    newsletter: NewsletterSettings,
    now: datetime,
    subscriber: Subscriber,
) -> tuple[Candidate, Message | None]:
    from syndicator.render.digest import DigestRenderer

    candidate = next_edition(settings, store, newsletter, now)
    if not candidate.posts:
        return candidate, None
    entries = entries_for(store, candidate.posts)
    renderer = DigestRenderer(settings, newsletter)
    variant = renderer.render_variant(
        [entries[p.id] for p in candidate.posts],
        edition_number=candidate.number,
        language=subscriber.language or settings.site.language,
    )
    signer = TokenSigner(settings.secret_keys or ("preview-only-not-a-secret",))
    message = renderer.personalize(variant, subscriber, delivery_id="preview", signer=signer)
    return candidate, message


def preview(
    settings: Settings, store: Store, name: str, now: datetime, output: Path | None
) -> Path:
    """Write the next edition, as if due now, for a sample subscriber; send nothing."""
    newsletter = settings.newsletter(name)
    collect(settings, store, now)
    subscriber = _sample_subscriber(settings, store, name)
    _, message = _render_candidate(settings, store, newsletter, now, subscriber)
    if message is None:
        raise SyndicatorError(
            f"newsletter {name!r} has no new posts for its next edition "
            f"(posts of the last {newsletter.since.days} day(s) not yet sent)"
        )
    path = output or settings.root / f"preview-{name}.html"
    path.write_text(str(message.html), encoding="utf-8")
    return path.resolve()


def send(
    settings: Settings,
    store: Store,
    name: str,
    clock: Clock,
    *,
    now_flag: bool,
    to: str | None,
    dry_run: bool,
    quiet: bool,
) -> int:
    """`syndicator send`: make the edition if due (or --now) and deliver it."""
    newsletter = settings.newsletter(name)
    now = clock()
    collect(settings, store, now)
    if to is not None or dry_run:
        return _test_or_dry_run(settings, store, newsletter, now, to, dry_run)
    if not now_flag and not due(settings, store, newsletter, now):
        print(f"{name}: not due yet (use --now to send anyway)")
        edition = None
    else:
        edition = make_edition(settings, store, newsletter, now, force=now_flag)
        if edition is None and not quiet:
            print(f"{name}: no new posts, no edition")
    report = deliver(settings, store, clock, quiet=quiet)
    if edition is not None and not quiet:
        where = f"; outbox: {settings.mail.outbox}" if settings.mail.backend == "outbox" else ""
        print(f"{name} #{edition.number}: {len(edition.post_ids)} post(s){where}")
    return 0 if report.ok else 1


def _test_or_dry_run(
    settings: Settings,
    store: Store,
    newsletter: NewsletterSettings,
    now: datetime,
    to: str | None,
    dry_run: bool,
) -> int:
    from syndicator.subscribers import normalize_email

    sample = _sample_subscriber(settings, store, newsletter.name)
    if to is not None:
        sample = Subscriber(
            id=0,
            email=normalize_email(to),
            name="",
            status=SubscriberStatus.ACTIVE,
            created=now,
            subscriptions=(Subscription(newsletter.name),),
        )
    candidate, message = _render_candidate(settings, store, newsletter, now, sample)
    if message is None:
        print(f"{newsletter.name}: no new posts, nothing to send")
        return 0
    print(f"{newsletter.name} #{candidate.number}: {message.subject}")
    for post in candidate.posts:
        print(f"  - {post.title} <{post.url}>")
    if dry_run:
        count = store.count_subscribers(newsletter=newsletter.name, status=SubscriberStatus.ACTIVE)
        target = to or f"{count} active subscriber(s)"
        print(f"dry run: would send to {target}; nothing sent, nothing stored")
        return 0
    _require_key(settings)
    backend = open_backend(settings.mail)
    try:
        test = dataclasses.replace(
            message, delivery_id=f"test-{uuid.uuid4().hex}", subject=f"[TEST] {message.subject}"
        )
        receipt = backend.send_batch([test])[0]
    finally:
        backend.close()
    if not receipt.ok:
        print(f"test copy to {to} failed: {receipt.error}", file=sys.stderr)
        return 1
    print(f"test copy sent to {to} ({receipt.provider_id})")
    return 0
