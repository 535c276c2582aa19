"""alert fan-out in chunks: breaking news queued a chunk of chats per transaction

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 06:00:00

Sending breaking news queued a row for every chat before it answered: a second or more for
100k chats, the request waiting and the outbox locked meanwhile. Now the request stores the
alert, counts its chats and queues the first chunk; the delivery tick queues the rest, a
chunk per transaction, and resumes after a crash. `audience` is the count the sender was
told, `queued_through` the last chat id queued, `fanned_out_at` when all were. Alerts sent
before were queued at once: they are marked fanned out when they were confirmed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("audience", sa.Integer(), nullable=True))
    op.add_column("alerts", sa.Column("queued_through", sa.BigInteger(), nullable=True))
    op.add_column("alerts", sa.Column("fanned_out_at", storage.types.UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE alerts SET fanned_out_at = COALESCE(confirmed_at, created_at) WHERE status = 'sent'"
    )
    # The tick asks for the unfinished ones on every beat: only those are in it.
    unfinished = sa.text("fanned_out_at IS NULL")
    op.create_index(
        "ix_alerts_fanning_out",
        "alerts",
        ["id"],
        sqlite_where=unfinished,
        postgresql_where=unfinished,
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_fanning_out", table_name="alerts")
    # Plain DROP COLUMN as 0011's (SQLite 3.35+), not a batch copy of the table.
    op.drop_column("alerts", "fanned_out_at")
    op.drop_column("alerts", "queued_through")
    op.drop_column("alerts", "audience")
