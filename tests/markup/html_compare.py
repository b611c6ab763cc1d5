"""Semantic HTML comparison for golden tests: tags, attributes and text, not formatting."""

from __future__ import annotations

import re

import lxml.html  # type: ignore[import-untyped,unused-ignore]
from lxml import etree

_SPACE_RE = re.compile(r"\s+")


def _text(value: str | None, verbatim: bool) -> str:
    if verbatim:
        return value or ""
    return _SPACE_RE.sub(" ", value or "").strip()


def _shape(element: etree._Element, verbatim: bool = False) -> object:
    verbatim = verbatim or element.tag == "pre"
    children = [_shape(child, verbatim) for child in element if isinstance(child.tag, str)]
    # Comments are dropped; their tails stay part of the parent's text stream.
    texts = [_text(element.text, verbatim)]
    for child in element:
        texts.append(_text(child.tail, verbatim))
    return (element.tag, sorted(element.attrib.items()), [t for t in texts if t], children)


def html_shape(fragment: str) -> object:
    """A comparable structure of an HTML fragment."""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return _shape(root)
