"""Jekyll front matter: split a post file, load its YAML like Psych, and read dates as Jekyll does.

YAML timestamps are kept as text (``YamlTimestamp``) because Jekyll's meaning depends on their
shape: a plain ``2026-01-06 10:00:00`` without offset is UTC (Psych), while a quoted string or
``2026-01-06 10:00`` is parsed in the site time zone (Ruby ``Time.parse`` under ``TZ``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import yaml

from syndicator.errors import SourceError
from syndicator.sources.jekyll_frontmatter_fast import read_simple_yaml

__all__ = ["FrontMatter", "YamlTimestamp", "load_yaml", "parse_date", "split_front_matter"]

try:
    _BaseLoader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

# jekyll/document.rb YAML_FRONT_MATTER_REGEXP
_FRONT_MATTER = re.compile(r"\A(---\s*\n.*?\n?)^((---|\.\.\.)\s*$\n?)", re.M | re.S)
_DATE = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:[Tt]|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|UTC|GMT|[-+]\d{1,2}(?::?\d{2})?)?\s*$"
)


class YamlTimestamp(str):
    """A plain YAML timestamp scalar, kept as its text."""


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loader that leaves timestamps as YamlTimestamp text."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> YamlTimestamp:
    return YamlTimestamp(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


class FrontMatter:
    """A post file split into its YAML data and its body; ``body_line`` is the body's first line."""

    __slots__ = ("body", "body_line", "data")

    def __init__(self, data: dict[str, Any], body: str, body_line: int) -> None:
        self.data = data
        self.body = body
        self.body_line = body_line


def load_yaml(text: str, origin: str, first_line: int = 1) -> Any:
    """Safe-load YAML; errors become SourceError with the line number in the file."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + mark.line if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SourceError(
            f"invalid YAML front matter: {problem}", origin=origin, line=line
        ) from exc


def split_front_matter(text: str, origin: str) -> FrontMatter:
    """Split ``---`` front matter from the body; a file without it has empty data."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return FrontMatter({}, text, 1)
    yaml_text = match.group(1)
    data = read_simple_yaml(yaml_text, YamlTimestamp)
    if data is None:  # not one of the common shapes: PyYAML reads it
        data = load_yaml(yaml_text, origin, first_line=1)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourceError("front matter is not a mapping of keys to values", origin=origin, line=2)
    body_line = match.group(0).count("\n") + 1
    return FrontMatter({str(k): v for k, v in data.items()}, text[match.end() :], body_line)


def _offset(text: str) -> tzinfo:
    if text in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2]) if len(digits) >= 3 else int(digits)
    minutes = int(digits[2:]) if len(digits) >= 3 else 0
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_date(value: object, zone: tzinfo) -> datetime:
    """A front matter or file-name date as Jekyll reads it, in the site time zone.

    Raises ValueError for anything Jekyll would call an invalid date.
    """
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(zone)
    text = str(value)
    match = _DATE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a date like 2026-01-05 or 2026-01-05 10:00:00 +0900")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if offset:
        tz: tzinfo = _offset(offset)
    elif isinstance(value, YamlTimestamp) and second is not None:
        tz = UTC  # Psych reads an unzoned YAML timestamp as UTC
    else:
        tz = zone
    naive = datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
    )
    if tz is zone:
        return naive.replace(tzinfo=zone)
    return naive.replace(tzinfo=tz).astimezone(zone)
