"""kramdown's typography on rendered HTML: smart quotes, typographic symbols, GFM header ids."""

from __future__ import annotations

import html
import re
from collections import defaultdict

__all__ = ["gfm_header_id", "typeset_html"]

# kramdown's SQ_RULES (parser/kramdown/smart_quotes.rb), applied at the character before a
# quote; Ruby's \w and \s are ASCII-only there, so the classes here are spelled out.
_W = "A-Za-z0-9_"
_S = " \t\r\n\f\v"
_PUNCT = r"""[!"#$%'()*+,\-./:;<=>?@\[\\\]^_`{|}~]"""
_CLOSE = r"[^ \\\t\r\n\[{(\-]"
_LD, _RD, _LS, _RS = "\u201c", "\u201d", "\u2018", "\u2019"
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"""(["'])(?=[_*]{1,2}\S)"""), "l1"),
    (re.compile(r"""(["'])"""), "r1x"),  # followed by punctuation; checked in _r1x
    (re.compile(rf"""([{_S}]?)"'(?=[{_W}])"""), "dq-sq"),
    (re.compile(rf"""([{_S}]?)'"(?=[{_W}])"""), "sq-dq"),
    (re.compile(rf"""([{_S}]?)'(?=[0-9][0-9]s)"""), "decade"),
    (re.compile(rf"""([{_S}])(["'])(?=[{_W}])"""), "l2"),
    (re.compile(rf"""({_CLOSE})(["'])"""), "r2"),
    (re.compile(rf"""(["'])(?=[{_S}]|s(?!\w)|$)"""), "r1"),
    (re.compile(r"""(.?)'""", re.S), "lsq"),
    (re.compile(r"""(.?)\"""", re.S), "ldq"),
]
_QUOTE_RE = re.compile(r"""[^\\]?["']""")
_SYMBOLS = [
    ("---", "\u2014"),
    ("--", "\u2013"),
    ("...", "\u2026"),
    ("<< ", "\u00ab\u00a0"),
    (" >>", "\u00a0\u00bb"),
    ("<<", "\u00ab"),
    (">>", "\u00bb"),
]
_SYMBOL_RE = re.compile("|".join(re.escape(k) for k, _ in _SYMBOLS))
_SYMBOL_MAP = dict(_SYMBOLS)


def _quote_char(kind: str, quote: str) -> str:
    double = quote == '"'
    if kind.startswith("r"):
        return _RD if double else _RS
    return _LD if double else _LS


def _kramdown_quotes(text: str) -> str:
    """Replace straight quotes in one text run as kramdown's span parser would."""
    out: list[str] = []
    pos = 0
    size = len(text)
    while pos < size:
        found = _QUOTE_RE.search(text, pos)
        if found is None:
            break
        at = found.start()
        out.append(text[pos:at])
        for pattern, kind in _RULES:
            m = pattern.match(text, at)
            if m is None or (kind == "r1x" and not _r1x(text, m.end(1))):
                continue
            if kind in ("l1", "r1", "r1x"):
                out.append(_quote_char("r" if kind != "l1" else "l", m.group(1)))
            elif kind in ("dq-sq", "sq-dq"):
                pair = _LD + _LS if kind == "dq-sq" else _LS + _LD
                out.append(m.group(1) + pair)
            elif kind == "decade":
                out.append(m.group(1) + _RS)
            elif kind in ("l2", "r2"):
                out.append(m.group(1) + _quote_char(kind[0], m.group(2)))
            else:
                out.append(m.group(1) + (_LS if kind == "lsq" else _LD))
            pos = m.end()
            break
        else:  # pragma: no cover - the last two rules always match a quote
            out.append(text[at])
            pos = at + 1
    out.append(text[pos:])
    return "".join(out)


def _r1x(text: str, quote_end: int) -> bool:
    r"""Rule 2 (``(?=PUNCT(?!\.\.)\B)``): punctuation, not then '..', then no word character."""
    if quote_end >= len(text) or not _PUNCT_RE.match(text, quote_end):
        return False
    if text.startswith("..", quote_end + 1):
        return False
    return quote_end + 1 >= len(text) or not _WORD_RE.match(text, quote_end + 1)


_PUNCT_RE = re.compile(_PUNCT)
_WORD_RE = re.compile(r"\w")


def _typeset_text(text: str) -> str:
    if "--" in text or "..." in text or "<<" in text or ">>" in text:
        text = _SYMBOL_RE.sub(lambda m: _SYMBOL_MAP[m.group(0)], text)
    if '"' in text or "'" in text:
        text = _kramdown_quotes(text)
    return text


def _typeset_segment(match: re.Match[str]) -> str:
    text = html.unescape(match.group(1))
    new = _typeset_text(text)
    return ">" + (html.escape(new, quote=False) if new != text else match.group(1))


def _typeset_chunk(chunk: str) -> str:
    return _CANDIDATE_TEXT_RE.sub(_typeset_segment, chunk)


def typeset_html(fragment: str) -> str:
    """Apply smart quotes and typographic symbols to text outside code and raw-HTML markers.

    Only text runs (between ``>`` and ``<``) holding a quote, ``--``, ``...``, ``<<`` or ``>>``
    are touched; ``pre``/``code``-like elements are skipped whole.
    """
    if "<code" not in fragment and "<pre" not in fragment and "<kbd" not in fragment:
        return _typeset_chunk(fragment)
    parts = _VERBATIM_RE.split(fragment)
    # split() yields [text, verbatim, name, text, verbatim, name, ...]
    for index in range(0, len(parts), 3):
        parts[index] = _typeset_chunk(parts[index])
    return "".join(parts[index] for index in range(len(parts)) if index % 3 != 2)


_VERBATIM_RE = re.compile(
    r"(<(pre|code|kbd|samp|script|style|math|textarea)\b[^>]*>.*?</\2\s*>)", re.S | re.I
)
_CANDIDATE_TEXT_RE = re.compile(r">([^<]*?(?:&quot;|'|&#39;|\"|--|\.\.\.|&lt;&lt;|&gt;&gt;)[^<]*)")


class HeaderIds:
    """kramdown-parser-gfm's ``generate_gfm_header_id``: one counter per document."""

    def __init__(self) -> None:
        self._seen: defaultdict[str, int] = defaultdict(lambda: -1)

    def make(self, text: str) -> str:
        result = gfm_header_id(text)
        self._seen[result] += 1
        count = self._seen[result]
        return f"{result}-{count}" if count else result


def gfm_header_id(text: str) -> str:
    """Lower-case, drop everything but word characters, '-', space and tab; spaces become '-'."""
    return _NON_WORD_RE.sub("", text.lower()).replace(" ", "-").replace("\t", "-")


# kramdown's /[^\p{Word}\- \t]/; Python's \w is Unicode letters, digits and '_'.
_NON_WORD_RE = re.compile(r"[^\w\- \t]")
