"""An offline subset of the W3C Feed Validator's rules for Atom 1.0 and RSS 2.0, for tests.

Each check returns a list of problems (empty = valid) so a failing test shows all of them.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import defusedxml.ElementTree as SafeET

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
MEDIA = "{http://search.yahoo.com/mrss/}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$"
)
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


def is_absolute_uri(value: str | None) -> bool:
    if not value:
        return False
    parts = urlsplit(value)
    if parts.scheme in ("http", "https"):
        return bool(parts.netloc)
    return parts.scheme in ("tag", "urn", "mailto") and bool(parts.path)


def rfc3339(value: str | None) -> datetime | None:
    if value is None or not RFC3339.match(value):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def rfc822(value: str | None) -> datetime | None:
    if value is None or not RFC822.match(value):
        return None
    return parsedate_to_datetime(value)


class _UrlCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("href", "src", "poster", "cite"):
                self.urls.append(value)
            elif name == "srcset":
                self.urls.extend(part.split()[0] for part in value.split(",") if part.strip())


def relative_urls(html: str) -> list[str]:
    """URLs in the HTML that a reader without xml:base cannot resolve."""
    collector = _UrlCollector()
    collector.feed(html)
    collector.close()
    return [url for url in collector.urls if not is_absolute_uri(url)]


def check_atom(body: bytes, self_url: str) -> list[str]:
    problems: list[str] = []
    root: Any = SafeET.fromstring(body)
    if root.tag != f"{ATOM}feed":
        return [f"root is {root.tag}, not atom:feed"]
    if not LANGUAGE.match(root.get(XML_LANG, "")):
        problems.append("feed has no valid xml:lang")
    for name in ("id", "title", "updated"):
        if len(root.findall(f"{ATOM}{name}")) != 1:
            problems.append(f"feed needs exactly one {name}")
    if not is_absolute_uri(root.findtext(f"{ATOM}id")):
        problems.append("feed id is not an absolute URI")
    feed_updated = rfc3339(root.findtext(f"{ATOM}updated"))
    if feed_updated is None:
        problems.append("feed updated is not RFC 3339")
    links = {link.get("rel", "alternate"): link.get("href") for link in root.findall(f"{ATOM}link")}
    if links.get("self") != self_url:
        problems.append(f"self link {links.get('self')!r} is not the file URL {self_url!r}")
    if not is_absolute_uri(links.get("alternate")):
        problems.append("feed alternate link missing or relative")
    for rel, href in links.items():
        if not is_absolute_uri(href):
            problems.append(f"feed link rel={rel} is relative: {href!r}")
    feed_author = root.find(f"{ATOM}author/{ATOM}name") is not None
    seen: set[str] = set()
    for index, entry in enumerate(root.findall(f"{ATOM}entry")):
        where = f"entry {index}"
        for name in ("id", "title", "updated"):
            if len(entry.findall(f"{ATOM}{name}")) != 1:
                problems.append(f"{where} needs exactly one {name}")
        entry_id = entry.findtext(f"{ATOM}id") or ""
        if not is_absolute_uri(entry_id):
            problems.append(f"{where} id is not an absolute URI: {entry_id!r}")
        if entry_id in seen:
            problems.append(f"{where} repeats id {entry_id}")
        seen.add(entry_id)
        updated = rfc3339(entry.findtext(f"{ATOM}updated"))
        if updated is None:
            problems.append(f"{where} updated is not RFC 3339")
        elif feed_updated is not None and updated > feed_updated:
            problems.append(f"{where} updated is later than the feed's")
        published_text = entry.findtext(f"{ATOM}published")
        if published_text is not None and rfc3339(published_text) is None:
            problems.append(f"{where} published is not RFC 3339")
        if not feed_author and entry.find(f"{ATOM}author/{ATOM}name") is None:
            problems.append(f"{where} has no author and the feed has none")
        alternates = [
            link.get("href")
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        content = entry.find(f"{ATOM}content")
        if content is None and not alternates:
            problems.append(f"{where} has neither content nor an alternate link")
        if not all(is_absolute_uri(href) for href in alternates):
            problems.append(f"{where} alternate link is relative")
        if content is not None:
            if content.get("type") != "html":
                problems.append(f"{where} content type is {content.get('type')!r}, not html")
            for url in relative_urls(content.text or ""):
                problems.append(f"{where} content has relative URL {url!r}")
        for media in entry.iter():
            is_media = isinstance(media.tag, str) and media.tag.startswith(MEDIA)
            if is_media and not is_absolute_uri(media.get("url")):
                problems.append(f"{where} {media.tag} url is relative")
        lang = entry.get(XML_LANG)
        if lang is not None and not LANGUAGE.match(lang):
            problems.append(f"{where} xml:lang {lang!r} is not a language tag")
    return problems


def check_rss(body: bytes, self_url: str) -> list[str]:
    problems: list[str] = []
    root: Any = SafeET.fromstring(body)
    if root.tag != "rss" or root.get("version") != "2.0":
        return ["root is not <rss version='2.0'>"]
    channel = root.find("channel")
    if channel is None:
        return ["no channel"]
    for name in ("title", "link", "description"):
        if not (channel.findtext(name) or "").strip():
            problems.append(f"channel needs a non-empty {name}")
    if not is_absolute_uri(channel.findtext("link")):
        problems.append("channel link is relative")
    if not LANGUAGE.match(channel.findtext("language") or ""):
        problems.append("channel language is missing or not a language tag")
    if rfc822(channel.findtext("lastBuildDate")) is None:
        problems.append("lastBuildDate is not RFC 822")
    self_links = [
        link.get("href") for link in channel.findall(f"{ATOM}link") if link.get("rel") == "self"
    ]
    if self_links != [self_url]:
        problems.append(f"atom:link rel=self {self_links!r} is not [{self_url!r}]")
    seen: set[str] = set()
    for index, item in enumerate(channel.findall("item")):
        where = f"item {index}"
        if item.find("title") is None and item.find("description") is None:
            problems.append(f"{where} needs a title or a description")
        guid = item.find("guid")
        if guid is None or not (guid.text or "").strip():
            problems.append(f"{where} has no guid")
        else:
            if guid.text in seen:
                problems.append(f"{where} repeats guid {guid.text}")
            seen.add(guid.text or "")
            permalink = guid.get("isPermaLink", "true") == "true"
            if permalink and not is_absolute_uri(guid.text):
                problems.append(f"{where} guid isPermaLink but is not a URL")
        if not is_absolute_uri(item.findtext("link")):
            problems.append(f"{where} link is missing or relative")
        if rfc822(item.findtext("pubDate")) is None:
            problems.append(f"{where} pubDate is not RFC 822: {item.findtext('pubDate')!r}")
        for name in ("description", CONTENT_ENCODED):
            for url in relative_urls(item.findtext(name) or ""):
                problems.append(f"{where} {name} has relative URL {url!r}")
        author = item.findtext("author")
        if author is not None and "@" not in author:
            problems.append(f"{where} author must start with an email address")
        enclosure = item.find("enclosure")
        if enclosure is not None:
            if not is_absolute_uri(enclosure.get("url")):
                problems.append(f"{where} enclosure url is relative")
            if not (enclosure.get("length") or "").isdigit() or not enclosure.get("type"):
                problems.append(f"{where} enclosure needs length and type")
    return problems
