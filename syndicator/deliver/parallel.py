"""A large send from several processes: each claims its own batches from the shared store.

Claims never overlap (SQLite's write lock, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
processes send one edition together the way several machines would, each with the
guarantees of a single sender: at most its one batch in flight is unrecorded at a crash.
One process keeps one core busy with personalizing, store work and the HTTP writes; a
second one uses the machine's second core (bench/README.md "fanout").

Processes are forked, so only from a process without other threads (the CLI's ``run`` and
``send``; never the scheduler of ``serve``). ``[mail] rate`` is shared out among them.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from syndicator.config import Settings
from syndicator.deliver import open_backend
from syndicator.deliver.sender import DeliveryReport, Progress, deliver_pending
from syndicator.store import Store

__all__ = ["AUTO_FROM", "deliver_in_processes", "sender_processes"]

log = logging.getLogger(__name__)

AUTO_FROM = 10_000  # pending rows before `workers = 0` (automatic) forks a second sender
MOST = 4


def sender_processes(settings: Settings, pending: int, threads: int | None = None) -> int:
    """How many processes send ``pending`` rows: ``[mail] workers``, or automatically one per
    core (at most 4) for a large send; always one from a process running ``threads`` > 1."""
    mail = settings.mail
    if mail.backend == "outbox":
        return 1  # files on one disk: nothing to gain
    if mail.workers:
        wanted = mail.workers
    elif pending < AUTO_FROM:
        return 1
    else:
        wanted = min(os.cpu_count() or 1, MOST)
    if wanted > 1 and (threads or threading.active_count()) > 1:
        log.info("delivery in one process: this process runs other threads")
        return 1
    return wanted


def _merge(total: DeliveryReport, part: DeliveryReport) -> None:
    total.sent += part.sent
    total.failed.update(part.failed)
    total.retried += part.retried
    total.skipped.update(part.skipped)
    total.taken_over += part.taken_over
    if part.stopped and not total.stopped:
        total.stopped = part.stopped


def _child(
    settings: Settings,
    now: Callable[[], datetime],
    edition_id: int | None,
    done: Any,
    slot: int,
    report_to: Connection,
) -> None:
    """One forked sender: its own store connection and HTTP client, its report to the parent."""

    def progress(count: int, _total: int) -> None:
        done[slot] = count

    report = DeliveryReport()
    try:
        with Store.open(settings.database.url) as store:
            backend = open_backend(settings.mail)
            try:
                report = deliver_pending(
                    settings, store, backend, now, edition_id=edition_id, progress=progress
                )
            finally:
                backend.close()
    except Exception as exc:  # reported, not raised: the parent says what happened
        log.exception("sender process failed")
        report.stopped = f"a sender process failed: {exc}"
    report_to.send(report)
    report_to.close()


def deliver_in_processes(
    settings: Settings,
    store: Store,
    now: Callable[[], datetime],
    processes: int,
    *,
    edition_id: int | None = None,
    progress: Progress | None = None,
) -> DeliveryReport:
    """Send every pending row from ``processes`` processes (this one included)."""
    shared = dataclasses.replace(
        settings, mail=dataclasses.replace(settings.mail, rate=settings.mail.rate / processes)
    )
    context = multiprocessing.get_context("fork")
    done = context.Array("q", processes, lock=False)
    total = store.pending_count()
    children = []
    for slot in range(1, processes):
        receive, send = context.Pipe(duplex=False)
        child = context.Process(
            target=_child,
            args=(shared, now, edition_id, done, slot, send),
            name=f"sender-{slot}",
            daemon=True,
        )
        child.start()
        send.close()
        children.append((child, receive))
    log.info("delivery from %d processes pending=%d", processes, total)

    def own_progress(count: int, _total: int) -> None:
        done[0] = count
        if progress:
            progress(sum(done), max(total, sum(done)))

    report = DeliveryReport()
    shares: list[int] = []
    backend = open_backend(shared.mail)
    try:
        own = deliver_pending(
            shared, store, backend, now, edition_id=edition_id, progress=own_progress
        )
        _merge(report, own)
        shares.append(_settled(own))
    finally:
        backend.close()
        for child, receive in children:
            try:
                part: DeliveryReport = receive.recv()
            except EOFError:  # the process died before reporting; its rows stay claimed
                report.stopped = report.stopped or f"{child.name} ended without a report"
                shares.append(0)
            else:
                _merge(report, part)
                shares.append(_settled(part))
            child.join()
    report.shares = tuple(shares)
    report.remaining = store.pending_count()
    log.info("delivery shares by process %s", report.shares)
    return report


def _settled(report: DeliveryReport) -> int:
    return report.sent + sum(report.failed.values()) + sum(report.skipped.values())
