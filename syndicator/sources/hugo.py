"""The Hugo source: a site's ``content/<section>/**`` regular pages as Posts, with Hugo's URLs.

Incremental like the Jekyll source: a page's stamp is its mtime, size and the site config's
digest. Drafts, pages whose publishDate is after ``now`` and expired pages are left out, as a
default ``hugo`` build does; ``_index`` list pages and pages outside a section are not posts.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import yaml

from syndicator.config import SiteSettings, SourceSettings
from syndicator.errors import ConfigError, SourceError
from syndicator.model import Author, Post
from syndicator.sources import Collection
from syndicator.sources.hugo_config import HugoSite, load_site, page_url, to_datetime

__all__ = ["HugoSource"]

log = logging.getLogger(__name__)

_PAGE_EXTS = (".md", ".markdown", ".mdown")
_MORE = re.compile(r"<!--\s*more\s*-->", re.I)
_FRONT = re.compile(r"\A(---|\+\+\+)[ \t]*\r?\n(.*?)\r?\n\1[ \t]*(?:\r?\n|\Z)", re.S)
# Hugo's front matter date fallbacks (its default [frontmatter] config).
_DATE_KEYS = ("date", "publishdate", "pubdate", "published", "lastmod", "modified")
_PUBLISH_KEYS = ("publishdate", "pubdate", "published", "date")
_LASTMOD_KEYS = ("lastmod", "modified", "date", "publishdate", "pubdate", "published")
_EXPIRY_KEYS = ("expirydate", "unpublishdate")


def split_front_matter(text: str, origin: str) -> tuple[dict[str, Any], str]:
    """YAML (---) or TOML (+++) front matter with lowercased keys, and the content after it."""
    match = _FRONT.match(text.lstrip("\ufeff"))
    if not match:
        return {}, text
    fence, raw = match.group(1), match.group(2)
    try:
        data = tomllib.loads(raw) if fence == "+++" else yaml.safe_load(raw)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        kind = "TOML" if fence == "+++" else "YAML"
        raise SourceError(f"front matter is not valid {kind}: {exc}", origin=origin) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SourceError("front matter must be a mapping", origin=origin)
    return {str(k).lower(): v for k, v in data.items()}, text[match.end() :]


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if isinstance(value, list):
        return tuple(dict.fromkeys(str(v) for v in value if str(v).strip()))
    return ()


def _first_date(front: Mapping[str, Any], keys: tuple[str, ...], zone: Any) -> datetime | None:
    for key in keys:
        value = to_datetime(front.get(key), zone, key)
        if value is not None:
            return value
    return None


class HugoSource:
    """A Hugo site folder (``settings.path``)."""

    def __init__(self, settings: SourceSettings, site: SiteSettings) -> None:
        if settings.path is None:
            raise ConfigError("a hugo source needs path", key=f"sources.{settings.name}.path")
        unknown = sorted(set(settings.options) - {"sections"})
        if unknown:
            raise ConfigError(
                "unknown setting; hugo sources take: sections",
                key=f"sources.{settings.name}.{unknown[0]}",
            )
        sections = settings.options.get("sections", [])
        if not isinstance(sections, list) or not all(isinstance(s, str) for s in sections):
            raise ConfigError(
                "must be a list of section names", key=f"sources.{settings.name}.sections"
            )
        self.name = settings.name
        self.root = settings.path
        self.sections = frozenset(sections)
        self.fallback_url = site.url + site.baseurl
        self.author = site.author

    def _pages(self) -> Iterator[tuple[str, Path, os.stat_result]]:
        """Every regular page under content/<section>/, as (origin, path below content, stat)."""
        content = self.root / "content"
        for folder, dirs, files in os.walk(content):
            here = Path(folder)
            dirs.sort()
            leaf = next((f for f in files if f.lower() in ("index.md", "index.markdown")), None)
            if leaf:
                dirs.clear()  # a leaf bundle: everything else inside is a resource
                files = [leaf]
            if here == content:
                dirs[:] = [d for d in dirs if not self.sections or d in self.sections]
                continue  # pages directly in content/ belong to no section
            for name in sorted(files):
                if not name.endswith(_PAGE_EXTS) or name.startswith(("_index.", ".")):
                    continue
                path = here / name
                yield path.relative_to(self.root).as_posix(), path.relative_to(content), path.stat()

    def collect(
        self, known: Mapping[str, str], state: Mapping[str, Any], now: datetime
    ) -> Collection:
        """Read the pages whose stamp changed; report the rest as unchanged."""
        try:
            site = load_site(self.root, self.fallback_url)
        except SourceError as exc:
            return Collection(source=self.name, problems=(exc,), failed=True)
        skipped_before: Mapping[str, str] = state.get("skipped") or {}
        expires_before: Mapping[str, str] = state.get("expires") or {}
        changed: list[Post] = []
        unchanged: set[str] = set()
        problems: list[SourceError] = []
        stamps: dict[str, str] = {}
        origins: dict[str, str] = {}
        skipped: dict[str, str] = {}
        expires: dict[str, str] = {}
        for origin, relative, st in self._pages():
            stamp = f"{st.st_mtime_ns}:{st.st_size}:{site.digest}"
            expiry = expires_before.get(origin)
            if known.get(origin) == stamp and not (
                expiry and datetime.fromisoformat(expiry) <= now
            ):
                unchanged.add(origin)
                stamps[origin] = stamp
                if expiry:
                    expires[origin] = expiry
                continue
            if skipped_before.get(origin) == stamp:
                skipped[origin] = stamp
                continue
            try:
                post, expiry_date, why = self._read(site, origin, relative, st, now)
            except SourceError as exc:
                log.warning("page not used origin=%s error=%s", origin, exc)
                problems.append(exc)
                continue
            if post is None:
                log.info("page left out origin=%s reason=%s", origin, why)
                if why == "draft":
                    skipped[origin] = stamp
                continue
            changed.append(post)
            stamps[origin] = stamp
            origins[origin] = post.id
            if expiry_date is not None:
                expires[origin] = expiry_date.isoformat()
        return Collection(
            source=self.name,
            changed=tuple(changed),
            unchanged=frozenset(unchanged),
            problems=tuple(problems),
            stamps=stamps,
            origins=origins,
            complete=True,
            state={"skipped": skipped, "expires": expires},
        )

    def _read(
        self, site: HugoSite, origin: str, relative: Path, st: os.stat_result, now: datetime
    ) -> tuple[Post | None, datetime | None, str]:
        """The page's Post (or None and why it is left out), and its expiry date."""
        path = self.root / origin
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read: {exc}", origin=origin) from exc
        front, body = split_front_matter(text, origin)
        if front.get("draft") is True:
            return None, None, "draft"
        modified = datetime.fromtimestamp(st.st_mtime, UTC)
        try:
            date = _first_date(front, _DATE_KEYS, site.zone) or modified
            published = _first_date(front, _PUBLISH_KEYS, site.zone) or date
            lastmod = _first_date(front, _LASTMOD_KEYS, site.zone) or date
            expiry = _first_date(front, _EXPIRY_KEYS, site.zone)
        except SourceError as exc:
            raise SourceError(exc.reason, origin=origin) from exc
        if published > now:
            return None, None, f"future publishDate {published.isoformat()}"
        if expiry is not None and expiry <= now:
            return None, None, f"expired {expiry.isoformat()}"
        url = page_url(site, relative, front, date)
        parts = _MORE.split(body, maxsplit=1)
        excerpt = front.get("summary") if isinstance(front.get("summary"), str) else None
        if excerpt is None and len(parts) == 2:
            excerpt = parts[0].strip() or None
        images = _strings(front.get("images")) or _strings(front.get("image"))
        authors = _strings(front.get("authors")) or _strings(front.get("author"))
        if not authors and self.author:
            authors = (self.author,)
        post = Post(
            id=url,
            url=url,
            title=str(front.get("title") or relative.stem),
            published=published,
            updated=max(lastmod, published),
            source=self.name,
            body="".join(parts).strip() + "\n",
            body_format="markdown",
            excerpt=excerpt,
            authors=tuple(Author(name) for name in authors),
            categories=_strings(front.get("categories")),
            tags=_strings(front.get("tags")),
            image=urljoin(url, images[0]) if images else None,
            language=site.language,
            origin=origin,
        )
        return post, expiry, ""
