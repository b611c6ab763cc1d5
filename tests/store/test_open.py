"""Opening the store: folders, migrations, bad URLs, health, locks across processes."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from syndicator.errors import StoreError
from syndicator.store import Store
from syndicator.store.schema import VERSION_TABLE, metadata
from tests.store import workers

SPAWN = multiprocessing.get_context("spawn")


def test_open_migrates_to_exactly_the_schema(fresh_store_url: str) -> None:
    with Store.open(fresh_store_url) as store:
        assert store.ping()
        engine = sa.create_engine(fresh_store_url)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            assert compare_metadata(context, metadata) == []
        engine.dispose()
    with Store.open(fresh_store_url) as again:  # second open: already at head
        assert again.post_count() == 0


def test_sqlite_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "state" / "deeper" / "syndicator.db"
    with Store.open(f"sqlite:///{path}") as store:
        assert store.dialect == "sqlite"
    assert path.exists()


def test_two_processes_open_a_new_database_at_once(fresh_store_url: str) -> None:
    with ProcessPoolExecutor(3, mp_context=SPAWN) as pool:
        counts = list(pool.map(workers.open_and_count, [fresh_store_url] * 3, timeout=60))
    assert counts == [0, 0, 0]


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        pytest.param("not a url", "is not a database URL", id="garbage"),
        pytest.param("mysql://u@localhost/db", "unsupported database", id="other-engine"),
        pytest.param(
            "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "cannot reach the database",
            id="unreachable",
        ),
    ],
)
def test_bad_url_is_a_store_error_with_a_hint(url: str, hint: str) -> None:
    with pytest.raises(StoreError, match=hint) as caught:
        Store.open(url)
    assert "SYNDICATOR_DATABASE_URL" in str(caught.value)


def test_password_is_not_in_the_error() -> None:
    with pytest.raises(StoreError) as caught:
        Store.open("postgresql+psycopg://user:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(caught.value)


def test_datetimes_round_trip_zone_aware(store: Store) -> None:
    seoul = datetime(2026, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    sub = store.add_subscriber("t@example.com", now=seoul)
    got = store.get_subscriber(sub.id)
    assert got is not None
    assert got.created == seoul and got.created.tzinfo == UTC
    state = store.newsletter_state("weekly", seoul)
    assert state.started.tzinfo == UTC and state.started == seoul
    with pytest.raises(StoreError):
        store.mark_run("weekly", datetime(2026, 3, 1, 9, 0))  # naive: refused


def test_lock_excludes_in_process(store: Store) -> None:
    with store.lock("run") as held:
        assert held
        with store.lock("run", wait=False) as second:
            assert second is False
        with store.lock("other", wait=False) as other:
            assert other is True
    with store.lock("run", wait=False) as after:
        assert after is True


def test_lock_excludes_another_process(store: Store, store_url: str) -> None:
    with store.lock("run") as held:
        assert held
        with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
            assert pool.submit(workers.try_lock, store_url, "run").result(timeout=60) is False
    with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
        assert pool.submit(workers.try_lock, store_url, "run").result(timeout=60) is True


def test_waiting_lock_waits_for_the_holder(store: Store, store_url: str, tmp_path: Path) -> None:
    marker = tmp_path / "held"
    with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
        future = pool.submit(workers.hold_lock, store_url, "run", 0.5, str(marker))
        while not marker.exists():
            time.sleep(0.01)
        with store.lock("run") as held:
            got_it = time.monotonic()
            assert held
        future.result(timeout=60)
    # we only got the lock once the other process let go (its 0.5 s hold had passed)
    assert got_it - future.result() >= 0.45


def test_head_revision_constant_is_alembics_head() -> None:
    """The fast path that skips Alembic on an up-to-date store trusts this constant."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from syndicator.store.database import HEAD_REVISION, MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]
