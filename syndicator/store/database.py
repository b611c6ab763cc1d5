"""The engine behind the store: connecting, migrating, transactions, upserts and named locks."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from syndicator.errors import StoreError
from syndicator.store.schema import VERSION_TABLE, declare_postgresql_options, metadata

__all__ = ["Conflict", "Database"]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration; tests/store/test_open.py checks it is Alembic's head. Opening a store
# that is already there skips importing Alembic (a quarter second on every command).
HEAD_REVISION = "0004_live_posts"
# Page size of a new SQLite file (an existing one keeps its own). Posts are 4-30 KB: with 4 KB
# pages each spans several overflow pages and every page is one WAL frame and one write; a
# first collection of 2,000 posts (36 MB) took ≈ 0.3 s of CPU to store, ≈ 0.15 s with 16 KB.
SQLITE_PAGE_SIZE = 16384
_HINT = "check [database] url in the config or SYNDICATOR_DATABASE_URL"


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit key for a lock name, as pg_advisory_lock wants."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is off; the "begin" hook below starts transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")  # takes only before WAL, when new
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Writers take the write lock up front (BEGIN IMMEDIATE): a deferred transaction that
    # upgrades to writing fails at once with SQLITE_BUSY instead of waiting its turn.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def _portable_file_lock(path: Path, *, wait: bool) -> Iterator[bool]:
    import filelock

    file_lock = filelock.FileLock(path, timeout=-1 if wait else 0)
    try:
        file_lock.acquire()
    except filelock.Timeout:
        yield False
        return
    try:
        yield True
    finally:
        file_lock.release()


def _version_table() -> sa.Table:
    """Alembic's version table, as Alembic creates it (its own MetaData: not part of ours)."""
    return sa.Table(
        VERSION_TABLE,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
    )


class Conflict(StoreError):
    """A write broke a unique constraint: usually another process did the same thing first."""


class Database:
    """One engine plus the dialect-specific parts: SQLite pragmas and locks, PostgreSQL locks."""

    def __init__(self, engine: Engine, lock_dir: Path, lock_prefix: str) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._lock_dir = lock_dir
        self._lock_prefix = lock_prefix

    @classmethod
    def connect(cls, url: str) -> Database:
        """Create the engine (and the SQLite file's folder); no queries yet."""
        try:
            parsed = make_url(url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"{url!r} is not a database URL; {_HINT}") from exc
        safe = parsed.render_as_string(hide_password=True)
        try:
            if parsed.get_backend_name() == "sqlite":
                return cls._connect_sqlite(parsed)
            if parsed.get_backend_name() != "postgresql":
                raise StoreError(
                    f"{safe}: unsupported database; use sqlite:///PATH or "
                    f"postgresql+psycopg://USER@HOST/DB ({_HINT})"
                )
            engine = sa.create_engine(parsed, pool_pre_ping=True)
            declare_postgresql_options()
        except (ImportError, sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
            raise StoreError(f"{safe}: cannot use this database URL: {exc}; {_HINT}") from exc
        return cls(engine, Path(tempfile.gettempdir()), "")

    @classmethod
    def _connect_sqlite(cls, url: URL) -> Database:
        path = url.database
        if not path or path == ":memory:":
            # One shared connection, so every caller sees the same in-memory database.
            engine = sa.create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
            lock_dir, prefix = Path(tempfile.gettempdir()), f"syndicator-{os.urandom(16).hex()}"
        else:
            file = Path(path).expanduser()
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder for {file}: {exc}; {_HINT}") from exc
            engine = sa.create_engine(url, connect_args={"timeout": 30})
            lock_dir, prefix = file.parent, file.name
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return cls(engine, lock_dir, prefix)

    def at_head(self) -> bool:
        """True when the database already has the newest schema."""
        try:
            with self.engine.connect() as connection:
                found = connection.execute(
                    sa.text(f"SELECT version_num FROM {VERSION_TABLE}")  # our constant name
                ).scalars()
                return list(found) == [HEAD_REVISION]
        except sa.exc.SQLAlchemyError:
            return False  # no version table yet: a new database

    def migrate(self, *, from_scratch: bool = True) -> None:
        """Bring the schema to the newest revision; concurrent openers wait for each other.

        A new, empty SQLite database gets the newest schema straight from ``schema.py`` and is
        stamped at head (Alembic's "building an up to date database from scratch" recipe):
        importing Alembic and replaying every migration costs a first run ≈ 0.2 s.
        ``tests/store/test_fresh_schema.py`` checks it equals what the migrations build;
        ``from_scratch=False`` always runs them.
        """
        if self.at_head():
            return
        with self.lock("migrate") as _:
            if self.at_head():  # another process did it while we waited for the lock
                return
            with self.engine.connect() as connection:
                if self.is_sqlite and from_scratch:
                    tables = connection.exec_driver_sql("SELECT count(*) FROM sqlite_master")
                    if tables.scalar() == 0:
                        version = _version_table()
                        metadata.create_all(connection)
                        version.create(connection)
                        connection.execute(version.insert(), {"version_num": HEAD_REVISION})
                        connection.commit()
                        return
                self._upgrade(connection)

    @staticmethod
    def _upgrade(connection: Connection) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["version_table"] = VERSION_TABLE
        config.attributes["connection"] = connection
        if connection.dialect.name != "sqlite":
            # Serialize migrations across processes for the rest of this transaction.
            connection.execute(
                sa.select(sa.func.pg_advisory_xact_lock(_advisory_key("syndicator:migrate")))
            )
        command.upgrade(config, "head")
        connection.commit()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.select(1))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def check_connection(self) -> None:
        """Raise a StoreError with a hint when the database does not answer."""
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.select(1))
        except sa.exc.SQLAlchemyError as exc:
            safe = self.engine.url.render_as_string(hide_password=True)
            raise StoreError(
                f"cannot reach the database {safe}: {getattr(exc, 'orig', None) or exc}; {_HINT}"
            ) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction; library errors become StoreError."""
        try:
            with self.engine.connect() as connection:
                yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"database read failed: {exc}") from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed on success; SQLite takes its write lock first."""
        try:
            with self.engine.connect() as connection:
                if self.is_sqlite:
                    connection.execution_options(sqlite_begin="IMMEDIATE")
                with connection.begin():
                    yield connection
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"conflicting write: {exc.orig or exc}") from exc
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"database write failed: {exc}") from exc

    def upsert(
        self,
        connection: Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        update: Sequence[str] | None = None,
    ) -> None:
        """Insert rows, replacing columns ``update`` (default: all non-key) on key conflict."""
        if not rows:
            return
        keys = [c.name for c in table.primary_key.columns]
        # dialect modules load on first use (postgresql's pulls in asyncpg's module)
        if self.is_sqlite:
            from sqlalchemy.dialects import sqlite as dialect
        else:
            from sqlalchemy.dialects import postgresql as dialect  # type: ignore[no-redef]
        statement: Any = dialect.insert(table)
        columns = update if update is not None else [c for c in rows[0] if c not in keys]
        if columns:
            statement = statement.on_conflict_do_update(
                index_elements=keys, set_={c: statement.excluded[c] for c in columns}
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=keys)
        connection.execute(statement, list(rows))

    @contextmanager
    def lock(self, name: str, *, wait: bool = True) -> Iterator[bool]:
        """A named cross-process lock; yields False at once when held elsewhere and not waiting."""
        if self.is_sqlite:
            with self._file_lock(name, wait=wait) as held:
                yield held
        else:
            with self._advisory_lock(name, wait=wait) as held:
                yield held

    @contextmanager
    def _file_lock(self, name: str, *, wait: bool) -> Iterator[bool]:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40]
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
        path = self._lock_dir / f"{self._lock_prefix}.{slug}-{digest}.lock"
        try:
            import fcntl
        except ImportError:  # not POSIX
            with _portable_file_lock(path, wait=wait) as held:
                yield held
            return
        # flock, as filelock does on POSIX (so both exclude each other), but blocking in the
        # kernel instead of polling, and without filelock's import (10-25 ms a process).
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.debug("lock busy name=%s", name)
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextmanager
    def _advisory_lock(self, name: str, *, wait: bool) -> Iterator[bool]:
        key = _advisory_key(name)
        # A dedicated connection in autocommit: the session-level lock lives as long as it does.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if wait:
                connection.execute(sa.select(sa.func.pg_advisory_lock(key)))
            elif not connection.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar():
                log.debug("lock busy name=%s", name)
                yield False
                return
            try:
                yield True
            finally:
                connection.execute(sa.select(sa.func.pg_advisory_unlock(key)))

    def dispose(self) -> None:
        self.engine.dispose()
