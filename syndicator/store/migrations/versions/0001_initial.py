"""The initial schema: posts, sources, render cache, newsletters, subscribers, deliveries.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Zone-aware; syndicator.store.schema.UTCDateTime stores UTC in this column type.
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "editions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("newsletter", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("created", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_editions")),
        sa.UniqueConstraint("newsletter", "number", name=op.f("uq_editions_newsletter_number")),
    )
    op.create_table(
        "kv_state",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_kv_state")),
    )
    op.create_table(
        "newsletters",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("started", _TIME, nullable=False),
        sa.Column("last_run", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_newsletters")),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("published", _TIME, nullable=False),
        sa.Column("published_offset", sa.Integer(), nullable=False),
        sa.Column("updated", _TIME, nullable=False),
        sa.Column("updated_offset", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_format", sa.String(length=20), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("image", sa.String(), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("first_seen", _TIME, nullable=False),
        sa.Column("last_changed", _TIME, nullable=False),
        sa.Column("removed", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
    )
    op.create_index(op.f("ix_posts_published"), "posts", ["published"], unique=False)
    op.create_index(op.f("ix_posts_source"), "posts", ["source"], unique=False)
    op.create_table(
        "renders",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("content_html", sa.Text(), nullable=False),
        sa.Column("summary_html", sa.Text(), nullable=False),
        sa.Column("summary_text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_renders")),
    )
    op.create_table(
        "source_stamps",
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("stamp", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("source", "origin", name=op.f("pk_source_stamps")),
    )
    op.create_table(
        "sources",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("first_collected", _TIME, nullable=True),
        sa.Column("last_collected", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sources")),
    )
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created", _TIME, nullable=False),
        sa.Column("confirmed", _TIME, nullable=True),
        sa.Column("status_changed", _TIME, nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribers")),
        sa.UniqueConstraint("email_key", name=op.f("uq_subscribers_email_key")),
    )
    op.create_index(op.f("ix_subscribers_status"), "subscribers", ["status"], unique=False)
    op.create_table(
        "suppressions",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_suppressions")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("variant", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", _TIME, nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", _TIME, nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_deliveries_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "edition_id", "subscriber_id", name=op.f("uq_deliveries_edition_id_subscriber_id")
        ),
    )
    op.create_index(
        "ix_deliveries_pending",
        "deliveries",
        ["edition_id", "subscriber_id"],
        unique=False,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_deliveries_sending",
        "deliveries",
        ["claimed_at"],
        unique=False,
        sqlite_where=sa.text("status = 'sending'"),
        postgresql_where=sa.text("status = 'sending'"),
    )
    op.create_index(op.f("ix_deliveries_provider_id"), "deliveries", ["provider_id"], unique=False)
    op.create_index(
        op.f("ix_deliveries_subscriber_id"), "deliveries", ["subscriber_id"], unique=False
    )
    op.create_table(
        "edition_posts",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_edition_posts_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("edition_id", "post_id", name=op.f("pk_edition_posts")),
    )
    op.create_index(op.f("ix_edition_posts_post_id"), "edition_posts", ["post_id"], unique=False)
    op.create_table(
        "post_topics",
        sa.Column("post_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("topic", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_topics_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", "kind", "topic", name=op.f("pk_post_topics")),
    )
    op.create_index(op.f("ix_post_topics_topic"), "post_topics", ["topic"], unique=False)
    op.create_table(
        "subscriptions",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("newsletter", sa.String(length=200), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("frequency", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_subscriptions_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", "newsletter", name=op.f("pk_subscriptions")),
    )
    op.create_index(
        op.f("ix_subscriptions_newsletter"), "subscriptions", ["newsletter"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_subscriptions_newsletter"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index(op.f("ix_post_topics_topic"), table_name="post_topics")
    op.drop_table("post_topics")
    op.drop_index(op.f("ix_edition_posts_post_id"), table_name="edition_posts")
    op.drop_table("edition_posts")
    op.drop_index(op.f("ix_deliveries_subscriber_id"), table_name="deliveries")
    op.drop_index(op.f("ix_deliveries_provider_id"), table_name="deliveries")
    op.drop_index("ix_deliveries_sending", table_name="deliveries")
    op.drop_index("ix_deliveries_pending", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("suppressions")
    op.drop_index(op.f("ix_subscribers_status"), table_name="subscribers")
    op.drop_table("subscribers")
    op.drop_table("sources")
    op.drop_table("source_stamps")
    op.drop_table("renders")
    op.drop_index(op.f("ix_posts_source"), table_name="posts")
    op.drop_index(op.f("ix_posts_published"), table_name="posts")
    op.drop_table("posts")
    op.drop_table("newsletters")
    op.drop_table("kv_state")
    op.drop_table("editions")
