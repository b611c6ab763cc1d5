"""The whole database schema as SQLAlchemy Core tables; migrations must produce exactly this."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = [
    "UTCDateTime",
    "declare_postgresql_options",
    "deliveries",
    "edition_posts",
    "editions",
    "kv_state",
    "metadata",
    "newsletters",
    "post_topics",
    "posts",
    "renders",
    "soft_bounces",
    "source_stamps",
    "sources",
    "subscribers",
    "subscriptions",
    "suppressions",
    "webhook_events",
]

VERSION_TABLE = "syndicator_alembic_version"


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Zone-aware datetimes, stored in UTC; SQLite keeps sortable naive UTC text."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; give it a zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- posts and their sources ----------------------------------------------------------------

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("first_collected", UTCDateTime, nullable=True),
    sa.Column("last_collected", UTCDateTime, nullable=True),
)

posts = sa.Table(
    "posts",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("source", sa.String(200), nullable=False, index=True),
    sa.Column("origin", sa.String, nullable=False),
    sa.Column("url", sa.String, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    # UTC for ordering, plus the source's UTC offset so the post reads back as it was written
    sa.Column("published", UTCDateTime, nullable=False, index=True),
    sa.Column("published_offset", sa.Integer, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.Column("updated_offset", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("body_format", sa.String(20), nullable=False),
    sa.Column("excerpt", sa.Text, nullable=True),
    sa.Column("authors", sa.JSON, nullable=False),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("image", sa.String, nullable=True),
    sa.Column("language", sa.String(35), nullable=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_changed", UTCDateTime, nullable=False),
    sa.Column("removed", UTCDateTime, nullable=True),
    # A covering index: the columns after `body` sit behind its overflow pages in SQLite, so
    # a scan of a source's live posts would read every body; this answers it from the index.
    sa.Index("ix_posts_live_by_source", "source", "removed", "origin", "id"),
)

post_topics = sa.Table(
    "post_topics",
    metadata,
    sa.Column(
        "post_id", sa.String, sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("kind", sa.String(10), primary_key=True),  # "category" | "tag"
    sa.Column("topic", sa.String, primary_key=True),
    sa.Index(None, "topic"),
)

source_stamps = sa.Table(
    "source_stamps",
    metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("origin", sa.String, primary_key=True),
    sa.Column("stamp", sa.String, nullable=False),
)

renders = sa.Table(
    "renders",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("content_html", sa.Text, nullable=False),
    sa.Column("summary_html", sa.Text, nullable=False),
    sa.Column("summary_text", sa.Text, nullable=False),
)

kv_state = sa.Table(
    "kv_state",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# --- newsletters and editions --------------------------------------------------------------

newsletters = sa.Table(
    "newsletters",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("started", UTCDateTime, nullable=False),
    sa.Column("last_run", UTCDateTime, nullable=True),
)

editions = sa.Table(
    "editions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("newsletter", sa.String(200), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.UniqueConstraint("newsletter", "number"),
)

edition_posts = sa.Table(
    "edition_posts",
    metadata,
    sa.Column(
        "edition_id",
        sa.Integer,
        sa.ForeignKey("editions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("post_id", sa.String, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Index(None, "post_id"),
)

# --- subscribers ---------------------------------------------------------------------------

subscribers = sa.Table(
    "subscribers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("email_key", sa.String(320), nullable=False, unique=True),  # lower-cased
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("created", UTCDateTime, nullable=False),
    sa.Column("confirmed", UTCDateTime, nullable=True),
    sa.Column("status_changed", UTCDateTime, nullable=False),
    sa.Column("language", sa.String(35), nullable=True),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column(
        "subscriber_id",
        sa.Integer,
        sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("newsletter", sa.String(200), primary_key=True),
    sa.Column("topics", sa.JSON, nullable=False),
    sa.Column("frequency", sa.String(20), nullable=False),
    sa.Index(None, "newsletter"),
)

suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),  # lower-cased
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("created", UTCDateTime, nullable=False),
)

# --- deliveries ------------------------------------------------------------------------------

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "edition_id",
        sa.Integer,
        sa.ForeignKey("editions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("subscriber_id", sa.Integer, nullable=False),  # survives the subscriber's removal
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("variant", sa.Text, nullable=False),  # see editions.variant_key
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("not_before", UTCDateTime, nullable=True),
    sa.Column("worker", sa.String(200), nullable=True),
    sa.Column("claimed_at", UTCDateTime, nullable=True),
    sa.Column("provider_id", sa.String(200), nullable=True, index=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("edition_id", "subscriber_id"),
    # Partial indexes hold only the rows a claim or a stale-row sweep looks for, so neither
    # scans past the (many) rows already settled. Claim order: edition, then subscriber.
    # (PostgreSQL's WHERE: see _PARTIAL_WHERE.)
    sa.Index(
        "ix_deliveries_pending",
        "edition_id",
        "subscriber_id",
        sqlite_where=sa.text("status = 'pending'"),
    ),
    sa.Index("ix_deliveries_sending", "claimed_at", sqlite_where=sa.text("status = 'sending'")),
    sa.Index(None, "subscriber_id"),
)

# The partial indexes' WHERE for PostgreSQL, as migration 0001 creates them. Declared in the
# Index above, `postgresql_where` would load SQLAlchemy's PostgreSQL dialect package (all its
# drivers' modules: ≈ 75 ms) in every process, SQLite ones included; it is attached when a
# PostgreSQL database is connected instead (Database.connect), where that dialect loads anyway.
_PARTIAL_WHERE = {
    "ix_deliveries_pending": "status = 'pending'",
    "ix_deliveries_sending": "status = 'sending'",
}


def declare_postgresql_options() -> None:
    """Give the partial indexes their PostgreSQL WHERE (idempotent; loads that dialect)."""
    for index in deliveries.indexes:
        where = _PARTIAL_WHERE.get(str(index.name))
        options = index.dialect_options["postgresql"]
        if where is not None and options["where"] is None:
            options["where"] = sa.text(where)


# --- mail provider webhooks ----------------------------------------------------------------

webhook_events = sa.Table(
    "webhook_events",
    metadata,
    # provider events already applied, so a redelivered event changes nothing
    sa.Column("provider", sa.String(20), primary_key=True),
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("received", UTCDateTime, nullable=False, index=True),
)

soft_bounces = sa.Table(
    "soft_bounces",
    metadata,
    # consecutive soft bounces; the row goes with the subscriber
    sa.Column(
        "subscriber_id",
        sa.Integer,
        sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("last", UTCDateTime, nullable=False),
)
