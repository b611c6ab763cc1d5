"""One Jekyll post file to a Post, the way Jekyll 4 reads it (jekyll/document.rb)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from syndicator.errors import SourceError
from syndicator.model import Author, BodyFormat, Post
from syndicator.sources.jekyll_frontmatter import parse_date, split_front_matter
from syndicator.sources.jekyll_liquid import has_liquid, render_liquid
from syndicator.sources.jekyll_permalinks import (
    PostPath,
    absolute_url,
    post_id,
    post_url,
    titleize_slug,
)

__all__ = ["JekyllSite", "ParsedPost", "PostFile", "build_post", "parse_post"]

# jekyll/document.rb DATE_FILENAME_MATCHER, applied to the path inside _posts
DATE_FILENAME = re.compile(r"^(?:.+/)*?(\d{2,4}-\d{1,2}-\d{1,2})-([^/]*)(\.[^.]+)$")
HTML_EXTS = frozenset({".html", ".htm"})
MARKDOWN_EXTS = frozenset({".md", ".markdown", ".mkdown", ".mkdn", ".mkd"})


@dataclass(frozen=True, slots=True)
class JekyllSite:
    """What every post of one site shares: _config.yml merged with the [site] settings."""

    root: Path
    source: str
    url: str
    baseurl: str
    zone: ZoneInfo
    language: str
    template: str  # the posts' permalink template
    excerpt_separator: str
    future: bool
    author: Any  # _config.yml author (string or mapping) or the [site] author
    config: Mapping[str, Any] = field(default_factory=dict)
    authors_data: Mapping[str, Any] = field(default_factory=dict)  # _data/authors.yml
    defaults: tuple[Mapping[str, Any], ...] = ()  # _config.yml `defaults`, in order


def _defaults(site: JekyllSite, origin: str) -> dict[str, Any]:
    """Front matter defaults whose scope (path prefix, type posts) covers this post."""
    merged: dict[str, Any] = {}
    for entry in site.defaults:
        raw_scope = entry.get("scope")
        scope: Mapping[str, Any] = raw_scope if isinstance(raw_scope, dict) else {}
        values = entry.get("values")
        if not isinstance(values, dict) or scope.get("type") not in (None, "posts"):
            continue
        prefix = str(scope.get("path") or "").strip("/")
        if prefix and not (origin == prefix or origin.startswith(prefix + "/")):
            continue
        merged.update(values)
    return merged


@dataclass(frozen=True, slots=True)
class PostFile:
    """A file under some ``_posts`` folder whose name carries a date."""

    path: str  # absolute
    origin: str  # relative to the site root, '/'-separated
    inner: str  # relative to its _posts folder
    path_categories: tuple[str, ...]  # the folders above _posts

    @property
    def display(self) -> str:
        """The file's path for messages: relative to the working directory when possible."""
        cwd = os.getcwd() + os.sep
        return self.path[len(cwd) :] if self.path.startswith(cwd) else self.path


@dataclass(frozen=True, slots=True)
class ParsedPost:
    """A post's front matter read and its date, categories and URL worked out (no Liquid yet)."""

    file: PostFile
    data: Mapping[str, Any]
    body: str
    body_line: int
    slug: str
    date: datetime
    categories: tuple[str, ...]
    url: str  # site-relative, as Document#url

    @property
    def published(self) -> bool:
        return self.data.get("published", True) is not False


def _strings(value: object) -> list[str]:
    """Flatten nested lists (Ruby Array#flatten) and drop nils, as strings."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [item for part in value for item in _strings(part)]
    return [str(value)]


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _plural(data: Mapping[str, Any], singular: str, plural: str) -> list[str]:
    """Utils.pluralized_array_from_hash: the singular key as is, else the plural one split."""
    if data.get(singular) is not None:
        return _strings(data[singular])
    value = data.get(plural)
    return value.split() if isinstance(value, str) else _strings(value)


def _categories(file: PostFile, data: Mapping[str, Any]) -> tuple[str, ...]:
    front = data.get("categories")
    from_front = front.split() if isinstance(front, str) else _strings(front)
    merged = list(file.path_categories) + [c for c in from_front if c not in file.path_categories]
    extra = _plural({**data, "categories": merged}, "category", "categories")
    return _unique(merged + extra)


def parse_post(site: JekyllSite, file: PostFile, text: str) -> ParsedPost:
    """Front matter, date, slug, categories and URL; raises SourceError naming the file."""
    front = split_front_matter(text, file.display)
    data = {**_defaults(site, file.origin), **front.data} if site.defaults else front.data
    match = DATE_FILENAME.match(file.inner)
    if match is None:  # the scanner only yields dated names
        raise SourceError("file name has no YYYY-MM-DD- date", origin=file.display)
    file_date, file_slug, _ext = match.groups()
    file_slug = file_slug.rstrip(".")
    try:
        raw_date = data.get("date") or file_date
        date = parse_date(raw_date, site.zone)
    except ValueError as exc:
        line = _key_line(text, "date") if data.get("date") else None
        raise SourceError(f"invalid date: {exc}", origin=file.display, line=line) from exc
    slug = str(data["slug"]) if data.get("slug") is not None else file_slug
    categories = _categories(file, data)
    permalink = data.get("permalink")
    path = PostPath(file.origin, slug, date, categories, ".html")
    url = post_url(path, site.template, str(permalink) if permalink else None, file.display)
    return ParsedPost(file, data, front.body, front.body_line, slug, date, categories, url)


def _key_line(text: str, key: str) -> int | None:
    found = re.search(rf"^{re.escape(key)}\s*:", text, re.M)
    return text.count("\n", 0, found.start()) + 1 if found else None


def _author(value: object, authors_data: Mapping[str, Any]) -> Author | None:
    if isinstance(value, str) and isinstance(authors_data.get(value), dict):
        value = authors_data[value]
    if isinstance(value, dict):
        name = value.get("name")
        if not name:
            return None
        email, uri = value.get("email"), value.get("uri") or value.get("url")
        return Author(str(name), str(email) if email else None, str(uri) if uri else None)
    if value is None or value == "":
        return None
    return Author(str(value))


def _authors(site: JekyllSite, data: Mapping[str, Any]) -> tuple[Author, ...]:
    values = [data["author"]] if data.get("author") else _strings(data.get("authors"))
    found = [a for a in (_author(v, site.authors_data) for v in values) if a is not None]
    if not found:
        site_author = _author(site.author, site.authors_data)
        found = [site_author] if site_author else []
    return tuple(found)


def _image_path(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("path")
    return str(value) if value else None


def _image(site: JekyllSite, data: Mapping[str, Any]) -> str | None:
    header = data.get("header")
    header = header if isinstance(header, dict) else {}
    for candidate in (header.get("image"), header.get("teaser"), data.get("image")):
        path = _image_path(candidate)
        if path:
            return path if "://" in path else absolute_url(site.url, site.baseurl, path)
    return None


def _excerpt(site: JekyllSite, data: Mapping[str, Any], body: str) -> str | None:
    if isinstance(data.get("excerpt"), str) and data["excerpt"].strip():
        return str(data["excerpt"])
    separator = str(data.get("excerpt_separator") or site.excerpt_separator)
    text = body.lstrip("\n")
    if not separator or separator not in text:
        return None
    head = text.partition(separator)[0].strip()
    return head or None


def build_post(
    site: JekyllSite, parsed: ParsedPost, resolve_post_url: Callable[[str], str | None]
) -> Post:
    """The Post: Liquid rendered, authors, image and excerpt resolved."""
    data, file = parsed.data, parsed.file
    title_value = data.get("title")
    title = str(title_value).strip() if title_value is not None else ""
    if not title:
        title = titleize_slug(DATE_FILENAME.match(file.inner).group(2).rstrip("."))  # type: ignore[union-attr]
    if not title.strip():
        raise SourceError(
            "no title, and none can be derived from the file name", origin=file.display
        )
    try:
        updated = (
            parse_date(data["last_modified_at"], site.zone)
            if data.get("last_modified_at")
            else parsed.date
        )
    except ValueError as exc:
        raise SourceError(f"invalid last_modified_at: {exc}", origin=file.display) from exc
    tags = _unique(_plural(data, "tag", "tags"))
    identity = post_id(parsed.url, parsed.slug)
    body = parsed.body
    if has_liquid(body) and data.get("render_with_liquid") is not False:
        page = {
            **data,
            "title": title,
            "date": parsed.date,
            "url": parsed.url,
            "id": identity,
            "slug": parsed.slug,
            "categories": list(parsed.categories),
            "tags": list(tags),
            "path": file.origin,
        }
        body = render_liquid(
            body,
            site=site.config,
            page=page,
            origin=file.display,
            first_line=parsed.body_line,
            post_url=resolve_post_url,
        )
    ext = os.path.splitext(file.path)[1].lower()
    body_format: BodyFormat = "html" if ext in HTML_EXTS else "markdown"
    language = data.get("lang")
    return Post(
        id=absolute_url(site.url, site.baseurl, identity),
        url=absolute_url(site.url, site.baseurl, parsed.url),
        title=title,
        published=parsed.date,
        updated=updated,
        source=site.source,
        body=body,
        body_format=body_format,
        excerpt=_excerpt(site, data, body),
        authors=_authors(site, data),
        categories=parsed.categories,
        tags=tags,
        image=_image(site, data),
        language=str(language) if language else site.language,
        origin=file.origin,
    )
