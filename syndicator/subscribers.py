"""Subscriber addresses and CSV files: validation, import with per-row errors, export."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from email_validator import EmailNotValidError, validate_email

from syndicator.errors import SyndicatorError
from syndicator.model import Subscriber, SubscriberStatus

__all__ = ["CSV_COLUMNS", "ImportRow", "InvalidAddress", "normalize_email", "read_csv", "write_csv"]

CSV_COLUMNS = ("email", "name", "newsletters", "status", "created_at")


class InvalidAddress(SyndicatorError):
    """An email address that cannot receive mail."""


def normalize_email(address: str) -> str:
    """The address in normal form (Unicode domain to IDNA-compatible, domain lowercased)."""
    text = address.strip()
    if "\r" in text or "\n" in text:
        raise InvalidAddress(f"{address!r} contains a line break")
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(f"{text!r} is not a valid email address: {exc}") from exc
    return str(result.normalized)


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    email: str
    name: str
    newsletters: tuple[str, ...]
    status: SubscriberStatus
    created: datetime | None


def read_csv(
    stream: TextIO, known_newsletters: Iterable[str]
) -> Iterator[ImportRow | tuple[int, str]]:
    """Rows of a subscriber CSV; a bad row yields (line number, reason) and the rest go on."""
    known = set(known_newsletters)
    reader = csv.DictReader(stream)
    if reader.fieldnames is None or "email" not in reader.fieldnames:
        yield (1, f"the header must name the columns {', '.join(CSV_COLUMNS)} (email is required)")
        return
    for row in reader:
        line = reader.line_num
        try:
            email = normalize_email(row.get("email") or "")
        except InvalidAddress as exc:
            yield (line, str(exc))
            continue
        names = tuple(n for n in (row.get("newsletters") or "").replace(";", " ").split() if n)
        unknown = [n for n in names if n not in known]
        if unknown:
            yield (line, f"unknown newsletter {unknown[0]!r} (known: {', '.join(sorted(known))})")
            continue
        status_text = (row.get("status") or "active").strip().lower()
        try:
            status = SubscriberStatus(status_text)
        except ValueError:
            valid = ", ".join(s.value for s in SubscriberStatus)
            yield (line, f"status {status_text!r} is not one of: {valid}")
            continue
        created = None
        if row.get("created_at"):
            try:
                created = datetime.fromisoformat(row["created_at"].strip())
            except ValueError:
                yield (line, f"created_at {row['created_at']!r} is not an ISO 8601 date")
                continue
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
        yield ImportRow(line, email, (row.get("name") or "").strip(), names, status, created)


def write_csv(subscribers: Iterable[Subscriber], stream: TextIO) -> int:
    """Write subscribers in the import format; returns the number of rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for s in subscribers:
        writer.writerow(
            [
                s.email,
                s.name,
                " ".join(sub.newsletter for sub in s.subscriptions),
                s.status.value,
                s.created.isoformat(),
            ]
        )
        count += 1
    return count
