"""Liquid over a Jekyll post body before Markdown, with the site/page variables and common filters.

Jekyll-only tags are handled before python-liquid sees the text: ``{% highlight lang %}`` becomes
a fenced code block, ``{% post_url name %}`` the other post's site-relative URL. Any other tag
Liquid does not know (``{% include %}``, plugin tags) is left out with a warning naming the file
and line, and a body Liquid cannot render is kept as written: the post stays readable.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from syndicator.sources.jekyll_permalinks import absolute_url, slugify

if TYPE_CHECKING:  # python-liquid is imported on first use: most posts have no Liquid
    from liquid import Environment

__all__ = ["has_liquid", "render_liquid"]

log = logging.getLogger(__name__)

_TAG = re.compile(r"\{%-?\s*(\w+)(.*?)-?%\}", re.S)
_RAW_END = re.compile(r"\{%-?\s*endraw\s*-?%\}")
_UNSUPPORTED = {"include", "include_relative", "render", "link"}
_BLOCK_BODY_TAGS = {"comment": "endcomment", "doc": "enddoc"}


def has_liquid(text: str) -> bool:
    """Jekyll's Utils.has_liquid_construct?."""
    return "{{" in text or "{%" in text


def _xmlschema(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _date_to_string(value: object) -> object:
    return value.strftime("%d %b %Y") if isinstance(value, datetime) else value


def _environment(site: Mapping[str, Any]) -> Environment:
    from liquid import Environment

    env = Environment(strict_filters=False)
    url = str(site.get("url") or "")
    baseurl = str(site.get("baseurl") or "")
    filters: dict[str, Callable[..., object]] = {
        "absolute_url": lambda v: absolute_url(url, baseurl, str(v)),
        "relative_url": lambda v: absolute_url("", baseurl, str(v)),
        "xml_escape": lambda v: html.escape(str(v), quote=True),
        "cgi_escape": lambda v: quote_plus(str(v)),
        "uri_escape": lambda v: quote(str(v), safe="/:?#[]@!$&'()*+,;=%~"),
        "date_to_xmlschema": _xmlschema,
        "date_to_rfc822": lambda v: (
            v.strftime("%a, %d %b %Y %H:%M:%S %z") if isinstance(v, datetime) else v
        ),
        "date_to_string": _date_to_string,
        "slugify": lambda v, mode="default": slugify(str(v), pretty=mode == "pretty"),
        "jsonify": lambda v: json.dumps(v, ensure_ascii=False, default=str),
        "number_of_words": lambda v: len(str(v).split()),
        "normalize_whitespace": lambda v: " ".join(str(v).split()),
        "markdownify": lambda v: v,
        "smartify": lambda v: v,
        "array_to_sentence_string": lambda v, c="and": (
            ", ".join(map(str, v[:-1])) + f" {c} {v[-1]}"
            if isinstance(v, list) and len(v) > 1
            else "".join(map(str, v or []))
        ),
    }
    env.filters.update(filters)
    return env


_ENVIRONMENTS: dict[tuple[str, str], Environment] = {}


def _cached_environment(site: Mapping[str, Any]) -> Environment:
    key = (str(site.get("url") or ""), str(site.get("baseurl") or ""))
    env = _ENVIRONMENTS.get(key)
    if env is None:
        env = _ENVIRONMENTS[key] = _environment(site)
    return env


def _prepare(
    body: str,
    known: frozenset[str],
    post_url: Callable[[str], str | None],
    origin: str,
    first_line: int,
) -> str:
    """Rewrite Jekyll-only tags and drop unknown ones, leaving {% raw %} regions untouched."""
    out: list[str] = []
    pos = 0
    while True:
        match = _TAG.search(body, pos)
        if match is None:
            out.append(body[pos:])
            return "".join(out)
        out.append(body[pos : match.start()])
        name, args = match.group(1), match.group(2).strip()
        line = first_line + body.count("\n", 0, match.start())
        if name == "raw":
            end = _RAW_END.search(body, match.end())
            stop = end.end() if end else len(body)
            out.append(body[match.start() : stop])
            pos = stop
            continue
        if name in _BLOCK_BODY_TAGS:
            end = re.compile(r"\{%-?\s*" + _BLOCK_BODY_TAGS[name] + r"\s*-?%\}").search(
                body, match.end()
            )
            stop = end.end() if end else len(body)
            out.append(body[match.start() : stop])
            pos = stop
            continue
        if name == "highlight":
            language = args.split()[0] if args else ""
            out.append(f"```{language}")  # the tag's own line break ends the fence line
        elif name == "endhighlight":
            out.append("```" if out and out[-1].endswith("\n") else "\n```")
        elif name == "post_url":
            url = post_url(args)
            if url is None:
                log.warning(
                    "liquid post_url not found origin=%s line=%d post=%s", origin, line, args
                )
            out.append(url or "")
        elif name in known and name not in _UNSUPPORTED:
            out.append(match.group(0))
        else:
            log.warning("liquid tag left out origin=%s line=%d tag=%s", origin, line, name)
        pos = match.end()


def render_liquid(
    body: str,
    *,
    site: Mapping[str, Any],
    page: Mapping[str, Any],
    origin: str,
    first_line: int,
    post_url: Callable[[str], str | None],
) -> str:
    """Render the post body's Liquid; on a Liquid error, warn and keep the body as written."""
    from liquid.exceptions import LiquidError

    env = _cached_environment(site)
    known = frozenset(env.tags) | {"raw", "endraw"} | {f"end{t}" for t in env.tags}
    prepared = _prepare(body, known, post_url, origin, first_line)
    try:
        return env.from_string(prepared).render(site=dict(site), page=dict(page))
    except LiquidError as exc:
        token = getattr(exc, "token", None)
        where = getattr(token, "start_index", None)
        line = first_line + prepared.count("\n", 0, where) if isinstance(where, int) else first_line
        log.warning("liquid not rendered origin=%s line=%d error=%s", origin, line, exc)
        return body
