"""Cron expressions keep standard cron meaning (Sunday = 0) on top of APScheduler."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from syndicator.schedule_expr import CronError, next_fire, parse_cron

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param("0 9 * * 1", datetime(2026, 11, 30, 9, 0, tzinfo=SEOUL), id="numeric-monday"),
        pytest.param("0 9 * * mon", datetime(2026, 11, 30, 9, 0, tzinfo=SEOUL), id="named-monday"),
        pytest.param("0 9 * * 0", datetime(2026, 11, 29, 9, 0, tzinfo=SEOUL), id="zero-is-sunday"),
        pytest.param("0 9 * * 7", datetime(2026, 11, 29, 9, 0, tzinfo=SEOUL), id="seven-is-sunday"),
        pytest.param("30 8 * * 1-5", datetime(2026, 11, 26, 8, 30, tzinfo=SEOUL), id="weekdays"),
        pytest.param("@daily", datetime(2026, 11, 26, 0, 0, tzinfo=SEOUL), id="macro"),
    ],
)
def test_next_fire_uses_cron_weekdays(expression: str, expected: datetime) -> None:
    after = datetime(2026, 11, 25, 12, 0, tzinfo=SEOUL)  # a Wednesday
    assert next_fire(parse_cron(expression, SEOUL), after) == expected


def test_fire_is_strictly_after() -> None:
    trigger = parse_cron("0 9 * * *", SEOUL)
    at = datetime(2026, 11, 25, 9, 0, tzinfo=SEOUL)
    assert next_fire(trigger, at) == datetime(2026, 11, 26, 9, 0, tzinfo=SEOUL)


def test_dst_zone_keeps_wall_clock_time() -> None:
    trigger = parse_cron("0 9 * * *", NEW_YORK)
    before = datetime(2026, 3, 7, 8, 0, tzinfo=NEW_YORK)  # DST starts 2026-03-08
    fire = next_fire(trigger, before)
    assert fire is not None
    after = next_fire(trigger, fire)
    assert (fire.hour, after.hour if after else None) == (9, 9)
    assert fire.utcoffset() != (after.utcoffset() if after else None)


@pytest.mark.parametrize("expression", ["0 9 * * funday", "0 9 * *", "61 * * * *", "0 9 * * 5-2"])
def test_invalid_expressions(expression: str) -> None:
    with pytest.raises(CronError):
        parse_cron(expression, SEOUL)
