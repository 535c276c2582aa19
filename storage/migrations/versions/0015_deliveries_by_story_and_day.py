"""deliveries by story and by day: the console's trace, reach and daily series

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 03:20:00

The console reads the outbox by story (a story's delivery trace, the top stories' reach) and
by day (the daily series of sent and failed). Neither column was indexed on its own
(`story_id` only second in the unique (destination_id, story_id)), so each such call read
the whole outbox: about a second at a million deliveries. Plain CREATE INDEX: on PostgreSQL
it holds writes to `deliveries` while it builds (seconds per million rows), so upgrade a
large outbox at a quiet hour.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_story_id", "deliveries", ["story_id"])
    op.create_index("ix_deliveries_created_at", "deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_created_at", table_name="deliveries")
    op.drop_index("ix_deliveries_story_id", table_name="deliveries")
