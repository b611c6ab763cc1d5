"""A new SQLite store is created from schema.py, not by replaying migrations: same schema.

Also: the PostgreSQL-only index options load that dialect only when PostgreSQL is used.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from syndicator.store import Store
from syndicator.store.database import HEAD_REVISION, SQLITE_PAGE_SIZE, Database
from syndicator.store.schema import VERSION_TABLE, declare_postgresql_options, deliveries, metadata


def _parts(sql: str) -> tuple[str, list[str], list[str], str]:
    """A CREATE statement as (head, column definitions in order, constraints sorted, tail)."""
    head, _, body = sql.partition("(")
    parts, depth, start, tail = [], 0, 0, ""
    for i, char in enumerate(body):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if (char == "," and depth == 0) or depth < 0:
            parts.append(body[start:i].strip())
            start = i + 1
        if depth < 0:
            tail = body[i + 1 :].strip()  # an index's WHERE
            break
    columns = [part for part in parts if not part.startswith("CONSTRAINT")]
    constraints = sorted(part for part in parts if part.startswith("CONSTRAINT"))
    return head, columns, constraints, tail


def _sqlite_schema(path: Path) -> dict[str, tuple[str, list[str], list[str], str]]:
    """name -> CREATE statement of every table and index, in parts; quoting, spacing and the
    order of table constraints ignored."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    # Alembic's batch mode (migration 0003) rebuilds one table: it quotes the table's name and
    # writes its constraints in no fixed order.
    return {name: _parts(" ".join(re.sub(r'"(\w+)"', r"\1", sql).split())) for name, sql in rows}


def _version(path: Path) -> list[tuple[str]]:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()


def test_new_sqlite_store_equals_the_migrated_one(tmp_path: Path) -> None:
    fresh, migrated = tmp_path / "fresh.db", tmp_path / "migrated.db"
    Store.open(f"sqlite:///{fresh}").close()
    database = Database.connect(f"sqlite:///{migrated}")
    database.migrate(from_scratch=False)  # every Alembic migration, as before
    database.dispose()
    assert _sqlite_schema(fresh) == _sqlite_schema(migrated)
    assert _version(fresh) == _version(migrated) == [(HEAD_REVISION,)]
    assert len(_sqlite_schema(fresh)) > len(metadata.tables)  # tables and their indexes


def test_migrated_sqlite_store_matches_the_metadata(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    database = Database.connect(url)
    database.migrate(from_scratch=False)
    database.dispose()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_a_store_with_tables_is_migrated_not_recreated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # not empty, not ours: Alembic's upgrade runs as before
        db.execute("CREATE TABLE keep_me (x INTEGER)")
    Store.open(f"sqlite:///{path}").close()
    schema = _sqlite_schema(path)
    assert "keep_me" in schema and "posts" in schema
    assert _version(path) == [(HEAD_REVISION,)]


def test_sqlite_processes_do_not_load_the_postgresql_dialect(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    code = (
        "import sys\n"
        "from syndicator.store import Store\n"
        f"Store.open({url!r}).close()\n"
        "print('sqlalchemy.dialects.postgresql' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_postgresql_partial_indexes_keep_their_where() -> None:
    declare_postgresql_options()
    declare_postgresql_options()  # idempotent
    ddl = {
        str(index.name): str(CreateIndex(index).compile(dialect=postgresql.dialect()))
        for index in deliveries.indexes
    }
    assert ddl["ix_deliveries_pending"].endswith("WHERE status = 'pending'")
    assert ddl["ix_deliveries_sending"].endswith("WHERE status = 'sending'")


def test_new_sqlite_files_get_large_pages_old_ones_keep_theirs(tmp_path: Path) -> None:
    new, old = tmp_path / "new.db", tmp_path / "old.db"
    with sqlite3.connect(old) as db:
        db.execute("CREATE TABLE keep_me (x INTEGER)")  # made with SQLite's default page size
    for path in (new, old):
        Store.open(f"sqlite:///{path}").close()
    with sqlite3.connect(new) as db:
        assert db.execute("PRAGMA page_size").fetchone() == (SQLITE_PAGE_SIZE,)
    with sqlite3.connect(old) as db:
        assert db.execute("PRAGMA page_size").fetchone() == (4096,)
