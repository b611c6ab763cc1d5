"""Deciding that ``syndicator feeds`` has nothing to do without opening the store.

After a successful run, a small JSON "seal" beside the SQLite database records what that run
saw. The next run skips collecting and publishing (and never imports SQLAlchemy) only when
all of these hold, else it does the full run and writes a new seal:

- the store is a SQLite file, every source is a local Jekyll site, and ``--force`` is not set;
- the settings (config file bytes, resolved site, feeds, sources and database settings, the
  working directory, the syndicator and renderer versions) are the ones sealed;
- each site's config, authors data and post files (path, mtime, size) are as sealed;
- no post that was left out for its future date has become due (``now`` is before the
  earliest such date);
- every feed file and the database (and its WAL) are as the sealed run left them: a write by
  any other process (a subscriber, a ``run``) means a full run;
- the sealed run had no problems and no failed source (those are reported on every run).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from syndicator import __version__
from syndicator.config import Settings
from syndicator.render.content import RENDERER_VERSION

__all__ = [
    "SealInputs",
    "SealedRun",
    "break_seal",
    "check_seal",
    "seal_inputs",
    "seal_path",
    "write_seal",
]

log = logging.getLogger(__name__)

_VERSION = 1
_SQLITE = "sqlite:///"


@dataclass(frozen=True, slots=True)
class SealedRun:
    """What an unchanged run reports: each source's post count, and the feed files."""

    sources: tuple[tuple[str, int], ...]
    files: int


def seal_path(settings: Settings) -> Path | None:
    """Where the seal lives (beside the SQLite file), or None when no seal can be used."""
    url = settings.database.url
    if not url.startswith(_SQLITE) or "?" in url or ":memory:" in url:
        return None
    if not settings.sources or any(s.type != "jekyll" for s in settings.sources):
        return None
    database = url[len(_SQLITE) :]
    return Path(database + ".feeds-seal.json") if database else None


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _inputs(settings: Settings) -> str:
    config = settings.path.read_bytes() if settings.path.exists() else b""
    text = "\0".join(
        [
            __version__,
            RENDERER_VERSION,
            config.hex(),
            repr(settings.site),
            repr(settings.feeds),
            repr(settings.sources),
            repr(settings.database),
            os.getcwd(),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _tree_stamps(settings: Settings) -> dict[str, str]:
    from syndicator.sources.jekyll import JekyllSource

    return {
        s.name: JekyllSource(s, settings.site).tree_stamp()
        for s in settings.sources
        if s.type == "jekyll"
    }


def _store_stamp(database: Path) -> list[list[int] | None]:
    return [_stat(database), _stat(Path(f"{database}-wal"))]


@dataclass(frozen=True, slots=True)
class SealInputs:
    """The settings and source trees as they were before a full run collected anything."""

    inputs: str
    trees: dict[str, str]


def seal_inputs(settings: Settings) -> SealInputs | None:
    """Taken before collecting: a file changed during the run then fails the next check."""
    if seal_path(settings) is None:
        return None
    return SealInputs(_inputs(settings), _tree_stamps(settings))


def check_seal(settings: Settings, now: datetime, current: SealInputs | None) -> SealedRun | None:
    """What the last run saw, if nothing it depends on has changed since; else None.

    ``current`` is ``seal_inputs(settings)`` as of now.
    """
    path = seal_path(settings)
    if path is None or current is None:
        return None
    try:
        seal: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if seal.get("version") != _VERSION or seal.get("inputs") != current.inputs:
            return None
        due = seal.get("next_visible")
        if due is not None and now >= datetime.fromisoformat(due):
            log.info("feeds seal expired: a post dated %s is now due", due)
            return None
        database = Path(str(path)[: -len(".feeds-seal.json")])
        if seal.get("store") != _store_stamp(database):
            return None
        files: dict[str, list[int]] = seal["files"]
        if any(_stat(Path(name)) != stamp for name, stamp in files.items()):
            return None
        if seal.get("trees") != current.trees:
            return None
        sources = tuple((str(name), int(count)) for name, count in seal["sources"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return SealedRun(sources, len(files))


def break_seal(settings: Settings) -> None:
    """Remove the seal: a full run is under way (or has failed)."""
    path = seal_path(settings)
    if path is not None:
        path.unlink(missing_ok=True)


def write_seal(
    settings: Settings,
    before: SealInputs,
    sources: dict[str, int],
    next_visible: datetime | None,
    files: tuple[Path, ...],
) -> None:
    """Record a successful run, after the store is closed (its file stamp is part of it)."""
    path = seal_path(settings)
    if path is None:
        return
    database = Path(str(path)[: -len(".feeds-seal.json")])
    seal = {
        "version": _VERSION,
        "inputs": before.inputs,
        "trees": before.trees,
        "next_visible": next_visible.isoformat() if next_visible else None,
        "sources": [[name, count] for name, count in sources.items()],
        "files": {str(f): _stat(f) for f in files},
        "store": _store_stamp(database),
    }
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_text(json.dumps(seal), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("feeds seal not written path=%s error=%s", path, exc)
