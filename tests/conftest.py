"""Shared fixtures: repository root, fixed clock, golden files, and a store on each engine
(SQLite always; PostgreSQL when SYNDICATOR_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from syndicator.store import Store
from syndicator.store.schema import metadata

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


POSTGRES_URL = os.environ.get("SYNDICATOR_TEST_POSTGRES_URL", "")

ENGINES = [pytest.param("sqlite", id="sqlite")]
if POSTGRES_URL:
    ENGINES.append(pytest.param("postgresql", id="postgresql"))


def _postgres_schema_url(schema: str) -> str:
    """The test database URL with every connection confined to one schema."""
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def _fresh_schema() -> Iterator[str]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield _postgres_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    """One migrated schema for the session; tests empty its tables afterwards."""
    with _fresh_schema() as url:
        Store.open(url).close()
        yield url


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty, migrated-on-open database of each engine, isolated per test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'syndicator.db'}"
        return
    url: str = request.getfixturevalue("postgres_session_url")
    yield url
    engine = sa.create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=ENGINES)
def fresh_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a database nothing has touched: PostgreSQL gets a new, empty schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new' / 'folder' / 'syndicator.db'}"
        return
    with _fresh_schema() as url:
        yield url


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[[], Store]]:
    """Opens more stores on the same database (another 'process' in one test); closes them."""
    opened: list[Store] = []

    def _open() -> Store:
        opened.append(Store.open(store_url))
        return opened[-1]

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], Store]) -> Store:
    return open_store()
