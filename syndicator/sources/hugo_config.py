"""What a Hugo site's config and front matter decide: base URL, time zone, permalinks, dates."""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from syndicator.errors import SourceError

__all__ = ["CONFIG_FILES", "HugoSite", "load_site", "page_url", "to_datetime", "urlize"]

CONFIG_FILES = ("hugo.toml", "hugo.yaml", "hugo.yml", "config.toml", "config.yaml", "config.yml")
_ALLOWED_PUNCTUATION = set("./\\_#+~-@")


@dataclass(frozen=True, slots=True)
class HugoSite:
    base_url: str  # with a trailing slash, e.g. https://example.org/blog/
    language: str | None
    zone: ZoneInfo
    permalinks: Mapping[str, str] = field(default_factory=dict)  # section -> pattern
    digest: str = ""  # changes when the config changes; part of every file's stamp


def load_site(root: Path, fallback_url: str) -> HugoSite:
    """Read the first config file Hugo would; SourceError when it is unreadable."""
    raw: dict[str, Any] = {}
    data = b""
    for name in CONFIG_FILES:
        path = root / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        try:
            loaded = (
                tomllib.loads(data.decode("utf-8"))
                if name.endswith(".toml")
                else yaml.safe_load(data.decode("utf-8"))
            )
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
            raise SourceError(f"cannot read the site config: {exc}", origin=name) from exc
        raw = loaded if isinstance(loaded, dict) else {}
        break
    config = {str(k).lower(): v for k, v in raw.items()}
    base = str(config.get("baseurl") or fallback_url or "/")
    base = base if base.endswith("/") else base + "/"
    try:
        zone = ZoneInfo(str(config.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SourceError(f"timeZone {config.get('timezone')!r} is not an IANA zone") from exc
    permalinks: dict[str, str] = {}
    table = config.get("permalinks")
    if isinstance(table, dict):
        page = table.get("page")
        for section, pattern in (page if isinstance(page, dict) else table).items():
            if isinstance(pattern, str):
                permalinks[str(section)] = pattern
    language = config.get("languagecode") or config.get("defaultcontentlanguage")
    digest = hashlib.sha256(data + repr((base, zone.key)).encode()).hexdigest()[:16]
    return HugoSite(base, str(language) if language else None, zone, permalinks, digest)


def to_datetime(value: Any, zone: ZoneInfo, key: str) -> datetime | None:
    """A front matter date as Hugo reads it; values without an offset are in the site zone."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise SourceError(f"{key}: {value!r} is not a date like 2025-01-31T09:00:00") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def urlize(text: str) -> str:
    """Hugo's path sanitizing: keep letters, digits and a few marks; spaces become hyphens."""
    out: list[str] = []
    hyphen_pending = False
    was_hyphen = False
    for char in text:
        category = unicodedata.category(char)
        if char in _ALLOWED_PUNCTUATION or category[0] in "LM" or category == "Nd":
            was_hyphen = char == "-"
            if hyphen_pending and not was_hyphen:
                out.append("-")
            hyphen_pending = False
            out.append(char)
        elif out and not was_hyphen and char.isspace():
            hyphen_pending = True
    return "".join(out).lower()


_TOKEN = re.compile(
    r":(slugorcontentbasename|slugorfilename|contentbasename|filename|slug|title|"
    r"yearday|year|monthname|month|weekdayname|weekday|day|sections|section)"
)


def _expand(pattern: str, values: Mapping[str, str]) -> str:
    return _TOKEN.sub(lambda m: values[m.group(1)], pattern)


def page_url(
    site: HugoSite,
    relative: Path,
    front: Mapping[str, Any],
    when: datetime,
) -> str:
    """The absolute permalink Hugo gives a regular page at ``content/<relative>``."""
    parts = relative.parts
    section = parts[0]
    bundle = relative.stem.lower() == "index"
    base_name = parts[-2] if bundle else relative.stem
    folders = parts[:-2] if bundle else parts[:-1]
    title = str(front.get("title") or "")
    slug = str(front.get("slug") or "")
    custom = front.get("url")
    if isinstance(custom, str) and custom:
        path = custom if custom.startswith("/") else "/" + custom
    elif section in site.permalinks:
        values = {
            "year": f"{when.year:04d}",
            "month": f"{when.month:02d}",
            "monthname": when.strftime("%B").lower(),
            "day": f"{when.day:02d}",
            "weekday": str(when.isoweekday() % 7),
            "weekdayname": when.strftime("%A").lower(),
            "yearday": str(when.timetuple().tm_yday),
            "section": section,
            "sections": "/".join(folders),
            "title": urlize(title),
            "slug": urlize(slug or title),
            "filename": urlize(base_name),
            "contentbasename": urlize(base_name),
            "slugorfilename": urlize(slug or base_name),
            "slugorcontentbasename": urlize(slug or base_name),
        }
        path = _expand(site.permalinks[section], values)
    else:
        path = "/" + "/".join(urlize(p) for p in (*folders, slug or base_name)) + "/"
    path = re.sub(r"/{2,}", "/", path if path.startswith("/") else "/" + path)
    return site.base_url + quote(path.lstrip("/"), safe="/#+~@-._")
