"""A strict reader for the common shapes of Jekyll front matter, ~10× cheaper than PyYAML.

It understands only ``key: scalar``, ``key: [a, b]``, ``key:`` followed by a block list of
scalars or flow lists, and ``key:`` followed by one level of ``key: scalar`` lines; scalars are
plain or quoted without escapes. Anything else (comments after values, anchors, tags, escapes,
multi-line scalars, tabs, deeper nesting, duplicate keys, numbers other than plain decimals…)
returns None and the caller uses PyYAML, so the result is always what PyYAML would give.
Plain scalars are typed by PyYAML's own implicit resolver.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml

__all__ = ["read_simple_yaml"]

_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +(.*))?\Z")
_ITEM_LINE = re.compile(r"- +(.*)\Z")
# Characters that give a plain scalar's first character another meaning, or end it early.
_PLAIN_START_BAD = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_BAD = frozenset(",[]{}#'\"")
# Anything outside printable ASCII/Unicode text, and tabs: leave those to PyYAML.
_UNUSUAL = re.compile(r"[^\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\n]")
_RESOLVER = yaml.resolver.Resolver()
_RESOLVED_FIRST = frozenset(k for k in _RESOLVER.yaml_implicit_resolvers if k)
_STR = "tag:yaml.org,2002:str"
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_BOOLS = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}


class _NotSimple(Exception):
    """The text is outside the shapes read here."""


@lru_cache(maxsize=4096)  # keys, tags and categories repeat from post to post
def _plain(text: str, timestamp: type[str]) -> Any:
    """A plain scalar as PyYAML's safe loader types it (decimal ints, bools, nulls, text)."""
    if not text:
        return None
    if text[0] in _PLAIN_START_BAD or ": " in text or " #" in text or text.endswith(":"):
        raise _NotSimple
    if text[0] not in _RESOLVED_FIRST:
        return text  # no implicit type starts with this character
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag == _STR:
        return text
    if tag == "tag:yaml.org,2002:bool":
        return _BOOLS[text]
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:int" and _DECIMAL.match(text):
        return int(text)
    if tag == "tag:yaml.org,2002:timestamp":
        return timestamp(text)
    raise _NotSimple  # floats, octal, hex, sexagesimal, merge keys…


def _scalar(text: str, timestamp: type[str]) -> Any:
    """A block-context scalar: quoted without escapes, or plain."""
    text = text.rstrip(" ")
    if text[:1] == '"':
        if len(text) < 2 or text[-1] != '"' or '"' in text[1:-1] or "\\" in text:
            raise _NotSimple
        return text[1:-1]
    if text[:1] == "'":
        if len(text) < 2 or text[-1] != "'" or "'" in text[1:-1]:
            raise _NotSimple
        return text[1:-1]
    if text[:1] == "[":
        return _flow_list(text, timestamp)
    return _plain(text, timestamp)


def _flow_list(text: str, timestamp: type[str]) -> list[Any]:
    """``[a, b, c]`` of plain scalars (no quotes, no nesting, no empty items)."""
    if text[-1] != "]":
        raise _NotSimple
    inner = text[1:-1].strip(" ")
    if not inner:
        return []
    items = []
    for raw in inner.split(","):
        item = raw.strip(" ")
        if not item or any(c in _FLOW_BAD for c in item) or ":" in item:
            raise _NotSimple
        value = _plain(item, timestamp)
        if value is None:
            raise _NotSimple
        items.append(value)
    return items


_OPEN = object()  # a key whose value is the indented block below it


@lru_cache(maxsize=4096)
def _top(line: str, timestamp: type[str]) -> tuple[str, Any]:
    """A top-level ``key: value`` line: its key and value (``_OPEN`` when a block follows)."""
    match = _KEY_LINE.match(line)
    if match is None:
        raise _NotSimple
    key = _plain(match.group(1), timestamp)
    if not isinstance(key, str):
        raise _NotSimple
    value = match.group(2)
    if value is None or not value.strip(" "):
        return key, _OPEN
    return key, _scalar(value, timestamp)


@lru_cache(maxsize=4096)
def _item(line: str, timestamp: type[str]) -> Any:
    """A block list line ``- value`` (indent removed)."""
    match = _ITEM_LINE.match(line)
    if match is None:
        raise _NotSimple
    value = _scalar(match.group(1), timestamp)
    return tuple(value) if isinstance(value, list) else value


@lru_cache(maxsize=4096)
def _pair(line: str, timestamp: type[str]) -> tuple[str, Any]:
    """A nested mapping line ``key: scalar`` (indent removed)."""
    key, value = _top(line, timestamp)
    if value is _OPEN or isinstance(value, list):
        raise _NotSimple
    return key, value


def _block(lines: list[str], timestamp: type[str]) -> Any:
    """The indented list or mapping below a ``key:`` line."""
    first = len(lines[0]) - len(lines[0].lstrip(" "))
    pad = lines[0][:first]
    body = [line[first:] for line in lines]
    if any(line[:first] != pad or line[first] == " " for line in lines):
        raise _NotSimple  # not all at one indent
    if body[0][:2] == "- ":
        return [list(v) if isinstance(v, tuple) else v for v in (_item(b, timestamp) for b in body)]
    if not first:
        raise _NotSimple
    mapping: dict[str, Any] = {}
    for line in body:
        key, value = _pair(line, timestamp)
        if key in mapping:
            raise _NotSimple
        mapping[key] = value
    return mapping


def read_simple_yaml(text: str, timestamp: type[str]) -> dict[str, Any] | None:
    """The mapping PyYAML would load from ``text``, or None when ``text`` is not simple enough.

    ``timestamp`` wraps plain timestamp scalars (as the caller's loader does).
    """
    if _UNUSUAL.search(text):
        return None
    lines = [line for line in text.split("\n") if line.strip(" ")]
    if lines and lines[0].rstrip(" ") == "---":
        del lines[0]
    result: dict[str, Any] = {}
    index, count = 0, len(lines)
    try:
        while index < count:
            key, value = _top(lines[index], timestamp)
            if key in result:
                raise _NotSimple
            index += 1
            if value is _OPEN:
                start = index
                while index < count and (lines[index][0] == " " or lines[index][:2] == "- "):
                    index += 1
                value = _block(lines[start:index], timestamp) if index > start else None
            elif index < count and lines[index][0] == " ":
                raise _NotSimple  # a continuation line of a multi-line scalar
            elif isinstance(value, list):
                value = list(value)  # cached lines must not share a list with a caller
            result[key] = value
    except _NotSimple:
        return None
    return result or None
