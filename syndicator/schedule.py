"""`syndicator serve`: APScheduler 3 jobs that call the same jobs as `run`, plus the web app.

No logic lives here: due-ness and edition state are in the store, so a restart, a missed slot
or a `syndicator run` from cron at the same time all agree.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syndicator import metrics
from syndicator.config import NewsletterSettings, Settings
from syndicator.editions import make_edition
from syndicator.jobs import deliver
from syndicator.pipeline import collect, publish_feeds
from syndicator.schedule_expr import parse_cron
from syndicator.store import Store
from syndicator.websub import notify_hub

__all__ = ["build_scheduler", "serve"]

log = logging.getLogger(__name__)
MISFIRE_GRACE = 3600  # seconds: a slot missed by up to an hour still runs (once: coalesce)


def _now() -> datetime:
    return datetime.now(UTC)


def _collect_and_publish(settings: Settings, store: Store) -> None:
    started = time.monotonic()
    now = _now()
    collect(settings, store, now)
    metrics.observe_collect(time.monotonic() - started)
    notify_hub(settings, publish_feeds(settings, store, now).written)


def collect_job(settings: Settings, store: Store) -> None:
    with store.lock("run", wait=True):
        _collect_and_publish(settings, store)


def newsletter_job(settings: Settings, store: Store, newsletter: NewsletterSettings) -> None:
    with store.lock("run", wait=True):
        _collect_and_publish(settings, store)
        if make_edition(settings, store, newsletter, _now()) is not None:
            metrics.count_edition(newsletter.name)
        report = deliver(settings, store, _now, quiet=True)
        metrics.count_sent(report.sent)
        for reason, count in report.failed.items():
            metrics.count_failed(reason, count)


def _guarded(fn: Callable[..., None], *args: object) -> Callable[[], None]:
    def run() -> None:
        try:
            fn(*args)
        except Exception:  # a failed job is logged; the scheduler keeps running
            log.exception("job failed job=%s", fn.__name__)

    run.__name__ = fn.__name__
    return run


def build_scheduler(settings: Settings, store: Store) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        timezone=settings.site.timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE},
    )
    scheduler.add_job(
        _guarded(collect_job, settings, store),
        IntervalTrigger(seconds=settings.collect.every.total_seconds()),
        id="collect",
        next_run_time=_now(),
    )
    for newsletter in settings.newsletters:
        scheduler.add_job(
            _guarded(newsletter_job, settings, store, newsletter),
            parse_cron(newsletter.schedule, settings.site.timezone),
            id=f"newsletter:{newsletter.name}",
        )
    return scheduler


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> int:
    """Run the scheduler and the web app until SIGTERM/SIGINT; finish the current job first."""
    store = Store.open(settings.database.url)
    scheduler = build_scheduler(settings, store)
    scheduler.start()
    log.info("scheduler started jobs=%s", ",".join(job.id for job in scheduler.get_jobs()))
    try:
        try:
            import uvicorn

            from syndicator.web import build_app
        except ImportError:
            stop = threading.Event()

            def handle(signum: int, frame: FrameType | None) -> None:
                stop.set()

            signal.signal(signal.SIGTERM, handle)
            signal.signal(signal.SIGINT, handle)
            stop.wait()
        else:
            # uvicorn re-raises the signal that stopped it once it has shut down; with Python's
            # default handler that would kill us before the scheduler finishes its job.
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda signum, frame: None)
            uvicorn.run(
                build_app(settings, store),
                host=host or settings.web.host,
                port=port or settings.web.port,
                log_level="warning",
            )
    finally:
        log.info("shutting down: waiting for the running job to finish")
        scheduler.shutdown(wait=True)
        store.close()
    return 0
