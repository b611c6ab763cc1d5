"""The SQLite fast path of bulk inserts and selects gives exactly SQLAlchemy's rows and values."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from syndicator.errors import StoreError
from syndicator.store import Store
from syndicator.store.bulk import insert_many, select_all, update_many
from syndicator.store.database import Database
from syndicator.store.schema import post_topics, posts, source_stamps, sources
from tests.store.samples import NOW, collect, make_post

KST = timezone(timedelta(hours=9))
ODD = timezone(timedelta(hours=-3, minutes=-30))


def _post_rows() -> list[dict[str, Any]]:
    moments = [
        datetime(2026, 1, 1, 9, 0, tzinfo=KST),
        datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2024, 2, 29, 0, 0, 0, 1, tzinfo=ODD),
        datetime(1999, 12, 31, 20, 30, tzinfo=KST),
    ]
    rows = []
    for n, when in enumerate(moments):
        rows.append(
            {
                "id": f"https://blog.example.com/{n}",
                "source": "blog",
                "origin": f"_posts/{n}.md",
                "url": f"https://blog.example.com/{n}.html",
                "title": f'제목 {n} "quoted" \\ ‘x’ \u2028',
                "published": when,
                "published_offset": 540,
                "updated": when + timedelta(microseconds=n),
                "updated_offset": -210,
                "body": "본문 " * (n * 1000 + 1),
                "body_format": "markdown",
                "excerpt": None if n % 2 else "요약",
                "authors": [["편집부", None, "https://e.example"], ["A", "a@b.c", None]],
                "categories": ["뉴스", "News"] if n % 2 else [],
                "tags": [["nested", 1], {"k": "값"}, None, 1.5, True],
                "image": None,
                "language": "ko",
                "content_hash": f"{n:064x}",
                "first_seen": NOW,
                "last_changed": NOW,
                "removed": None if n % 3 else NOW,
            }
        )
    return rows


def _dump(path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


@pytest.fixture
def two_databases(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    pair = []
    for name in ("fast", "reference"):
        database = Database.connect(f"sqlite:///{tmp_path / name}.db")
        database.migrate()
        pair.append(database)
    yield pair[0], pair[1]
    for database in pair:
        database.dispose()


@pytest.mark.parametrize(
    ("table", "rows"),
    [
        pytest.param(posts, _post_rows(), id="posts"),
        pytest.param(
            sources,
            [{"name": "blog", "state": {"skipped": {}, "n": None}, "first_collected": None}],
            id="sources-json-and-null-datetime",
        ),
    ],
)
def test_fast_insert_stores_what_sqlalchemy_stores(
    two_databases: tuple[Database, Database], table: sa.Table, rows: list[dict[str, Any]]
) -> None:
    fast, reference = two_databases
    with fast.write() as conn:
        insert_many(conn, table, rows)
    with reference.write() as conn:
        conn.execute(table.insert(), rows)
    fast_rows = _dump(Path(str(fast.engine.url.database)), table.name)
    assert fast_rows == _dump(Path(str(reference.engine.url.database)), table.name)
    assert len(fast_rows) == len(rows)


def test_fast_select_reads_what_sqlalchemy_reads(two_databases: tuple[Database, Database]) -> None:
    database, _ = two_databases
    with database.write() as conn:
        conn.execute(posts.insert(), _post_rows())
    queries = [
        sa.select(posts).order_by(posts.c.id),
        sa.select(posts.c.id, posts.c.published, posts.c.tags).where(posts.c.removed.is_(None)),
        sa.select(posts.c.id).where(posts.c.id.in_(["https://blog.example.com/1", "nope"])),
    ]
    with database.read() as conn:
        for query in queries:
            expected = [tuple(row) for row in conn.execute(query)]
            assert select_all(conn, query) == expected
            assert expected


def test_rows_the_fast_path_cannot_take_go_through_sqlalchemy(
    two_databases: tuple[Database, Database],
) -> None:
    database, _ = two_databases
    mixed = [{"source": "s", "origin": "a", "stamp": "1"}, {"source": "s", "origin": "b"}]
    with pytest.raises(StoreError), database.write() as conn:  # a missing value: SQLAlchemy says
        insert_many(conn, source_stamps, mixed)
    naive = [{**_post_rows()[0], "published": datetime(2026, 1, 1, 9, 0)}]
    with pytest.raises(StoreError, match="naive datetime"), database.write() as conn:
        insert_many(conn, posts, naive)
    with database.read() as conn:
        assert select_all(conn, sa.select(posts.c.id)) == []


def test_a_collection_stores_the_same_rows_on_either_path(tmp_path: Path) -> None:
    """record_collections (fast inserts) against the rows SQLAlchemy's own inserts write."""
    batch = [make_post(n, categories=("뉴스", "news"), tags=("llm", "llm")) for n in range(30)]
    fast_path, reference_path = tmp_path / "fast.db", tmp_path / "reference.db"
    with Store.open(f"sqlite:///{fast_path}") as store:
        store.record_collection(collect(batch), NOW)
    with Store.open(f"sqlite:///{reference_path}") as store:
        store.record_collection(collect(batch), NOW)
        with store._db.write() as conn:  # the same rows again, through SQLAlchemy
            tables = (posts, post_topics, source_stamps)
            rows = {t.name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for t in tables}
            for table in reversed(tables):
                conn.execute(table.delete())
            for table in tables:
                conn.execute(table.insert(), rows[table.name])
    for table in ("posts", "post_topics", "source_stamps", "sources"):
        assert _dump(fast_path, table) == _dump(reference_path, table)


def test_fast_update_stores_what_sqlalchemy_stores(
    two_databases: tuple[Database, Database],
) -> None:
    """update_many of the sender's statement for sent rows, against SQLAlchemy's executemany."""
    from syndicator.store.deliveries import _MARK_SENT
    from syndicator.store.schema import deliveries, editions

    sent_at = datetime(2026, 1, 21, 12, 0, 0, 123456, tzinfo=KST)
    rows = [
        {"_id": f"d{n}", "provider_id": None if n == 3 else f"pm-{n}", "sent_at": sent_at}
        for n in range(6)
        if n != 4  # d4 stays as it was
    ]
    for database in two_databases:
        with database.write() as conn:
            conn.execute(
                editions.insert(),
                [
                    {
                        "id": 1,
                        "newsletter": "w",
                        "number": 1,
                        "subject": "s",
                        "html": "",
                        "created": NOW,
                    }
                ],
            )
            conn.execute(
                deliveries.insert(),
                [
                    {
                        "id": f"d{n}",
                        "edition_id": 1,
                        "subscriber_id": n,
                        "email": f"r{n}@example.org",
                        "variant": "ko",
                        "status": "sent" if n == 5 else ("pending" if n % 2 else "sending"),
                        "attempts": n,
                        "worker": "w/1",
                        "error": "earlier",
                    }
                    for n in range(6)
                ],
            )
    fast, reference = two_databases
    with fast.write() as conn:
        update_many(conn, _MARK_SENT, rows)
    with reference.write() as conn:
        conn.execute(_MARK_SENT, rows)
    fast_rows = _dump(Path(str(fast.engine.url.database)), "deliveries")
    assert fast_rows == _dump(Path(str(reference.engine.url.database)), "deliveries")
    by_id = {row[0]: row for row in fast_rows}
    assert by_id["d0"][5] == "sent" and by_id["d4"][5] == "sending" and by_id["d5"][6] == 5
