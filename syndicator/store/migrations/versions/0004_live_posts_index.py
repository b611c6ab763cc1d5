"""A covering index for the scan of a source's live posts (marking removed posts).

Revision ID: 0004_live_posts
Revises: 0003_variant_text
"""

from __future__ import annotations

from alembic import op

revision = "0004_live_posts"
down_revision = "0003_variant_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_posts_live_by_source", "posts", ["source", "removed", "origin", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_posts_live_by_source", table_name="posts")
