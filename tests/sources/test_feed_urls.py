"""The URL shortcuts of feed reading give exactly what the urllib calls they skip would."""

from __future__ import annotations

import random
import re
from urllib.parse import urljoin, urlsplit

import pytest

from syndicator.markup.sanitize import _origin, _resolved, _root_relative
from syndicator.sources.feedmap import _is_absolute_uri
from syndicator.sources.feedparse import join_url

_PIECES = "aZ09/.:?#;&=%@!$'()*+,-_~[] \t\né"
_STARTS = ("http://", "https://", "HTTP://", "http:", "http:///", "//", "/", "", "mailto:")
_HOSTS = ("h", "a.example", "x-y.z", "-h", "[::1]", "1.2.3.4:8080", "h:80", "u@h", "h:x", "")
_BASES = (
    "",
    "http://a.example/b/c",
    "https://a.example/",
    "HTTP://A/b",
    "http://[::1]/x",
    "http://a/b?q#f",
    "ftp://x/y",
    "mailto:x@y",
    "//host/p",
    "/relative",
)


def _urls(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    fixed = [
        "https://blog.example.com/posts/1/",
        "http://h/p?",
        "http://h/p?q",
        "http://h/p#",
        "http://h/p;x",
        "http://h/a/../b",
        "http://h//x",
        "http://h/%zz",
        "http://h/a b",
        " http://h/",
        "http://h\t/",
        "urn:uuid:1234",
        "tag:example.com,2005:1",
    ]
    random_urls = [
        rng.choice(_STARTS)
        + rng.choice(_HOSTS)
        + "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 20)))
        for _ in range(count)
    ]
    return fixed + random_urls


def _outcome(call: object, *args: str) -> object:
    try:
        return call(*args)  # type: ignore[operator]
    except ValueError as exc:
        return ("ValueError", str(exc))


@pytest.mark.parametrize("base", _BASES)
def test_join_url_is_urljoin(base: str) -> None:
    for url in _urls(20_000, seed=len(base)):
        assert _outcome(join_url, base, url) == _outcome(urljoin, base, url), (base, url)


def _origin_reference(base: str) -> str:
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


def test_origin_is_what_urlsplit_gives() -> None:
    for url in _urls(50_000, seed=7):
        assert _outcome(_origin, url) == _outcome(_origin_reference, url), url


def _is_absolute_uri_reference(value: str) -> bool:
    """The check before its fast path: scheme, no white space, a host for http(s)."""
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value) or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return bool(parts.netloc) if parts.scheme in ("http", "https") else bool(parts.path)


def test_absolute_uri_check_is_the_reference_one() -> None:
    for value in [*_urls(50_000, seed=11), "http://h/\u00a0", "http://h/\u2028x"]:
        got = _outcome(_is_absolute_uri, value)
        assert got == _outcome(_is_absolute_uri_reference, value), value


def test_root_relative_links_resolve_against_the_origin_alone() -> None:
    """sanitize keys its cache by the origin for such links: the answer must be the same."""
    rng = random.Random(5)
    bases = [b for b in _urls(3_000, seed=3) if re.match(r"^https?://[^/\s]+", b)]
    values = ["/x", "/a/b?c=d#e", "/%41", "/a b", "/é", "/a&amp;b", "/./x", "//h/x", "/a/../b"]
    values += ["/" + "".join(rng.choice(_PIECES) for _ in range(8)) for _ in range(300)]
    for base in bases:
        try:
            origin = _origin(base)
        except ValueError:
            continue
        for value in values:
            value = value.replace('"', "")
            if _root_relative(value):
                assert _resolved("href", value, origin) == _resolved("href", value, base)
