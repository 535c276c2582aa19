"""most-read lists: the order of each role = "popular" feed, blended into /popular

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:00:00

A newsroom's own "most read" feed is polled like any feed, but its items are never stored as
stories (they would be pushed): `popular_ranks` keeps only its latest order, one row per
place, replaced whole by each successful poll. /popular matches the rows to stored stories
through the stories' unique link and identity indexes (storage/most_read.py), so the table
needs no index of its own beyond its key: it holds about a hundred rows per feed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "popular_ranks",
        sa.Column("feed_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("link", sa.String(length=2048), nullable=True),
        sa.Column("identity", sa.String(length=255), nullable=False),
        sa.Column("observed_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_popular_ranks_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feed_id", "position", name=op.f("pk_popular_ranks")),
    )


def downgrade() -> None:
    op.drop_table("popular_ranks")
