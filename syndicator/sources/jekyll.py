"""The Jekyll source: a site folder's ``_posts`` as Posts, with ids and URLs exactly as jekyll-feed.

Incremental: each post file has a stamp (mtime, size and a digest of the site config); a file
whose stamp the store already knows is not opened. Drafts, ``published: false`` posts and
(unless ``future: true``) posts dated after ``now`` are left out, as ``jekyll build`` does.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from syndicator.config import SiteSettings, SourceSettings
from syndicator.errors import ConfigError, SourceError
from syndicator.model import Post
from syndicator.sources import Collection
from syndicator.sources.jekyll_frontmatter import load_yaml
from syndicator.sources.jekyll_parallel import map_files
from syndicator.sources.jekyll_permalinks import style_to_template
from syndicator.sources.jekyll_post import (
    DATE_FILENAME,
    HTML_EXTS,
    MARKDOWN_EXTS,
    JekyllSite,
    ParsedPost,
    PostFile,
    build_post,
    parse_post,
)

__all__ = ["JekyllSource", "read_site_config"]

log = logging.getLogger(__name__)

_SPECIAL = (".", "_", "#", "~")
_DEFAULT_EXCLUDES = ("node_modules", "vendor", "gemfiles", "Gemfile", "Gemfile.lock")
_POST_EXTS = MARKDOWN_EXTS | HTML_EXTS


def _load_config(root: Path) -> tuple[dict[str, Any], bytes]:
    """_config.yml as a mapping, and its bytes (for the stamp); ConfigError if it is not YAML."""
    path = root / "_config.yml"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, b""
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(path)) from exc
    try:
        data = load_yaml(raw.decode("utf-8"), str(path))
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", file=str(path)) from exc
    except SourceError as exc:
        raise ConfigError(f"line {exc.line}: {exc.reason}", file=str(path)) from exc
    if data is None:
        return {}, raw
    if not isinstance(data, dict):
        raise ConfigError("must be a mapping of settings", file=str(path))
    return {str(k): v for k, v in data.items()}, raw


def read_site_config(root: Path) -> dict[str, Any]:
    """The [site] fallback keys from a Jekyll site's _config.yml (empty if it has none)."""
    config, _ = _load_config(Path(root))
    result: dict[str, Any] = {}
    for key in ("title", "url", "baseurl", "description", "timezone"):
        if config.get(key):
            result[key] = str(config[key])
    if config.get("lang"):
        result["language"] = str(config["lang"])
    author = config.get("author")
    if isinstance(author, dict):
        author = author.get("name")
    if author:
        result["author"] = str(author)
    return result


def _excluded(relative: str, name: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        pattern = pattern.strip("/")
        if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(name, pattern):
            return True
        if relative.startswith(pattern + "/"):
            return True
    return False


def _posts_in(folder: str, inner: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Files under one _posts folder, skipping special names as Jekyll's EntryFilter does."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(_SPECIAL) or entry.name.endswith("~"):
            continue
        relative = f"{inner}{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            yield from _posts_in(entry.path, f"{relative}/")
        elif entry.is_file(follow_symlinks=False):
            yield relative, entry


class JekyllSource:
    """A Jekyll site folder as a source of Posts."""

    def __init__(self, settings: SourceSettings, site: SiteSettings) -> None:
        if settings.path is None:
            raise ConfigError("a jekyll source needs path", key=f"sources.{settings.name}.path")
        self.name = settings.name
        self.root = Path(settings.path)
        self.settings = settings
        self.site_settings = site

    def _site(self) -> tuple[JekyllSite, str]:
        config, raw = _load_config(self.root)
        authors_path = self.root / "_data" / "authors.yml"
        authors_raw = authors_path.read_bytes() if authors_path.is_file() else b""
        authors: Any = {}
        if authors_raw:
            try:
                authors = load_yaml(authors_raw.decode("utf-8", "replace"), str(authors_path))
            except SourceError as exc:
                log.warning("authors data not read file=%s error=%s", authors_path, exc)
        s = self.site_settings
        url = s.url or str(config.get("url") or "").rstrip("/")
        baseurl = s.baseurl or str(config.get("baseurl") or "")
        collections = config.get("collections")
        posts_meta = collections.get("posts") if isinstance(collections, dict) else None
        template = posts_meta.get("permalink") if isinstance(posts_meta, dict) else None
        template = str(template or style_to_template(str(config.get("permalink") or "date")))
        separator = config.get("excerpt_separator", "\n\n")
        raw_defaults = config.get("defaults")
        defaults: list[Any] = raw_defaults if isinstance(raw_defaults, list) else []
        site_vars = {
            **config,
            "url": url,
            "baseurl": baseurl,
            "title": s.title or config.get("title", ""),
            "description": s.description or config.get("description", ""),
            "lang": s.language,
        }
        site = JekyllSite(
            root=self.root,
            source=self.name,
            url=url,
            baseurl=baseurl,
            zone=s.timezone,
            language=s.language,
            template=template,
            excerpt_separator=str(separator) if separator is not None else "",
            future=config.get("future") is True,
            author=config.get("author") or s.author or None,
            config=site_vars,
            authors_data=authors if isinstance(authors, dict) else {},
            defaults=tuple(d for d in defaults if isinstance(d, dict)),
        )
        digest = hashlib.sha256(raw + b"\0" + authors_raw + b"\0")
        digest.update(repr((url, baseurl, s.timezone.key, s.language, s.author)).encode())
        return site, digest.hexdigest()[:16]

    def _scan(self, excludes: tuple[str, ...]) -> Iterator[tuple[PostFile, os.stat_result]]:
        """Every dated post file under <dir>/_posts, for every non-special folder <dir>."""
        stack: list[tuple[str, str, tuple[str, ...]]] = [(str(self.root), "", ())]
        while stack:
            folder, relative, categories = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                log.warning("folder not read path=%s error=%s", folder, exc)
                continue
            for entry in entries:
                if not entry.is_dir(follow_symlinks=False):
                    continue
                if entry.name == "_posts":
                    for inner, file in _posts_in(entry.path, ""):
                        if not DATE_FILENAME.match(inner):
                            continue
                        if os.path.splitext(inner)[1].lower() not in _POST_EXTS:
                            continue
                        origin = f"{relative}_posts/{inner}"
                        post = PostFile(file.path, origin, inner, categories)
                        yield post, file.stat()
                elif not entry.name.startswith(_SPECIAL):
                    child = f"{relative}{entry.name}"
                    if not _excluded(child, entry.name, excludes):
                        stack.append((entry.path, f"{child}/", (*categories, entry.name)))

    def collect(
        self, known: Mapping[str, str], state: Mapping[str, Any], now: datetime
    ) -> Collection:
        """Read the posts whose stamp changed; report the rest as unchanged."""
        try:
            site, digest = self._site()
        except ConfigError as exc:
            problem = SourceError(str(exc), origin=str(self.root / "_config.yml"))
            return Collection(source=self.name, problems=(problem,), failed=True)
        config_excludes = self._config_excludes(site)
        skipped_before = state.get("skipped", {})
        skipped_before = skipped_before if isinstance(skipped_before, dict) else {}
        files = {p.origin: (p, st) for p, st in self._scan(config_excludes)}
        changed: list[Post] = []
        unchanged: set[str] = set()
        problems: list[SourceError] = []
        stamps: dict[str, str] = {}
        origins: dict[str, str] = {}
        skipped: dict[str, str] = {}
        urls: dict[str, str | None] = {}  # origin -> site-relative URL, for {% post_url %}

        def resolve(name: str) -> str | None:
            return self._resolve_post_url(site, files, urls, name)

        to_read: list[tuple[str, PostFile, str]] = []
        for origin, (file, st) in files.items():
            stamp = f"{st.st_mtime_ns}:{st.st_size}:{digest}"
            if known.get(origin) == stamp:
                unchanged.add(origin)
                stamps[origin] = stamp
            elif skipped_before.get(origin) == stamp:
                skipped[origin] = stamp
            else:
                to_read.append((origin, file, stamp))

        def read(item: tuple[str, PostFile, str]) -> Post | SourceError | bool | datetime:
            """The post; or False: not published; or its date: dated in the future."""
            origin, file, _stamp = item
            try:
                parsed = self._parse(site, file, urls)
                if not parsed.published:
                    return False
                if not site.future and parsed.date > now:
                    log.info("post skipped (future date) origin=%s date=%s", origin, parsed.date)
                    return parsed.date
                post = build_post(site, parsed, resolve)
                _ = post.content_hash  # cached on the post: made in the worker, not the parent
                return post
            except SourceError as exc:
                log.warning("post not used origin=%s error=%s", origin, exc)
                return exc

        future: list[datetime] = []
        for (origin, _file, stamp), outcome in zip(to_read, map_files(read, to_read), strict=True):
            if isinstance(outcome, SourceError):
                problems.append(outcome)
            elif isinstance(outcome, datetime):
                future.append(outcome)
            elif outcome is False:
                skipped[origin] = stamp
            elif isinstance(outcome, Post):
                changed.append(outcome)
                stamps[origin] = stamp
                origins[origin] = outcome.id
        return Collection(
            source=self.name,
            changed=tuple(changed),
            unchanged=frozenset(unchanged),
            problems=tuple(problems),
            stamps=stamps,
            origins=origins,
            complete=True,
            state={
                "skipped": skipped,
                **({"next_visible": min(future).isoformat()} if future else {}),
            },
        )

    def tree_stamp(self) -> str:
        """A digest of everything ``collect`` reads, as file stamps: the site config, the
        authors data and every post file's path, mtime and size (nothing is opened but the
        config). Equal digests mean a collection would find every post as it was."""
        site, digest = self._site()
        stamp = hashlib.sha256(digest.encode())
        for file, st in self._scan(self._config_excludes(site)):
            stamp.update(f"{file.origin}\0{st.st_mtime_ns}:{st.st_size}\0".encode())
        return stamp.hexdigest()

    def _config_excludes(self, site: JekyllSite) -> tuple[str, ...]:
        value = site.config.get("exclude")
        extra = tuple(str(v) for v in value) if isinstance(value, list) else ()
        return _DEFAULT_EXCLUDES + extra

    def _parse(self, site: JekyllSite, file: PostFile, urls: dict[str, str | None]) -> ParsedPost:
        """Read and parse one post file; its URL is remembered (not its body: memory)."""
        try:
            with open(file.path, "rb") as handle:
                text = handle.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceError("not UTF-8 text", origin=file.display) from exc
        except OSError as exc:
            raise SourceError(f"cannot read: {exc.strerror}", origin=file.display) from exc
        parsed = parse_post(site, file, text.removeprefix("\ufeff").replace("\r\n", "\n"))
        urls[file.origin] = parsed.url
        return parsed

    def _resolve_post_url(
        self,
        site: JekyllSite,
        files: Mapping[str, tuple[PostFile, os.stat_result]],
        urls: dict[str, str | None],
        name: str,
    ) -> str | None:
        """{% post_url name %}: the named post's site-relative URL (with baseurl), or None."""
        wanted = name.strip()
        for origin, (file, _) in files.items():
            if os.path.splitext(file.inner)[0] != wanted and (
                os.path.splitext(os.path.basename(file.inner))[0] != wanted
            ):
                continue
            if origin not in urls:
                try:
                    self._parse(site, file, urls)
                except SourceError:
                    urls[origin] = None
            url = urls.get(origin)
            if url is not None:
                return f"{site.baseurl.rstrip('/')}{url}"
        return None
