"""Webhook bookkeeping: events already applied, and soft bounce counts per subscriber.

Revision ID: 0002_webhooks
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_webhooks"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("received", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id", name=op.f("pk_webhook_events")),
    )
    op.create_index(
        op.f("ix_webhook_events_received"), "webhook_events", ["received"], unique=False
    )
    op.create_table(
        "soft_bounces",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_soft_bounces_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", name=op.f("pk_soft_bounces")),
    )


def downgrade() -> None:
    op.drop_table("soft_bounces")
    op.drop_index(op.f("ix_webhook_events_received"), table_name="webhook_events")
    op.drop_table("webhook_events")
