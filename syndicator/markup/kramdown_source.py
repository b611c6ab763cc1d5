"""Rewrite kramdown-flavoured Markdown so a CommonMark renderer parses it as kramdown does.

The rewrite leaves markers (HTML comments and a sentinel character) that
:mod:`syndicator.markup.markdown` resolves after rendering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["SENTINEL_CANDIDATES", "Prepared", "prepare_source"]

# Unicode punctuation (category Pd/Po) that turns a neighbouring `*` run into a flanking one;
# the first one absent from the source is used, so removing it afterwards is lossless.
SENTINEL_CANDIDATES = ("\u2e3a", "\u2e3b", "\u2e17", "\u2e1a")

# kramdown treats these tags at the start of a line as text, not as an HTML block.
_SPAN_TAGS = frozenset(
    [
        "a",
        "abbr",
        "acronym",
        "b",
        "big",
        "bdo",
        "br",
        "button",
        "cite",
        "code",
        "del",
        "dfn",
        "em",
        "i",
        "img",
        "input",
        "ins",
        "kbd",
        "label",
        "mark",
        "option",
        "q",
        "rb",
        "rbc",
        "rp",
        "rt",
        "rtc",
        "ruby",
        "samp",
        "select",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "tt",
        "u",
        "var",
    ]
)
_VOID_TAGS = frozenset(
    [
        "area",
        "base",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)

_SPECIAL_FIRST = frozenset(" \t`~{[<|#>*+-0123456789")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_BLOCK_TAG_RE = re.compile(r"^ {0,3}<([A-Za-z][A-Za-z0-9-]*)(?=[\s/>]|$)")
_COMMENT_START_RE = re.compile(r"^ {0,3}<!--")
_IAL_RE = re.compile(r"^ {0,3}\{:(?![\w-]+:)\s*([^}]*)\}\s*$")
_OPTIONS_RE = re.compile(r"^ {0,3}\{::options\b[^}]*/\}\s*$")
_COMMENT_EXT_RE = re.compile(r"\{::comment\}.*?\{:/comment\}|\{::comment\s*/\}", re.S)
_ORDERED_START_RE = re.compile(r"^ {0,3}(\d{1,9})\.[ \t]+\S")
_LIST_ITEM_RE = re.compile(r"^ {0,3}(?:[*+-]|\d{1,9}[.)])(?:[ \t]|$)")
_BLOCK_START_RE = re.compile(r"^ {0,3}(?:#{1,6}(?:[ \t]|$)|>|`{3,}|~{3,}|<!--syn-)")
_FOOTNOTE_DEF_RE = re.compile(r"^ {0,3}\[\^([^\]\s]+)\]:[ \t]?(.*)$")
_FOOTNOTE_REF_RE = re.compile(r"(`+).*?\1|\[\^([^\]\s]+)\](?!:)", re.S)


@dataclass
class Prepared:
    """The rewritten source and what its markers stand for."""

    text: str
    sentinel: str
    raw_blocks: list[str] = field(default_factory=list)
    ials: list[tuple[str, bool]] = field(default_factory=list)  # (attribute list, applies forward)
    footnotes: dict[str, str] = field(default_factory=dict)  # label -> Markdown body
    footnote_order: list[str] = field(default_factory=list)


def prepare_source(text: str) -> Prepared:
    """Rewrite ``text`` line by line; code fences pass through untouched."""
    sentinel = next((c for c in SENTINEL_CANDIDATES if c not in text), "\u2e3a")
    prepared = Prepared(text="", sentinel=sentinel)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "{::comment" in text:
        text = _COMMENT_EXT_RE.sub("", text)
    lines = text.split("\n")
    out: list[str] = []
    fence: str | None = None
    prev_kind = "blank"  # blank | para | list | block
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if fence is not None:
            out.append(line)
            stripped = line.strip()
            if stripped.startswith(fence) and stripped.strip(fence[0]) == "":
                fence, prev_kind = None, "block"
            continue
        if not line.strip():
            out.append(line)
            prev_kind = "blank" if prev_kind != "list" else "list-blank"
            continue
        if line[0] not in _SPECIAL_FIRST:
            prev_kind = "list" if prev_kind == "list" else "para"  # lazy line or new paragraph
            out.append(line)
            continue
        first = line.lstrip(" ")[:1]
        match = _FENCE_RE.match(line) if first in "`~" else None
        if match:
            fence = match.group(1)
            out.append(line)
            continue
        if first == "{" and _OPTIONS_RE.match(line):
            continue
        match = _IAL_RE.match(line) if first == "{" else None
        if match:
            forward = prev_kind in ("blank", "list-blank")
            out.append(f"<!--syn-ial-{len(prepared.ials)}-->")
            prepared.ials.append((match.group(1), forward))
            prev_kind = "block"
            continue
        match = _FOOTNOTE_DEF_RE.match(line) if first == "[" else None
        if match and prev_kind != "para":
            note_lines = [match.group(2)]
            while i < len(lines) and (
                lines[i].startswith(("    ", "\t"))
                or (not lines[i].strip() and i + 1 < len(lines) and lines[i + 1].startswith("    "))
            ):
                note_lines.append(
                    lines[i][4:] if lines[i].startswith("    ") else lines[i].lstrip("\t")
                )
                i += 1
            prepared.footnotes.setdefault(match.group(1), "\n".join(note_lines))
            prev_kind = "blank"
            continue
        if (
            first == "<"
            and prev_kind in ("blank", "block", "list-blank")
            and _starts_raw_block(line)
        ):
            end = _raw_block_end(lines, i - 1)
            block = "\n".join(lines[i - 1 : end + 1])
            out.append(f"<!--syn-raw-{len(prepared.raw_blocks)}-->")
            prepared.raw_blocks.append(block)
            i = end + 1
            prev_kind = "block"
            continue
        tag = _BLOCK_TAG_RE.match(line) if first == "<" else None
        if tag and prev_kind != "para" and tag.group(1).lower() in _SPAN_TAGS:
            # CommonMark would make a lone inline tag an HTML block; kramdown makes a paragraph.
            line = sentinel + line.lstrip(" ")
        elif prev_kind == "para" and first.isdigit():
            ordered = _ORDERED_START_RE.match(line)
            if ordered and ordered.group(1) != "1":
                out.append("")  # kramdown lets any ordered list interrupt a paragraph
        if _LIST_ITEM_RE.match(line) or (
            prev_kind == "list-blank" and line.startswith((" ", "\t"))
        ):
            prev_kind = "list"
        elif _BLOCK_START_RE.match(line) or line.lstrip().startswith("|"):
            prev_kind = "block"
        elif prev_kind != "list":
            prev_kind = "para"
        out.append(line)
    body: str = "\n".join(out)
    if "[^" in body and prepared.footnotes:
        body = _replace_footnote_refs(body, prepared)
    if "*" in body:
        body = mark_star_runs(body, sentinel)
    prepared.text = body
    return prepared


def _starts_raw_block(line: str) -> bool:
    if _COMMENT_START_RE.match(line):
        return True
    match = _BLOCK_TAG_RE.match(line)
    return match is not None and match.group(1).lower() not in _SPAN_TAGS


def _raw_block_end(lines: list[str], start: int) -> int:
    """Index of the last line of the HTML block starting at ``start`` (matching close tag)."""
    first = lines[start]
    if _COMMENT_START_RE.match(first):
        for j in range(start, len(lines)):
            if "-->" in lines[j]:
                return j
        return len(lines) - 1
    match = _BLOCK_TAG_RE.match(first)
    assert match is not None
    name = match.group(1).lower()
    if name in _VOID_TAGS:
        return start
    opener = re.compile(rf"<{re.escape(name)}(?=[\s/>])|(</{re.escape(name)}\s*>)|/>", re.I)
    depth = 0
    for j in range(start, len(lines)):
        pending_self_close = False
        for tag in opener.finditer(lines[j]):
            text = tag.group(0)
            if text == "/>":
                if pending_self_close:
                    depth -= 1
                    pending_self_close = False
            elif tag.group(1):
                depth -= 1
            else:
                depth += 1
                pending_self_close = True
            if depth <= 0:
                return j
        if j > start and not lines[j].strip() and depth <= 0:
            return j - 1
    return len(lines) - 1


def _replace_footnote_refs(body: str, prepared: Prepared) -> str:
    def replace(match: re.Match[str]) -> str:
        label = match.group(2)
        if label is None or label not in prepared.footnotes:
            return match.group(0)
        if label not in prepared.footnote_order:
            prepared.footnote_order.append(label)
        number = prepared.footnote_order.index(label) + 1
        return (
            f'<sup id="fnref:{label}" role="doc-noteref"><a href="#fn:{label}" '
            f'class="footnote" rel="footnote">{number}</a></sup>'
        )

    return _FOOTNOTE_REF_RE.sub(replace, body)


def mark_star_runs(text: str, sentinel: str) -> str:
    """Make `*` runs between punctuation and a letter flank both ways, as kramdown reads them.

    CommonMark lets a run after punctuation close only before space or punctuation, so
    ``**앤스로픽(Anthropic)**입니다`` stays literal; kramdown has no such rule. The sentinel,
    itself punctuation, goes on the letter side of such a run.
    """
    parts = text.split("*")  # str.split is far faster than a regex scan over the whole text
    count = len(parts)
    if count == 1:
        return text
    out = [parts[0]]
    index = 1
    while index < count:
        length = 1
        while index < count - 1 and not parts[index]:
            length += 1
            index += 1
        before_text, after_text = out[-1], parts[index]
        run = "*" * length
        before = before_text[-1:]
        after = after_text[:1]
        # A letter is alphanumeric; punctuation is anything else but space (and nothing).
        if not before or not after or before.isspace() or after.isspace() or before == "\\":
            out.append(run)
        elif after.isalnum():
            out.append(run if before.isalnum() else run + sentinel)
        elif before.isalnum():
            out.append(sentinel + run)
        else:
            out.append(run)
        out.append(after_text)
        index += 1
    return "".join(out)
