"""Alembic environment: run with the connection Store.open passes in; no alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from syndicator.store.schema import VERSION_TABLE, metadata

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("syndicator migrations run through Store.open(url), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    # SQLite runs DDL in transactions too (the driver's own transaction handling is off)
    transactional_ddl=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
