"""The fast front matter reader gives exactly PyYAML's result, or declines (None)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from syndicator.sources.jekyll_frontmatter import (
    _FRONT_MATTER,
    YamlTimestamp,
    _Loader,
    split_front_matter,
)
from syndicator.sources.jekyll_frontmatter_fast import read_simple_yaml

ROOT = Path(__file__).resolve().parents[2]

FAST = [
    pytest.param("title: Hello\n", id="plain"),
    pytest.param('title: "안녕: 세상 #1"\nlayout: single\n', id="double-quoted"),
    pytest.param("title: 'it is [x]'\n", id="single-quoted"),
    pytest.param('title: a [b] {c} "d" C#\n', id="plain-with-brackets"),
    pytest.param("date: 2026-01-06 10:00:00 +09:00\n", id="timestamp"),
    pytest.param("date: 2026-01-06 10:00:00 +0900\n", id="offset-without-colon-is-text"),
    pytest.param("date: 2026-01-06\n", id="date-only"),
    pytest.param("date: 2026-01-06 10:00\n", id="date-without-seconds-is-text"),
    pytest.param('date: "2026-01-06 10:00:00"\n', id="quoted-date-is-text"),
    pytest.param("a: true\nb: False\nc: yes\nd: off\ne: ~\nf: null\ng:\n", id="bools-nulls"),
    pytest.param("a: 0\nb: 42\nd: +3\n", id="decimals"),
    pytest.param("tags: [a, b,  c d, 한국어]\n", id="flow-list"),
    pytest.param("tags: []\n", id="empty-flow-list"),
    pytest.param("tags:\n  - [a, b]\n  - c\n", id="nested-flow-in-block"),
    pytest.param("categories:\n- News\n- 뉴스\nx: 1\n", id="list-at-key-indent"),
    pytest.param("tags:\n  -   spaced  \n  - 'q'\n", id="list-spacing"),
    pytest.param('header:\n  teaser: /a.png\n  overlay: "x"\nsearch: true\n', id="nested-map"),
    pytest.param("a: 1\n\nb: 2\n   \n", id="blank-lines"),
    pytest.param("url: http://example.com/a:b\n", id="colon-without-space"),
    pytest.param("---\ntitle: x\n", id="leading-marker"),
]

FALLBACK = [
    pytest.param("# comment\ntitle: x\n", id="comment-line"),
    pytest.param("title: x # note\n", id="trailing-comment"),
    pytest.param("title: a\n  continued\n", id="multi-line-plain"),
    pytest.param('title: "a\\tb"\n', id="escape"),
    pytest.param("title: 'it''s'\n", id="doubled-quote"),
    pytest.param("a: 1.5\n", id="float"),
    pytest.param("a: 010\n", id="octal"),
    pytest.param("a: 0x1f\n", id="hex"),
    pytest.param("a: 1_000\n", id="underscore-int"),
    pytest.param("a: 12:30\n", id="sexagesimal"),
    pytest.param("a: &x 1\nb: *x\n", id="anchor-alias"),
    pytest.param("a: !!str 1\n", id="tag"),
    pytest.param("a: |\n  text\n", id="literal-block"),
    pytest.param("a: >\n  text\n", id="folded-block"),
    pytest.param("a: {b: 1}\n", id="flow-map"),
    pytest.param("a: [b, [c]]\n", id="nested-flow"),
    pytest.param("a: [b,]\n", id="trailing-comma"),
    pytest.param('a: ["b", c]\n', id="quoted-in-flow"),
    pytest.param("a: [b, c\n", id="open-flow"),
    pytest.param("a:\n  b:\n    c: 1\n", id="deep-nesting"),
    pytest.param("a:\n  - b\n   - c\n", id="uneven-indent"),
    pytest.param("a:\n  - b: 1\n", id="list-of-maps"),
    pytest.param("a: 1\na: 2\n", id="duplicate-key"),
    pytest.param("null: 1\n", id="null-key"),
    pytest.param("on: 1\n", id="bool-key"),
    pytest.param("a:\tb\n", id="tab"),
    pytest.param("a: b\u2028c\n", id="line-separator"),
    pytest.param("a: 😀\n", id="astral-character"),
    pytest.param("a: -b\n", id="leading-dash"),
    pytest.param("a: b: c\n", id="colon-space"),
    pytest.param("- a\n- b\n", id="top-level-list"),
    pytest.param("plain text\n", id="not-a-mapping"),
    pytest.param("a:b\n", id="no-space-after-colon"),
    pytest.param("", id="empty"),
    pytest.param("a: <<\n", id="merge"),
]


def _pyyaml(text: str) -> object:
    return yaml.load(text, Loader=_Loader)


def _same(got: object, want: object) -> None:
    assert got == want
    assert repr(got) == repr(want)  # same types too: True is not 1, YamlTimestamp is not str
    if isinstance(want, dict) and isinstance(got, dict):
        assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


@pytest.mark.parametrize("text", FAST)
def test_common_shapes_read_as_pyyaml_does(text: str) -> None:
    got = read_simple_yaml(text, YamlTimestamp)
    assert got is not None
    _same(got, _pyyaml(text))


@pytest.mark.parametrize("text", FALLBACK)
def test_other_shapes_are_left_to_pyyaml(text: str) -> None:
    assert read_simple_yaml(text, YamlTimestamp) is None


def test_timestamps_keep_their_text() -> None:
    got = read_simple_yaml("date: 2026-01-06 10:00:00 +09:00\nd: 2026-01-06\n", YamlTimestamp)
    want = _pyyaml("date: 2026-01-06 10:00:00 +09:00\nd: 2026-01-06\n")
    assert got is not None and isinstance(want, dict)
    assert type(got["date"]) is type(want["date"]) is YamlTimestamp
    assert type(got["d"]) is type(want["d"]) is YamlTimestamp


def test_results_do_not_share_lists_between_calls() -> None:
    text = "tags:\n  - [a, b]\nx: [c]\n"
    first = read_simple_yaml(text, YamlTimestamp)
    assert first is not None
    first["tags"][0].append("changed")
    first["x"].append("changed")
    assert read_simple_yaml(text, YamlTimestamp) == {"tags": [["a", "b"]], "x": ["c"]}


def test_split_front_matter_uses_pyyaml_for_other_shapes() -> None:
    front = split_front_matter("---\na: |\n  text\n---\nbody\n", "x.md")
    assert front.data == {"a": "text\n"}
    assert front.body == "body\n"


def test_every_front_matter_in_the_project_reads_the_same() -> None:
    """The example site, the test data and the seed post: fast or not, PyYAML's result."""
    folders = [ROOT / "examples", ROOT / "tests" / "data"]
    fast = 0
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix not in (".md", ".markdown", ".html"):
                continue
            try:
                text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
            except UnicodeDecodeError:
                continue
            match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
            if match is None:
                continue
            got = read_simple_yaml(match.group(1), YamlTimestamp)
            if got is not None:
                fast += 1
                _same(got, _pyyaml(match.group(1)))
    assert fast >= 10
