"""Jekyll 4 URLs and ids: permalink styles, placeholders, slugify and absolute_url, as Ruby does.

Mirrors jekyll/url.rb, drops/url_drop.rb, utils.rb (slugify) and Addressable's URI normalization
closely enough that ``absolute_url(post_id(...))`` is byte-equal to jekyll-feed's entry ``<id>``.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit

from syndicator.errors import SourceError

__all__ = [
    "PostPath",
    "absolute_url",
    "post_id",
    "post_url",
    "slugify",
    "style_to_template",
    "titleize_slug",
]

# jekyll/configuration.rb STYLE_TO_PERMALINK
_STYLES = {
    "none": "/:categories/:title:output_ext",
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
}
_SLUG_PRETTY_KEEP = set("._~!$&'()+,;=@")
_PLACEHOLDER = re.compile(r":([a-z_]+)")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# RFC 3986 pchar minus pct-encoded: what Addressable leaves unescaped in a path segment
_PCHAR_SAFE = "-._~!$&'()*+,;=:@"


def style_to_template(style: str) -> str:
    """A `permalink:` value from _config.yml (a style name or a template) as a template."""
    return _STYLES.get(style, style)


def titleize_slug(slug: str) -> str:
    """Jekyll's default title: 'my-first-post' -> 'My First Post' (Ruby String#capitalize)."""
    return " ".join(part[:1].upper() + part[1:].lower() for part in slug.split("-"))


def _is_slug_char(char: str, pretty: bool) -> bool:
    if pretty and char in _SLUG_PRETTY_KEEP:
        return True
    category = unicodedata.category(char)
    return category[0] in ("L", "M") or category == "Nd"


# For ASCII text the Unicode test above is: letters and digits (plus, if pretty, the kept marks).
_ASCII_RUN = re.compile(r"[^A-Za-z0-9]+")
_ASCII_RUN_PRETTY = re.compile("[^A-Za-z0-9" + re.escape("".join(sorted(_SLUG_PRETTY_KEEP))) + "]+")


def slugify(text: str, *, pretty: bool = False, cased: bool = False) -> str:
    """Jekyll's Utils.slugify in 'default' or 'pretty' mode: runs of other characters -> '-'."""
    if text.isascii():
        slug = (_ASCII_RUN_PRETTY if pretty else _ASCII_RUN).sub("-", text)
        slug = slug.removeprefix("-").removesuffix("-")
        return slug if cased else slug.lower()
    out: list[str] = []
    in_run = False
    for char in text:
        if _is_slug_char(char, pretty):
            out.append(char)
            in_run = False
        elif not in_run:
            out.append("-")
            in_run = True
    slug = "".join(out)
    # Ruby gsub!(/^-|-$/): one leading and one trailing hyphen
    slug = slug.removeprefix("-").removesuffix("-")
    return slug if cased else slug.lower()


def _escape_path(value: str) -> str:
    """Jekyll::URL.escape_path: percent-encode what is not allowed in a URL path."""
    if not value or re.fullmatch(r"[a-zA-Z0-9./-]+", value):
        return value
    return quote(value, safe=_PCHAR_SAFE + "/")


@dataclass(frozen=True, slots=True)
class PostPath:
    """What a permalink needs to know about one post."""

    relative_path: str  # from the site root, e.g. "ai/_posts/2026-01-05-hello.md"
    slug: str  # front matter slug or the file name's slug
    date: datetime  # in the site time zone
    categories: Sequence[str]
    output_ext: str = ".html"

    @property
    def basename_without_ext(self) -> str:
        return posixpath.splitext(posixpath.basename(self.relative_path))[0]


def _placeholders(post: PostPath) -> Mapping[str, str]:
    date = post.date
    seen: dict[str, None] = {}
    for category in post.categories:
        seen.setdefault(str(category).lower(), None)
    slugified: dict[str, None] = {}
    for category in post.categories:
        slugified.setdefault(slugify(str(category)), None)
    stem, _ext = posixpath.splitext(post.relative_path)
    cleaned = stem.replace("_posts", "", 1).rstrip(".")
    iso_year, iso_week, iso_day = date.isocalendar()
    return {
        "collection": "posts",
        "path": cleaned,
        "output_ext": post.output_ext,
        "name": slugify(post.basename_without_ext),
        "title": slugify(post.slug, pretty=True, cased=True),
        "slug": slugify(post.slug),
        "categories": "/".join(seen),
        "slugified_categories": "/".join(slugified),
        "year": f"{date.year:04d}",
        "month": f"{date.month:02d}",
        "day": f"{date.day:02d}",
        "hour": f"{date.hour:02d}",
        "minute": f"{date.minute:02d}",
        "second": f"{date.second:02d}",
        "i_day": str(date.day),
        "i_month": str(date.month),
        "short_month": _MONTHS[date.month - 1][:3],
        "long_month": _MONTHS[date.month - 1],
        "short_year": f"{date.year % 100:02d}",
        "w_year": f"{iso_year:04d}",
        "week": f"{iso_week:02d}",
        "w_day": str(iso_day),
        "short_day": _DAYS[iso_day - 1][:3],
        "long_day": _DAYS[iso_day - 1],
        "y_day": f"{date.timetuple().tm_yday:03d}",
    }


def _expand(template: str, values: Mapping[str, str], origin: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        pool = [name, name.rstrip("_")] if name.endswith("_") else [name]
        winner = next((key for key in pool if key in values), None)
        if winner is None:
            raise SourceError(
                f"unknown permalink placeholder :{name} in {template!r}", origin=origin
            )
        # Ruby's match.sub!(":winner", ...) keeps a trailing '_' that was not part of the key
        return match.group(0).replace(f":{winner}", _escape_path(values[winner]), 1)

    return _PLACEHOLDER.sub(replace, template)


def _sanitize(url: str) -> str:
    """Jekyll::URL#sanitize_url: no '..', no './', no '//', one leading '/'."""
    result = f"/{url}".replace("..", "/").replace("./", "")
    return re.sub(r"/{2,}", "/", result)


def post_url(post: PostPath, template: str, permalink: str | None, origin: str) -> str:
    """The site-relative URL Jekyll gives the post (Document#url)."""
    return _sanitize(_expand(permalink or template, _placeholders(post), origin))


def _ruby_dirname(path: str) -> str:
    stripped = path.rstrip("/")
    if not stripped:
        return "/"
    head = posixpath.dirname(stripped).rstrip("/")
    return head or ("/" if path.startswith("/") else ".")


def post_id(url: str, slug: str) -> str:
    """Document#id: File.join(File.dirname(url), slug) - the slug is not escaped here."""
    head = _ruby_dirname(url)
    return f"{head.rstrip('/')}/{slug.lstrip('/')}"


def _normalize_segment(segment: str) -> str:
    text = unicodedata.normalize("NFC", unquote(segment, errors="surrogateescape"))
    return quote(text, safe=_PCHAR_SAFE, errors="surrogateescape")


def _remove_dot_segments(path: str) -> str:
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/".join(output)


# A site-relative path that normalization leaves as it is: ASCII path characters only, no
# percent escapes, no dot segments. Most post URLs are like this.
_PLAIN_PATH = re.compile(r"(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@]*)+")
_PROBE = "/x"


@lru_cache(maxsize=64)
def _plain_prefix(site_url: str, baseurl: str) -> str | None:
    """What normalization makes of site url + baseurl in front of a plain path, or None."""
    probe = _absolute_url(site_url, baseurl, _PROBE)
    if "?" in probe or "#" in probe or not probe.endswith(_PROBE):
        return None
    return probe[: -len(_PROBE)]


def absolute_url(site_url: str, baseurl: str, path: str) -> str:
    """Jekyll's `absolute_url` filter: site url + baseurl + path, Addressable-normalized."""
    if "/." not in path and _PLAIN_PATH.fullmatch(path):
        prefix = _plain_prefix(site_url, baseurl)
        if prefix is not None:
            return prefix + path
    return _absolute_url(site_url, baseurl, path)


def _absolute_url(site_url: str, baseurl: str, path: str) -> str:
    if urlsplit(path).scheme:
        return path
    base = baseurl.rstrip("/")
    parts = [p if not p or p.startswith("/") else f"/{p}" for p in (base, path)]
    relative = "".join(parts)
    full = f"{site_url}{relative}"
    split = urlsplit(full)
    netloc = split.netloc.lower()
    for scheme, port in (("http", ":80"), ("https", ":443")):
        if split.scheme.lower() == scheme and netloc.endswith(port):
            netloc = netloc.removesuffix(port)
    normalized = "/".join(_normalize_segment(s) for s in split.path.strip().split("/"))
    normalized = _remove_dot_segments(normalized) or "/"
    result = f"{split.scheme.lower()}://{netloc}{normalized}" if split.scheme else normalized
    if split.query:
        result += "?" + quote(unquote(split.query), safe=_PCHAR_SAFE + "/?")
    if split.fragment:
        result += "#" + quote(unquote(split.fragment), safe=_PCHAR_SAFE + "/?")
    return result
