"""`syndicator subscribers ...`: thin commands over the store and the CSV format."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from syndicator.config import Settings
from syndicator.errors import ConfigError
from syndicator.model import SubscriberStatus
from syndicator.store import Store
from syndicator.subscribers import ImportRow, InvalidAddress, normalize_email, read_csv, write_csv

__all__ = ["dispatch"]


def _check_newsletters(settings: Settings, names: list[str]) -> tuple[str, ...]:
    for name in names:
        settings.newsletter(name)
    return tuple(names) or tuple(n.name for n in settings.newsletters)


def dispatch(args: argparse.Namespace, settings: Settings, store: Store, now: datetime) -> int:
    action = args.action
    if action == "add":
        try:
            email = normalize_email(args.email)
        except InvalidAddress as exc:
            raise ConfigError(str(exc), key="EMAIL") from exc
        newsletters = _check_newsletters(settings, args.newsletter)
        status = SubscriberStatus.ACTIVE if args.confirmed else SubscriberStatus.PENDING
        subscriber = store.add_subscriber(
            email,
            name=args.name,
            newsletters=newsletters,
            status=status,
            language=args.language,
            now=now,
        )
        if args.confirmed and subscriber.status != SubscriberStatus.ACTIVE:
            store.set_status(subscriber.id, SubscriberStatus.ACTIVE, now)
        state = "active" if args.confirmed else "pending (confirmation needed)"
        print(f"{email}: {state}, newsletters: {', '.join(newsletters) or '-'}")
        return 0
    if action == "remove":
        email = args.email.strip()
        if not store.remove_subscriber(email, suppress=args.suppress, now=now):
            print(f"{email}: no such subscriber", file=sys.stderr)
            return 1
        print(f"{email}: removed" + (" and suppressed" if args.suppress else ""))
        return 0
    if action == "list":
        if args.newsletter:
            settings.newsletter(args.newsletter)
        count = 0
        for s in store.subscribers(newsletter=args.newsletter):
            names = ",".join(sub.newsletter for sub in s.subscriptions)
            print(f"{s.email}\t{s.status.value}\t{names}\t{s.name}")
            count += 1
        print(f"{count} subscriber(s)", file=sys.stderr)
        return 0
    if action == "import":
        return _import(args, settings, store, now)
    if action == "export":
        if args.file:
            with args.file.open("w", encoding="utf-8", newline="") as out:
                count = write_csv(store.subscribers(), out)
            print(f"exported {count} subscriber(s) to {args.file}")
        else:
            write_csv(store.subscribers(), sys.stdout)
        return 0
    raise ConfigError(f"unknown action {action!r}")


def _import(args: argparse.Namespace, settings: Settings, store: Store, now: datetime) -> int:
    try:
        stream = args.file.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(args.file)) from exc
    imported = bad = 0
    with stream:
        for row in read_csv(stream, (n.name for n in settings.newsletters)):
            if not isinstance(row, ImportRow):
                line, reason = row
                print(f"{args.file}:{line}: {reason}", file=sys.stderr)
                bad += 1
                continue
            newsletters = row.newsletters or tuple(n.name for n in settings.newsletters)
            subscriber = store.add_subscriber(
                row.email,
                name=row.name,
                newsletters=newsletters,
                status=row.status,
                now=row.created or now,
            )
            if subscriber.status != row.status:
                store.set_status(subscriber.id, row.status, now)
            imported += 1
    print(f"imported {imported} subscriber(s), {bad} row(s) skipped")
    return 1 if bad else 0
