"""channel roundup: whether a capped chat's stories over its cap wait for a roundup

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 05:40:00

A chat with `max_posts_per_hour` got the stories over its cap in one "More news" roundup
post. `channel_rules.roundup` (true: as before) lets its admins leave them out instead: the
chat gets at most its cap, and the trace says why the rest were skipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "channel_rules",
        sa.Column("roundup", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    # A plain DROP COLUMN as 0011's (SQLite 3.35+), not a batch copy of the table.
    op.drop_column("channel_rules", "roundup")
