"""Deliveries are rows before they are requests: claim a batch, personalize, send, record.

A crash leaves claimed rows in ``sending``; a later run takes each such batch over as the same
group of rows once it is older than ``stale_after``, so at most the one batch that was in
flight goes out twice, and never with a provider that honours idempotency keys (Resend's key is
derived from the group). While one batch is on the wire (in a send thread), the next one is
claimed and rendered; the main thread records a batch's answers before the next is sent, so
only one is ever sent-but-unrecorded. All store work stays on the main thread: SQLite calls
release the GIL, and a busy second thread would keep it for up to 5 ms at every such call.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from syndicator.config import Settings
from syndicator.deliver import MailBackend
from syndicator.editions import parse_variant
from syndicator.errors import DeliveryError
from syndicator.model import Edition, Message, Receipt
from syndicator.store import Store
from syndicator.store.sending import Claim
from syndicator.tokens import TokenSigner

if TYPE_CHECKING:
    from syndicator.render.digest import DigestRenderer, DigestVariant

__all__ = ["STALE_AFTER", "DeliveryReport", "deliver_pending", "failure_reason"]

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)
# Rows per claim unless [mail] batch_size says otherwise: two claims are alive at once (one on
# the wire, one being rendered), and 500 digests of ~40 KB kept the sender near 450 MB RSS;
# 200 stays under 200 MB at the same throughput (bench/README.md "fanout").
CLAIM_SIZE = 200
Progress = Callable[[int, int], None]
_CODED = re.compile(r"^[^:]{1,60}\d[^:]{0,20}$")  # "postmark ErrorCode 406", "HTTP 422"


def failure_reason(error: str | None) -> str:
    """The summary bucket of a failure: its coded prefix, without per-address detail."""
    text = (error or "unknown").strip()
    head, sep, _ = text.partition(":")
    if sep and _CODED.match(head):
        return head
    return text[:80]


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # summary reason -> messages
    retried: int = 0  # messages put back as pending for a later attempt
    remaining: int = 0  # pending rows after this pass
    stopped: str = ""  # why sending stopped early (a wrong key, an outage)
    taken_over: int = 0  # rows re-sent from batches a crashed sender left in flight
    skipped: Counter[str] = field(default_factory=Counter)  # settled unsent: unsubscribed, ...
    shares: tuple[int, ...] = ()  # rows settled by each sender process, when there were several

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stopped

    def summary(self) -> str:
        """One line: sent, failed by reason, retried, remaining."""
        failed = ", ".join(f"{n} {reason}" for reason, n in self.failed.most_common()) or "0"
        line = (
            f"delivery: {self.sent} sent, failed: {failed}, {self.retried} to retry, "
            f"{self.remaining} remaining"
        )
        if self.skipped:
            why = ", ".join(f"{n} {reason}" for reason, n in self.skipped.most_common())
            line += f", not sent: {why}"
        return line


class _Variants:
    """Rendered variants per (edition, variant key), made once and reused for every reader."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.cache: dict[tuple[int, str], tuple[DigestRenderer, DigestVariant]] = {}
        self.editions: dict[int, Edition] = {}

    def get(self, edition_id: int, variant: str) -> tuple[DigestRenderer, DigestVariant]:
        found = self.cache.get((edition_id, variant))
        return found if found is not None else self._render(edition_id, variant)

    def _render(self, edition_id: int, variant: str) -> tuple[DigestRenderer, DigestVariant]:
        from syndicator.pipeline import entries_for
        from syndicator.render.digest import DigestRenderer

        key = (edition_id, variant)
        if key not in self.cache:
            edition = self.store.edition(edition_id)
            if edition is None:
                raise DeliveryError(f"edition {edition_id} is missing from the store")
            posts = self.store.edition_posts(edition.id)
            entries = entries_for(self.store, posts)
            language, indices, catch_up = parse_variant(variant)
            chosen = [entries[posts[i].id] for i in indices if i < len(posts)]
            for edition_id, positions in catch_up:  # posts skipped under a chosen frequency
                earlier = self.store.edition_posts(edition_id)
                more = entries_for(self.store, [earlier[i] for i in positions if i < len(earlier)])
                chosen.extend(more[p.id] for p in earlier if p.id in more)
            renderer = DigestRenderer(self.settings, self.settings.newsletter(edition.newsletter))
            self.cache[key] = (
                renderer,
                renderer.render_variant(
                    chosen,
                    edition_number=edition.number,
                    language=language,
                    created=edition.created,  # the edition's date, however late it is sent
                ),
            )
        return self.cache[key]


@dataclass
class _Batch:
    """One claim, personalized: the messages to send and the rows settled without sending."""

    messages: list[Message]
    skipped: Counter[str]


@dataclass
class _Outcome:
    receipts: list[Receipt] = field(default_factory=list)
    released: int = 0
    stopped: str = ""
    skipped: Counter[str] = field(default_factory=Counter)


class _Sender:
    """One pass over the pending rows with one backend."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        backend: MailBackend,
        now: Callable[[], datetime],
        edition_id: int | None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.backend = backend
        self.now = now
        self.edition_id = edition_id
        self.signer = TokenSigner(settings.secret_keys)
        self.variants = _Variants(settings, store)
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.claims = 0

    def tag(self) -> str:
        """A worker tag per claim, so a crashed claim can be taken over as the same group."""
        self.claims += 1
        return f"{self.worker}/{self.claims}"

    def claim(self, size: int) -> Claim:
        return self.store.claim_recipients(
            size, self.tag(), self.now(), edition_id=self.edition_id
        )

    def prepare(self, claim: Claim) -> _Batch:
        """Personalize every recipient of the claim (string work only: no query per reader)."""
        get, signer = self.variants.get, self.signer
        messages: list[Message] = []
        for recipient in claim.recipients:
            renderer, variant = get(recipient.edition_id, recipient.variant)
            messages.append(
                renderer.personalize(
                    variant, recipient, delivery_id=recipient.delivery_id, signer=signer
                )
            )
        return _Batch(messages, claim.skipped)

    def send(self, batch: _Batch) -> list[Receipt] | DeliveryError:
        """Hand the batch over (in the send thread: no store work, which would pass the GIL
        back and forth with the thread preparing the next batch)."""
        try:
            return self.backend.send_batch(batch.messages) if batch.messages else []
        except DeliveryError as exc:
            return exc

    def record(self, batch: _Batch, sent: list[Receipt] | DeliveryError) -> _Outcome:
        """Record every answer; the next batch goes out only after this."""
        if isinstance(sent, DeliveryError):
            # The provider did not take the batch as a whole: the rows go back to pending
            # without using up an attempt (an outage or a wrong key is not the reader's fault).
            released = self.release(batch, str(sent))
            log.error("delivery stopped fatal=%s reason=%s", sent.fatal, sent)
            return _Outcome([], released, _explain(sent), batch.skipped)
        self.store.record_receipts(sent, self.now())
        return _Outcome(sent, skipped=batch.skipped)

    def release(self, batch: _Batch, error: str) -> int:
        return self.store.release_deliveries([m.delivery_id for m in batch.messages], error=error)


def _explain(exc: DeliveryError) -> str:
    if exc.fatal:
        text = str(exc)
        if "SYNDICATOR_MAIL_API_KEY" not in text:
            text += "; check SYNDICATOR_MAIL_API_KEY"
        return f"{text}. Nothing more was sent; every message stays pending."
    return str(exc)


def _tally(report: DeliveryReport, outcome: _Outcome) -> None:
    for receipt in outcome.receipts:
        if receipt.ok:
            report.sent += 1
        elif receipt.retryable:
            report.retried += 1
        else:
            report.failed[failure_reason(receipt.error)] += 1
    report.retried += outcome.released
    report.skipped.update(outcome.skipped)
    if outcome.stopped and not report.stopped:
        report.stopped = outcome.stopped


def deliver_pending(
    settings: Settings,
    store: Store,
    backend: MailBackend,
    now: Callable[[], datetime],
    *,
    edition_id: int | None = None,
    progress: Progress | None = None,
    stale_after: timedelta = STALE_AFTER,
    claim_size: int = 0,
) -> DeliveryReport:
    """Send every pending delivery (of one edition, or all); returns what happened.

    Batches a crashed sender left in flight longer than ``stale_after`` go first, each as the
    group it was. ``claim_size`` (default: the backend's batch size) is the rows per claim.
    """
    sender = _Sender(settings, store, backend, now, edition_id)
    report = DeliveryReport()
    size = claim_size or settings.mail.batch_size or min(backend.max_batch, CLAIM_SIZE)
    total = store.pending_count()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="send")
    in_flight: tuple[_Batch, Future[list[Receipt] | DeliveryError]] | None = None

    def settle() -> None:
        nonlocal in_flight
        if in_flight is not None:
            (sent_batch, answer), in_flight = in_flight, None
            outcome = sender.record(sent_batch, answer.result())
            _tally(report, outcome)
            if progress:
                done = report.sent + sum(report.failed.values()) + sum(report.skipped.values())
                progress(done, total)

    recovering = True  # crashed batches first; never our own, which are all claimed later

    def next_claim() -> Claim:
        nonlocal total, recovering
        if recovering:
            tag, when = sender.tag(), now()
            stale = store.reclaim_stale_batch(when - stale_after, tag, when, edition_id)
            if stale:
                report.taken_over += len(stale)
                total += len(stale)
                return store.recipients(stale, tag, when)
            recovering = False
        return sender.claim(size)

    try:
        while not report.stopped:
            claimed = next_claim()
            if not len(claimed):
                break
            batch = sender.prepare(claimed)  # overlaps with the batch on the wire
            settle()
            if report.stopped:
                report.skipped.update(batch.skipped)
                report.retried += sender.release(batch, report.stopped)
                break
            in_flight = (batch, pool.submit(sender.send, batch))
        settle()
    finally:
        pool.shutdown(wait=True)
    report.remaining = store.pending_count()
    log.info(
        "delivery sent=%d failed=%d retried=%d remaining=%d taken_over=%d",
        report.sent,
        sum(report.failed.values()),
        report.retried,
        report.remaining,
        report.taken_over,
    )
    return report
