"""Shared fixtures: the repository root, a fixed clock, and golden-file comparison."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UPDATE_GOLDEN = os.environ.get("SYNDICATOR_UPDATE_GOLDEN") == "1"


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def fixed_now() -> datetime:
    """A fixed 'now' after every example post and before the future one."""
    return datetime(2026, 1, 20, 3, 0, tzinfo=UTC)


def check_golden(path: Path, actual: str) -> None:
    """Compare ``actual`` with the golden file; SYNDICATOR_UPDATE_GOLDEN=1 rewrites it."""
    if UPDATE_GOLDEN or not path.exists():
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {path} is missing; run with SYNDICATOR_UPDATE_GOLDEN=1")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"differs from golden {path} (SYNDICATOR_UPDATE_GOLDEN=1 rewrites)"
