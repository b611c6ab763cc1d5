"""A sending process for the sender tests, and the helpers that build its edition.

``python -m tests.deliver.crash_worker CONFIG [--clock-offset MIN] [--wait-for PATH]`` delivers
every pending row with the configured backend (key and URL from the environment) and prints
the report as JSON; the tests kill it mid-send or run two at once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from syndicator import config
from syndicator.config import Settings
from syndicator.deliver import open_backend
from syndicator.deliver.sender import deliver_pending
from syndicator.editions import make_edition
from syndicator.model import Edition, SubscriberStatus
from syndicator.store import Store
from syndicator.store.schema import subscribers, subscriptions

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sender-test-secret"


def write_config(root: Path, db_url: str, backend: str, extra_mail: str = "") -> Path:
    """A site with the example posts, one weekly newsletter and the given mail backend."""
    if not (root / "site").exists():
        shutil.copytree(ROOT / "examples" / "site", root / "site")
    path = root / "syndicator.toml"
    path.write_text(
        '[[sources]]\nname = "blog"\ntype = "jekyll"\npath = "site"\n'
        f'[database]\nurl = "{db_url}"\n'
        f'[mail]\nbackend = "{backend}"\nfrom = "Weekly Notes <news@blog.example.com>"\n'
        f'outbox = "outbox"\n{extra_mail}\n'
        '[web]\nbase_url = "https://news.example.com"\npostal_address = "Seoul"\n'
        '[[newsletters]]\nname = "weekly"\ntitle = "Weekly Notes"\n'
        'schedule = "0 9 * * mon"\nsince = "36500d"\n',
        encoding="utf-8",
    )
    return path


def mail_env(url: str, key: str) -> dict[str, str]:
    return {
        "SYNDICATOR_SECRET_KEY": SECRET,
        "SYNDICATOR_MAIL_API_URL": url,
        "SYNDICATOR_MAIL_API_KEY": key,
    }


def load(path: Path, env: dict[str, str]) -> Settings:
    return config.load(path, env=env)


def add_subscribers(
    store: Store, emails: list[str], now: datetime, languages: tuple[str | None, ...] = (None,)
) -> None:
    """Active weekly subscribers in bulk (the one-by-one API takes minutes for 100,000)."""
    with store._db.write() as conn:
        base = conn.execute(subscribers.select().with_only_columns(subscribers.c.id)).all()
        start = max((r.id for r in base), default=0) + 1
        rows = [
            {
                "id": start + i,
                "email": email,
                "email_key": email.lower(),
                "name": f"Reader {i}" if i % 2 else "",
                "status": SubscriberStatus.ACTIVE.value,
                "created": now,
                "confirmed": now,
                "status_changed": now,
                "language": languages[i % len(languages)],
            }
            for i, email in enumerate(emails)
        ]
        for part in range(0, len(rows), 5000):
            conn.execute(subscribers.insert(), rows[part : part + 5000])
            conn.execute(
                subscriptions.insert(),
                [
                    {
                        "subscriber_id": r["id"],
                        "newsletter": "weekly",
                        "topics": [],
                        "frequency": "weekly",
                    }
                    for r in rows[part : part + 5000]
                ],
            )
        if not store._db.is_sqlite:  # explicit ids: move the sequence past them
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('subscribers', 'id'), "
                "(SELECT max(id) FROM subscribers))"
            )


def make_big_edition(settings: Settings, store: Store, count: int, now: datetime) -> Edition:
    """Collect the example posts and make one edition for ``count`` new subscribers."""
    from syndicator.pipeline import collect

    collect(settings, store, now)
    add_subscribers(store, [f"reader{i}@example.org" for i in range(count)], now)
    edition = make_edition(settings, store, settings.newsletter("weekly"), now, force=True)
    assert edition is not None
    return edition


def clock(offset: timedelta) -> Callable[[], datetime]:
    return lambda: datetime.now(UTC) + offset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config", type=Path)
    parser.add_argument("--clock-offset", type=float, default=0.0, help="minutes")
    parser.add_argument("--wait-for", type=Path, default=None)
    args = parser.parse_args()
    settings = load(args.config, dict(os.environ))
    store = Store.open(settings.database.url)
    backend = open_backend(settings.mail)
    print("ready", flush=True)
    if args.wait_for is not None:
        while not args.wait_for.exists():
            time.sleep(0.01)
    try:
        report = deliver_pending(
            settings, store, backend, clock(timedelta(minutes=args.clock_offset))
        )
    finally:
        backend.close()
        store.close()
    print(
        json.dumps(
            {
                "sent": report.sent,
                "failed": dict(report.failed),
                "retried": report.retried,
                "remaining": report.remaining,
                "stopped": report.stopped,
                "taken_over": report.taken_over,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
