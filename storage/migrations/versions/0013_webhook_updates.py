"""webhook updates: the update_ids the webhook has taken, so a repeat is dropped

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 23:50:00

Telegram posts an update again when its answer was slow or failed, and behind a load
balancer the repeat may reach another instance, or this one after a restart. Each update_id
is claimed once in `webhook_updates` (INSERT ... ON CONFLICT DO NOTHING); a repeat finds it
taken and is answered 200 and dropped. Rows older than a day are pruned as the webhook goes
(storage/updates.py), so the table holds about a day of updates. Only a new table: nothing
existing is rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_index("ix_webhook_updates_received_at", "webhook_updates", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_updates_received_at", table_name="webhook_updates")
    op.drop_table("webhook_updates")
