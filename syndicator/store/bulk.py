"""Many rows in and out of SQLite without SQLAlchemy's per-row work: a collection's hot path.

A first collection writes ~2,000 posts, ~12,000 topic rows and ~2,000 stamps; every feeds run
reads every post's head and stamp. SQLAlchemy stays the authority: statements are compiled
from the schema's tables, and values are converted as its bind and result processors convert
them for SQLite (``UTCDateTime`` as naive UTC text, JSON as ``json.dumps`` text);
``tests/store/test_bulk.py`` checks both paths give the same rows. Only the per-row machinery
is skipped. On PostgreSQL, and for any column type not converted here, the plain SQLAlchemy
statement runs.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syndicator.store.schema import UTCDateTime

__all__ = ["CHUNK", "chunks", "insert_many", "select_all", "update_many", "utc_from_text"]

CHUNK = 500  # ids per IN (...) list: well under every driver's parameter limit
_T = TypeVar("_T")
_Convert = Callable[[Any], Any]


def chunks(items: Sequence[_T], size: int = CHUNK) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _NotConvertible(Exception):
    """A value the fast path does not convert exactly as SQLAlchemy would (naive datetime)."""


def _utc_text(value: datetime | None) -> str | None:
    """UTCDateTime's bind value on SQLite: SQLAlchemy's DATETIME storage format, in UTC."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise _NotConvertible  # SQLAlchemy's path raises the store's usual error for it
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


def utc_from_text(value: str | None) -> datetime | None:
    """The inverse, as UTCDateTime reads it back: a zone-aware UTC datetime."""
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _json_text(value: Any) -> str:
    return json.dumps(value)  # SQLAlchemy's JSON: default serializer; None is JSON null


def _converter(column: sa.Column[Any]) -> _Convert | None:
    """How the fast path converts this column's values; None: as they are (str, int)."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return _utc_text
    if isinstance(kind, sa.JSON):
        return _json_text
    if type(kind) in (sa.String, sa.Text, sa.Integer):  # no bind processor on SQLite
        return None
    raise _NotConvertible


@lru_cache(maxsize=64)
def _insert_plan(
    table: sa.Table, keys: tuple[str, ...], dialect: sa.Dialect
) -> tuple[str, tuple[str, ...], tuple[tuple[int, _Convert], ...]]:
    """(SQL, the keys in parameter order, (position, converter) of the values to convert);
    raises _NotConvertible for a column type the fast path does not know."""
    compiled = table.insert().compile(dialect=dialect, column_keys=list(keys))
    order = tuple(compiled.positiontup or ())
    if len(order) < 2 or sorted(order) != sorted(keys):  # itemgetter gives a tuple from 2
        raise _NotConvertible
    converters = [(i, _converter(table.c[key])) for i, key in enumerate(order)]
    return str(compiled), order, tuple((i, f) for i, f in converters if f is not None)


def insert_many(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """``conn.execute(table.insert(), rows)``, as one driver executemany on SQLite."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        keys = tuple(rows[0])
        try:
            sql, order, convert = _insert_plan(table, keys, conn.dialect)
            get = operator.itemgetter(*order)
            values: list[tuple[Any, ...]] = []
            for row in rows:
                if len(row) != len(keys):
                    raise _NotConvertible
                params = get(row)
                if convert:
                    changed = list(params)
                    for index, function in convert:
                        changed[index] = function(changed[index])
                    params = tuple(changed)
                values.append(params)
        except (_NotConvertible, KeyError):
            pass  # other keys or values than the first row's: SQLAlchemy checks and reports
        else:
            conn.exec_driver_sql(sql, values)
            return
    conn.execute(table.insert(), rows)


def _reader(kind: sa.types.TypeEngine[Any]) -> _Convert | None:
    """How the fast path reads a selected column's values; None: as the driver gives them."""
    if isinstance(kind, UTCDateTime):
        return utc_from_text
    if isinstance(kind, sa.JSON):
        return _json_value
    if type(kind) in (sa.String, sa.Text, sa.Integer):
        return None
    raise _NotConvertible


def _json_value(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def select_all(conn: Connection, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """``conn.execute(query).all()`` as plain tuples; on SQLite straight from the driver."""
    if conn.dialect.name == "sqlite":
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        try:
            readers = [(i, _reader(c.type)) for i, c in enumerate(query.selected_columns)]
            for bind in compiled.binds.values():
                if _reader(bind.type) is not None:
                    raise _NotConvertible  # a bound value SQLAlchemy would convert
        except _NotConvertible:
            pass
        else:
            params = tuple(compiled.params[key] for key in compiled.positiontup or ())
            convert = [(i, f) for i, f in readers if f is not None]
            rows = conn.exec_driver_sql(str(compiled), params).all()
            if not convert:
                return [tuple(row) for row in rows]
            result = []
            for row in rows:
                values = list(row)
                for index, function in convert:
                    values[index] = function(values[index])
                result.append(tuple(values))
            return result
    return [tuple(row) for row in conn.execute(query)]


def _bind_converter(kind: sa.types.TypeEngine[Any]) -> _Convert | None:
    """How the fast path converts a bound value of this type; None: as it is."""
    if isinstance(kind, UTCDateTime):
        return _utc_text
    if type(kind) in (sa.String, sa.Text, sa.Integer, sa.types.NullType):
        return None
    raise _NotConvertible


@lru_cache(maxsize=16)
def _statement_plan(
    statement: sa.Update, dialect: sa.Dialect
) -> tuple[str, tuple[str, ...], dict[str, Any], dict[str, _Convert]]:
    """(SQL, bound names in parameter order, their fixed values, converters by name)."""
    compiled = statement.compile(dialect=dialect)
    order = tuple(compiled.positiontup or ())
    converters: dict[str, _Convert] = {}
    for name in order:
        function = _bind_converter(compiled.binds[name].type)
        if function is not None:
            converters[name] = function
    return str(compiled), order, dict(compiled.params), converters


def update_many(conn: Connection, statement: sa.Update, rows: Sequence[Mapping[str, Any]]) -> None:
    """``conn.execute(statement, rows)``, as one driver executemany on SQLite.

    Every row gives the statement's per-row bind parameters (the same keys in every row);
    the statement's own values are bound as SQLAlchemy binds them.
    """
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        try:
            sql, order, fixed, converters = _statement_plan(statement, conn.dialect)
            keys = set(rows[0])
            if not keys <= set(order):
                raise _NotConvertible
            # Values the same for every row are converted once.
            base = [fixed[name] for name in order]
            for index, name in enumerate(order):
                if name in converters and name not in keys:
                    base[index] = converters[name](base[index])
            slots = [(name, order.index(name), converters.get(name)) for name in keys]
            values: list[tuple[Any, ...]] = []
            for row in rows:
                params = base.copy()
                for name, index, convert in slots:
                    value = row[name]
                    params[index] = convert(value) if convert is not None else value
                values.append(tuple(params))
        except (_NotConvertible, KeyError):
            pass  # SQLAlchemy checks and reports what the fast path does not take
        else:
            conn.exec_driver_sql(sql, values)
            return
    conn.execute(statement, rows)
