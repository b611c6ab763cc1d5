"""The engine behind the store: connecting, migrating, transactions, upserts and named locks."""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import filelock
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from syndicator.errors import StoreError
from syndicator.store.schema import VERSION_TABLE

__all__ = ["Conflict", "Database"]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration; tests/store/test_open.py checks it is Alembic's head. Opening a store
# that is already there skips importing Alembic (a quarter second on every command).
HEAD_REVISION = "0004_live_posts"
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
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Writers take the write lock up front (BEGIN IMMEDIATE): a deferred transaction that
    # upgrades to writing fails at once with SQLITE_BUSY instead of waiting its turn.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


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
            lock_dir, prefix = Path(tempfile.gettempdir()), f"syndicator-{uuid.uuid4().hex}"
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

    def migrate(self) -> None:
        """Bring the schema to the newest revision; concurrent openers wait for each other."""
        if self.at_head():
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["version_table"] = VERSION_TABLE
        with self.lock("migrate") as _, self.engine.connect() as connection:
            config.attributes["connection"] = connection
            if not self.is_sqlite:
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
        file_lock = filelock.FileLock(path, timeout=-1 if wait else 0)
        try:
            file_lock.acquire()
        except filelock.Timeout:
            log.debug("lock busy name=%s", name)
            yield False
            return
        try:
            yield True
        finally:
            file_lock.release()

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
