"""Plain-text helpers for the text part of emails: wrap at spaces, counting wide (CJK) characters
as two columns, never breaking a word or a URL."""

from __future__ import annotations

import unicodedata

__all__ = ["display_width", "wrap"]


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: Hangul, Han and other wide characters count two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _wrap_paragraph(paragraph: str, width: int) -> list[str]:
    lines: list[str] = []
    line: list[str] = []
    used = 0
    for word in paragraph.split():
        size = display_width(word)
        if line and used + 1 + size > width:
            lines.append(" ".join(line))
            line, used = [], 0
        used += size + (1 if line else 0)
        line.append(word)
    if line:
        lines.append(" ".join(line))
    return lines


def wrap(text: str, width: int = 72) -> str:
    """Wrap each paragraph (lines kept as they are given) to ``width`` columns at spaces."""
    out: list[str] = []
    for paragraph in str(text).splitlines() or [""]:
        out.extend(_wrap_paragraph(paragraph, width) or [""])
    return "\n".join(out)
