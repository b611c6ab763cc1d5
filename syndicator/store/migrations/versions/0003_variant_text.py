"""Delivery variants become text: a reader's catch-up parts (frequency) can make them long.

Revision ID: 0003_variant_text
Revises: 0002_webhooks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_variant_text"
down_revision = "0002_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column(
            "variant", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column(
            "variant", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=False
        )
