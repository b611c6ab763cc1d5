"""Reading TOML values into typed settings values; every error names the file and the key."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syndicator.errors import ConfigError

__all__ = ["Table", "absolute_url", "non_negative", "parse_duration", "positive_int", "zone"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """'15m', '1h', '7d', '30s', or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration like '15m', '1h' or '7d'")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration like '15m', '1h' or '7d'")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


_T = TypeVar("_T")


class Table:
    """A TOML table being read: remembers its place for messages and rejects unknown keys."""

    def __init__(self, data: object, where: str, file: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"must be a table, got {type(data).__name__}", file=file, key=where)
        self.data: dict[str, Any] = data
        self.where = where
        self.file = file
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def error(self, name: str, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, key=self.key(name))

    def get(self, name: str, kind: type[_T], default: _T) -> _T:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(name, f"{value!r} must be {kind.__name__}")
        return value

    def convert(self, name: str, default: _T, fn: Callable[[Any], _T]) -> _T:
        self.used.add(name)
        if name not in self.data:
            return default
        try:
            return fn(self.data[name])
        except (ValueError, TypeError) as exc:
            raise self.error(name, str(exc)) from exc

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.get(name, list, list(default))
        if not all(isinstance(v, str) for v in value):
            raise self.error(name, "must be a list of strings")
        return tuple(value)

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(name, str, default)
        if value not in choices:
            raise self.error(name, f"{value!r} is not one of: {', '.join(choices)}")
        return value

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], "unknown setting (see config/syndicator.example.toml)")


def zone(value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone such as 'Asia/Seoul'") from exc


def absolute_url(value: Any) -> str:
    text = str(value).rstrip("/")
    if text and not re.match(r"^https?://[^/\s]+", text):
        raise ValueError(f"{value!r} must be an absolute http(s) URL")
    return text


def positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{value!r} must be a whole number of at least 1")
    return value


def non_negative(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{value!r} must be a number of at least 0")
    return float(value)
