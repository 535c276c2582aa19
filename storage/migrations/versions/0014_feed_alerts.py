"""feed alerts: when a feed began failing, and the outage its editors were alerted about

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 03:00:00

A feed that has failed for `feed_alert_after` is reported once to the editors, and once more
when it answers again (bot/services/feed_alerts.py). `failing_since` is when its current run
of failed polls began (None once a poll succeeds); `alerted_since` is the start of the outage
the editors were told about, claimed by one UPDATE so that of several instances only one
tells them, and kept across restarts. Two nullable columns; a feed failing at upgrade time is
taken to fail since its latest poll (the only failure known for sure), so no alert comes
before its time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failing_since", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("alerted_since", storage.types.UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE feeds SET failing_since = last_fetched_at "
        "WHERE consecutive_errors > 0 AND last_fetched_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("alerted_since")
        batch_op.drop_column("failing_since")
