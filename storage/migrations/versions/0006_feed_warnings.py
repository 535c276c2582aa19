"""feed warnings: the latest repair a successful poll needed, shown by `newsbot feeds`

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:00:00

A feed that reads only after a repair (invalid UTF-8 replaced, implausible dates ignored)
polls `ok`, but an operator should see that its newsroom publishes something broken:
`last_warning` says what was repaired and `last_warning_at` when. Two nullable columns, no
backfill: no poll before this revision recorded a repair.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_warning", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("last_warning_at", storage.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("last_warning_at")
        batch_op.drop_column("last_warning")
