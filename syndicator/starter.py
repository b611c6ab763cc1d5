"""`syndicator init`: the commented starter config, shipped inside the package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from syndicator.errors import ConfigError

__all__ = ["starter_text", "write_starter"]


def starter_text() -> str:
    return files("syndicator").joinpath("starter.toml").read_text(encoding="utf-8")


def write_starter(target: Path) -> Path:
    """Write the starter config to ``target``; refuse to overwrite an existing file."""
    if target.exists():
        raise ConfigError("already exists; not overwriting it", file=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(starter_text(), encoding="utf-8")
    return target
