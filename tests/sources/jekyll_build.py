"""Run the real `jekyll build` (when installed) to record what jekyll-feed emits, for goldens."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

ATOM = "{http://www.w3.org/2005/Atom}"
# site.time for golden builds: the tests' fixed clock, so <updated> stays put
GOLDEN_TIME = "2026-01-20 12:00:00 +0900"


def jekyll_available() -> bool:
    return shutil.which("jekyll") is not None


def build_feed(site: Path, work: Path, extra_config: str = "") -> str:
    """Build `site` with jekyll + jekyll-feed into `work`; return feed.xml's text."""
    overrides = work / "_golden.yml"
    overrides.write_text(
        f'time: "{GOLDEN_TIME}"\nplugins: [jekyll-feed]\nfeed:\n  posts_limit: 1000\n'
        + extra_config,
        encoding="utf-8",
    )
    dest = work / "_site"
    subprocess.run(
        ["jekyll", "build", "--quiet", "--disable-disk-cache", "--source", str(site),
         "--destination", str(dest), "--config", f"{site / '_config.yml'},{overrides}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return (dest / "feed.xml").read_text(encoding="utf-8")


def feed_entries(feed_xml: str) -> dict[str, tuple[str, str, str]]:
    """jekyll-feed entries as id -> (link href, title, published)."""
    root = ET.fromstring(feed_xml)
    result: dict[str, tuple[str, str, str]] = {}
    for entry in root.iter(f"{ATOM}entry"):
        link = entry.find(f"{ATOM}link")
        result[entry.findtext(f"{ATOM}id", "")] = (
            link.get("href", "") if link is not None else "",
            entry.findtext(f"{ATOM}title", ""),
            entry.findtext(f"{ATOM}published", ""),
        )
    return result
