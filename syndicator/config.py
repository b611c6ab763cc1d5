"""TOML config file to validated, frozen settings; SYNDICATOR_* environment variables win.

Every error names the file and the key (``config/syndicator.toml: feeds.limit: ...``).
Secrets are never read from the file, only from the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from syndicator.config_values import (
    Table,
    absolute_url,
    non_negative,
    parse_duration,
    positive_int,
    zone,
)
from syndicator.errors import ConfigError
from syndicator.schedule_expr import CronError, parse_cron

__all__ = [
    "CollectSettings",
    "DatabaseSettings",
    "FeedsSettings",
    "MailSettings",
    "NewsletterSettings",
    "Settings",
    "SiteSettings",
    "SourceSettings",
    "WebSettings",
    "default_config_path",
    "load",
    "parse_duration",
]

SOURCE_TYPES = ("jekyll", "hugo", "feed")
FEED_FORMATS = ("atom", "rss", "json")
MAIL_BACKENDS = ("outbox", "smtp", "postmark", "sendgrid", "mailgun", "ses", "resend")
SMTP_SECURITY = ("starttls", "ssl", "none")
_DEFAULT_DB = "sqlite:///state/syndicator.db"
_DEFAULT_SUBJECT = "{{ newsletter.title }}"


@dataclass(frozen=True, slots=True)
class SiteSettings:
    title: str = ""
    url: str = ""  # absolute base, no trailing slash
    baseurl: str = ""  # Jekyll's subpath, "" or "/blog"
    description: str = ""
    language: str = "en"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    author: str = ""
    icon: str = ""


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str = _DEFAULT_DB


@dataclass(frozen=True, slots=True)
class SourceSettings:
    name: str
    type: str
    path: Path | None = None
    url: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CollectSettings:
    every: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class FeedsSettings:
    dir: Path = Path("public")
    formats: tuple[str, ...] = FEED_FORMATS
    limit: int = 20
    categories: bool = True
    tags: bool = True
    full_content: bool = True
    hub: str = ""


@dataclass(frozen=True, slots=True)
class MailSettings:
    backend: str = "outbox"
    sender: str = ""
    reply_to: str = ""
    outbox: Path = Path("outbox")
    api_url: str = ""
    api_key: str = field(default="", repr=False)
    rate: float = 0.0
    batch_size: int = 0  # 0 = the provider's maximum
    workers: int = 0  # sender processes; 0 = one per core (at most 4) for large sends
    list_unsubscribe_mailto: str = ""
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_connections: int = 2
    ses_region: str = "us-east-1"
    smtp_ca_file: str = ""  # extra trust roots for a private relay's certificate
    message_stream: str = "broadcast"  # postmark
    mailgun_domain: str = ""  # mailgun; default: the From address's domain


@dataclass(frozen=True, slots=True)
class NewsletterSettings:
    name: str
    title: str
    schedule: str
    subject: str = _DEFAULT_SUBJECT
    description: str = ""
    categories: tuple[str, ...] = ()
    template: str = "digest"
    since: timedelta = timedelta(days=7)
    max_posts: int = 30


@dataclass(frozen=True, slots=True)
class WebSettings:
    base_url: str = ""
    postal_address: str = ""
    host: str = "127.0.0.1"
    port: int = 8000


@dataclass(frozen=True, slots=True)
class Settings:
    path: Path  # the config file
    site: SiteSettings
    database: DatabaseSettings
    sources: tuple[SourceSettings, ...]
    collect: CollectSettings
    feeds: FeedsSettings
    mail: MailSettings
    newsletters: tuple[NewsletterSettings, ...]
    web: WebSettings
    templates: Path | None = None  # the user's template folder, searched before ours
    secret_keys: tuple[str, ...] = field(default=(), repr=False)

    @property
    def root(self) -> Path:
        return self.path.parent

    def newsletter(self, name: str) -> NewsletterSettings:
        for newsletter in self.newsletters:
            if newsletter.name == name:
                return newsletter
        known = ", ".join(n.name for n in self.newsletters) or "none configured"
        raise ConfigError(f"no newsletter named {name!r} (known: {known})", file=str(self.path))


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("SYNDICATOR_CONFIG") or "config/syndicator.toml")


def _site(table: Table, fallback: Mapping[str, Any]) -> SiteSettings:
    def pick(name: str) -> Any:
        return table.data[name] if name in table.data else fallback.get(name, "")

    for name in (
        "title",
        "url",
        "baseurl",
        "description",
        "language",
        "timezone",
        "author",
        "icon",
    ):
        table.used.add(name)
    try:
        url = absolute_url(pick("url"))
    except ValueError as exc:
        raise table.error("url", str(exc)) from exc
    try:
        site_zone = zone(pick("timezone") or "UTC")
    except ValueError as exc:
        raise table.error("timezone", str(exc)) from exc
    baseurl = str(pick("baseurl") or "").rstrip("/")
    if baseurl and not baseurl.startswith("/"):
        baseurl = "/" + baseurl
    return SiteSettings(
        title=str(pick("title")),
        url=url,
        baseurl=baseurl,
        description=str(pick("description")),
        language=str(pick("language") or "en"),
        timezone=site_zone,
        author=str(pick("author")),
        icon=str(pick("icon")),
    )


def _source(table: Table, root: Path, index: int) -> SourceSettings:
    name = table.get("name", str, f"source{index}")
    kind = table.choice("type", SOURCE_TYPES, "jekyll")
    path = table.get("path", str, "")
    url = table.get("url", str, "")
    if kind in ("jekyll", "hugo"):
        if not path:
            raise table.error("path", f"a {kind} source needs path = the site's root folder")
        resolved = (root / path).resolve()
        if not resolved.is_dir():
            raise table.error("path", f"{str(resolved)!r} is not a folder")
    elif not re.match(r"^https?://", url):
        raise table.error("url", "a feed source needs url = an http(s) feed address")
    options = {k: v for k, v in table.data.items() if k not in ("name", "type", "path", "url")}
    table.used.update(options)
    return SourceSettings(
        name=name,
        type=kind,
        path=(root / path).resolve() if path else None,
        url=url or None,
        options=options,
    )


def _newsletter(table: Table, tz: ZoneInfo, index: int) -> NewsletterSettings:
    name = table.get("name", str, "")
    if not re.match(r"^[a-z0-9][a-z0-9_-]*$", name):
        raise table.error("name", f"{name!r} must be a short lowercase name like 'weekly'")
    schedule = table.get("schedule", str, "")
    try:
        parse_cron(schedule, tz)
    except CronError as exc:
        raise table.error("schedule", f"{schedule!r} is not a cron expression ({exc})") from exc
    settings = NewsletterSettings(
        name=name,
        title=table.get("title", str, name),
        schedule=schedule,
        subject=table.get("subject", str, _DEFAULT_SUBJECT),
        description=table.get("description", str, ""),
        categories=table.strings("categories"),
        template=table.get("template", str, "digest"),
        since=table.convert("since", timedelta(days=7), parse_duration),
        max_posts=table.convert("max_posts", 30, positive_int),
    )
    table.finish()
    return settings


def _mail(table: Table, root: Path, env: Mapping[str, str]) -> MailSettings:
    backend = env.get("SYNDICATOR_MAIL_BACKEND") or table.get("backend", str, "outbox")
    table.used.add("backend")
    if backend not in MAIL_BACKENDS:
        raise table.error("backend", f"{backend!r} is not one of: {', '.join(MAIL_BACKENDS)}")
    for secret in ("api_key", "password", "smtp_password"):
        if secret in table.data:
            raise table.error(
                secret,
                "secrets are read from the environment only "
                "(SYNDICATOR_MAIL_API_KEY, SYNDICATOR_SMTP_PASSWORD)",
            )
    settings = MailSettings(
        backend=backend,
        sender=table.get("from", str, ""),
        reply_to=table.get("reply_to", str, ""),
        outbox=(root / table.get("outbox", str, "outbox")).resolve(),
        api_url=(env.get("SYNDICATOR_MAIL_API_URL") or table.get("api_url", str, "")).rstrip("/"),
        api_key=env.get("SYNDICATOR_MAIL_API_KEY", ""),
        rate=table.convert("rate", 0.0, non_negative),
        batch_size=table.convert("batch_size", 0, lambda v: int(non_negative(v))),
        workers=table.convert("workers", 0, lambda v: int(non_negative(v))),
        list_unsubscribe_mailto=table.get("list_unsubscribe_mailto", str, ""),
        smtp_host=table.get("host", str, "localhost"),
        smtp_port=table.convert("port", 587, positive_int),
        smtp_security=table.choice("security", SMTP_SECURITY, "starttls"),
        smtp_username=table.get("username", str, ""),
        smtp_password=env.get("SYNDICATOR_SMTP_PASSWORD", ""),
        smtp_connections=table.convert("connections", 2, positive_int),
        ses_region=table.get("region", str, "us-east-1"),
        smtp_ca_file=table.get("ca_file", str, ""),
        message_stream=table.get("message_stream", str, "broadcast"),
        mailgun_domain=table.get("mailgun_domain", str, ""),
    )
    table.finish()
    return settings


def _feeds(table: Table, root: Path) -> FeedsSettings:
    formats = table.strings("formats", FEED_FORMATS)
    for fmt in formats:
        if fmt not in FEED_FORMATS:
            raise table.error("formats", f"{fmt!r} is not one of: {', '.join(FEED_FORMATS)}")
    settings = FeedsSettings(
        dir=(root / table.get("dir", str, "public")).resolve(),
        formats=formats,
        limit=table.convert("limit", 20, positive_int),
        categories=table.get("categories", bool, True),
        tags=table.get("tags", bool, True),
        full_content=table.get("full_content", bool, True),
        hub=table.convert("hub", "", absolute_url),
    )
    table.finish()
    return settings


def load(
    path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    site_fallback: Callable[[Path], Mapping[str, Any]] | None = None,
) -> Settings:
    """Read and validate the config file; raise ConfigError naming the file and key.

    ``site_fallback`` reads site settings (title, url, ...) from a Jekyll/Hugo source's own
    config for every ``[site]`` key the file leaves out (default: the Jekyll ``_config.yml``).
    """
    env = os.environ if env is None else env
    path = Path(path) if path is not None else default_config_path(env)
    file = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            "no such config file (create one with `syndicator init`)", file=file
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=file) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=file) from exc
    root = path.resolve().parent
    top = Table(raw, "", file)

    sources_raw = top.get("sources", list, [])
    sources = tuple(
        _source(Table(item, f"sources[{i}]", file), root, i) for i, item in enumerate(sources_raw)
    )
    named: set[str] = set()
    for i, source in enumerate(sources):
        if source.name in named:
            raise ConfigError(
                f"duplicate source name {source.name!r}", file=file, key=f"sources[{i}].name"
            )
        named.add(source.name)

    fallback: dict[str, Any] = {}
    if site_fallback is None and any(s.type == "jekyll" and s.path is not None for s in sources):
        from syndicator.sources.jekyll import read_site_config  # YAML, Liquid: only if needed

        site_fallback = read_site_config
    if site_fallback is not None:
        for source in reversed(sources):
            if source.path is not None:
                fallback.update(site_fallback(source.path) if source.type == "jekyll" else {})
    site_table = Table(top.get("site", dict, {}), "site", file)
    site = _site(site_table, fallback)
    site_table.finish()
    if not site.url:
        raise ConfigError(
            "the site's absolute URL is needed for links and ids "
            "(or set url in the Jekyll site's _config.yml)",
            file=file,
            key="site.url",
        )

    db_table = Table(top.get("database", dict, {}), "database", file)
    database = DatabaseSettings(
        url=env.get("SYNDICATOR_DATABASE_URL") or db_table.get("url", str, _DEFAULT_DB)
    )
    db_table.finish()
    if database.url.startswith("sqlite:///") and not database.url.startswith("sqlite:////"):
        relative = database.url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            database = DatabaseSettings(url=f"sqlite:///{(root / relative).resolve()}")

    collect_table = Table(top.get("collect", dict, {}), "collect", file)
    collect = CollectSettings(
        every=collect_table.convert("every", timedelta(minutes=15), parse_duration)
    )
    collect_table.finish()

    feeds = _feeds(Table(top.get("feeds", dict, {}), "feeds", file), root)
    mail = _mail(Table(top.get("mail", dict, {}), "mail", file), root, env)
    newsletters = tuple(
        _newsletter(Table(item, f"newsletters[{i}]", file), site.timezone, i)
        for i, item in enumerate(top.get("newsletters", list, []))
    )
    seen: set[str] = set()
    for i, newsletter in enumerate(newsletters):
        if newsletter.name in seen:
            raise ConfigError(
                f"duplicate newsletter name {newsletter.name!r}",
                file=file,
                key=f"newsletters[{i}].name",
            )
        seen.add(newsletter.name)

    web_table = Table(top.get("web", dict, {}), "web", file)
    web = WebSettings(
        base_url=web_table.convert("base_url", "", absolute_url),
        postal_address=web_table.get("postal_address", str, ""),
        host=web_table.get("host", str, "127.0.0.1"),
        port=web_table.convert("port", 8000, positive_int),
    )
    web_table.finish()
    templates = top.get("templates", str, "")
    top.finish()
    keys = tuple(k.strip() for k in env.get("SYNDICATOR_SECRET_KEY", "").split(",") if k.strip())
    return Settings(
        path=path,
        site=site,
        database=database,
        sources=sources,
        collect=collect,
        feeds=feeds,
        mail=mail,
        newsletters=newsletters,
        web=web,
        templates=(root / templates).resolve() if templates else None,
        secret_keys=keys,
    )
