"""Markdown to HTML as Jekyll's kramdown (GFM input, Jekyll's defaults) renders it, but fast.

markdown-it-pyrs (CommonMark, Rust) does the parsing; :mod:`.kramdown_source` rewrites the
source where kramdown and CommonMark disagree and the passes here resolve its markers.
"""

from __future__ import annotations

import html
import re
import shlex
from functools import lru_cache
from urllib.parse import quote

import lxml.html  # type: ignore[import-untyped,unused-ignore]
import markdown_it_pyrs
from lxml import etree

from syndicator.errors import RenderError
from syndicator.markup.kramdown_source import Prepared, mark_star_runs, prepare_source
from syndicator.markup.typography import HeaderIds, typeset_html

__all__ = ["render_markdown"]

_HEADING_RE = re.compile(r"<h([1-6])>(.*?)</h\1>", re.S)
_TAGS_RE = re.compile(r"<[^>]*>")
_EXPLICIT_ID_RE = re.compile(r"\s*\{#([A-Za-z][\w:-]*)\}\s*$")
_RAW_MARKER_RE = re.compile(r"<!--syn-raw-(\d+)-->\n?")
_IAL_MARKER = "<!--syn-ial-"
_ALIGN_RE = re.compile(r' style="text-align:(left|center|right)"')
_OL_START_RE = re.compile(r'<ol start="\d+">')


@lru_cache(maxsize=1)
def _parser() -> markdown_it_pyrs.MarkdownIt:
    return markdown_it_pyrs.MarkdownIt("commonmark").enable_many(["table", "strikethrough"])


def render_markdown(text: str) -> str:
    """Render a post body (Markdown after Liquid) to an HTML fragment, as kramdown would."""
    prepared = prepare_source(text)
    try:
        out = _parser().render(prepared.text)
    except Exception as exc:  # the Rust extension raises plain exceptions
        raise RenderError(f"cannot render Markdown: {exc}") from exc
    out = _normalize(out)
    if prepared.footnote_order:
        out += _footnotes_html(prepared)
    out = typeset_html(out)
    out = _HEADING_RE.sub(_header_id_adder(), out)
    if _IAL_MARKER in out:
        out = _apply_ials(out, prepared)
    sentinel = prepared.sentinel
    if sentinel in out or "%E2%B8" in out:
        out = out.replace(sentinel, "").replace(quote(sentinel), "")
    if prepared.raw_blocks:
        out = _RAW_MARKER_RE.sub(lambda m: prepared.raw_blocks[int(m.group(1))] + "\n", out)
    return out


def _normalize(out: str) -> str:
    """Spell CommonMark output the way kramdown does where the two differ."""
    if "<s>" in out:
        out = out.replace("<s>", "<del>").replace("</s>", "</del>")
    if "text-align:" in out:
        out = _ALIGN_RE.sub(r' style="text-align: \1"', out)
    if "<ol start=" in out:
        out = _OL_START_RE.sub("<ol>", out)  # kramdown ignores the first item's number
    return out


def _header_id_adder() -> re.Callable[[re.Match[str]], str]:  # type: ignore[name-defined]
    ids = HeaderIds()

    def add(match: re.Match[str]) -> str:
        level, inner = match.group(1), match.group(2)
        explicit = _EXPLICIT_ID_RE.search(inner)
        if explicit:
            inner = inner[: explicit.start()]
            ident = explicit.group(1)
        else:
            ident = ids.make(html.unescape(_TAGS_RE.sub("", inner)))
        return f'<h{level} id="{html.escape(ident)}">{inner}</h{level}>'

    return add


def _footnotes_html(prepared: Prepared) -> str:
    items = []
    for label in prepared.footnote_order:
        body = mark_star_runs(prepared.footnotes[label], prepared.sentinel)
        rendered = _normalize(_parser().render(body)).strip()
        backlink = (
            f' <a href="#fnref:{label}" class="reversefootnote" role="doc-backlink">&#8617;</a>'
        )
        if rendered.endswith("</p>"):
            rendered = rendered[:-4] + backlink + "</p>"
        else:
            rendered += f"<p>{backlink.strip()}</p>"
        items.append(f'<li id="fn:{label}" role="doc-endnote">\n{rendered}\n</li>\n')
    return (
        '<div class="footnotes" role="doc-endnotes">\n<ol>\n' + "".join(items) + "</ol>\n</div>\n"
    )


def _apply_ials(out: str, prepared: Prepared) -> str:
    """Attach ``{: .class #id key="v"}`` lines to the block before (or after) them."""
    root = lxml.html.fragment_fromstring(out, create_parent="div")
    for comment in list(root.iter(etree.Comment)):
        text = comment.text or ""
        if not text.startswith("syn-ial-"):
            continue
        spec, forward = prepared.ials[int(text[len("syn-ial-") :])]
        target = comment.getnext() if forward else comment.getprevious()
        while target is not None and not isinstance(target.tag, str):
            target = target.getnext() if forward else target.getprevious()
        if target is not None:
            _set_attributes(target, spec)
        _drop(comment)
    # One serialization of the wrapper, then its own tags cut off: far cheaper than one call
    # per child, and the same text (lxml escapes text and tails as html.escape does).
    wrapped: str = lxml.html.tostring(root, encoding="unicode")
    return wrapped[len("<div>") : -len("</div>")]


def _set_attributes(element: lxml.html.HtmlElement, spec: str) -> None:
    try:
        tokens = shlex.split(spec)
    except ValueError:
        tokens = spec.split()
    for token in tokens:
        if token.startswith("."):
            classes = (element.get("class") or "").split()
            element.set("class", " ".join([*classes, token[1:]]))
        elif token.startswith("#"):
            element.set("id", token[1:])
        elif "=" in token:
            key, _, value = token.partition("=")
            if re.fullmatch(r"[A-Za-z_:][\w:.-]*", key):
                element.set(key, value)


def _drop(node: etree._Element) -> None:
    parent = node.getparent()
    if parent is None:
        return
    tail = node.tail or ""
    previous = node.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(node)
