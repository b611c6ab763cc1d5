"""Five-field cron expressions with standard cron meaning, as APScheduler 3 triggers.

APScheduler numbers weekdays from Monday = 0, while cron numbers them from Sunday = 0 (and 7);
numeric weekday fields are translated to names so ``0 9 * * 1`` means Monday, as users expect.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

__all__ = ["CronError", "next_fire", "parse_cron"]

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * sun",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


class CronError(ValueError):
    """The text is not a five-field cron expression."""


def _day(token: str) -> int:
    lowered = token.lower()
    if lowered[:3] in _DAYS and lowered.isalpha():
        return _DAYS.index(lowered[:3])
    if not token.isdigit() or int(token) > 7:
        raise CronError(f"{token!r} is not a weekday (0-7 or sun-sat)")
    return int(token) % 7


def _weekdays(field: str) -> str:
    """Translate a cron day-of-week field to an explicit list of APScheduler day names."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise CronError(f"{part!r} has a bad step")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            a, b = span.split("-", 1)
            first, last = _day(a), _day(b)
            if b.strip() == "7":
                last = 7
            if last < first:
                raise CronError(f"{span!r} is a backwards range")
        else:
            first = last = _day(span)
        days.update(d % 7 for d in range(first, last + 1, step or 1))
    return ",".join(_DAYS[d] for d in sorted(days))


def parse_cron(expression: str, zone: tzinfo) -> CronTrigger:
    """A CronTrigger for ``expression`` in ``zone``; CronError if it is not valid cron."""
    from apscheduler.triggers.cron import CronTrigger  # ~70 ms: only when newsletters exist

    text = _MACROS.get(expression.strip().lower(), expression)
    fields = text.split()
    if len(fields) != 5:
        raise CronError(f"cron needs 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_weekdays(weekday),
            timezone=zone,
        )
    except ValueError as exc:
        raise CronError(str(exc)) from exc


def next_fire(trigger: CronTrigger, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after``."""
    fire: datetime | None = trigger.get_next_fire_time(None, after)
    if fire is not None and fire <= after:
        fire = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    return fire
