"""Golden feeds of the bundled example site, from a real `syndicator feeds` run.

Regenerate with SYNDICATOR_UPDATE_GOLDEN=1 and review the diff like code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicator.cli import main
from tests.conftest import check_golden
from tests.test_cli import make_project

GOLDEN = Path(__file__).resolve().parent / "golden" / "example"
FILES = [
    pytest.param("feed.xml", id="atom"),
    pytest.param("rss.xml", id="rss"),
    pytest.param("feed.json", id="json-feed"),
    pytest.param("feed/News.xml", id="category-atom"),
    pytest.param("feed/by_tag/xn--9l4b2tn5fx9u.xml", id="korean-tag-atom"),
]


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("example")
    assert main(["feeds", "-q", "--config", str(make_project(root))]) == 0
    return root / "public"


@pytest.mark.parametrize("name", FILES)
def test_example_feed_matches_golden(public: Path, name: str) -> None:
    check_golden(GOLDEN / name, (public / name).read_text(encoding="utf-8"))
