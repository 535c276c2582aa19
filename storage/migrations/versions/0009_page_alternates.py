"""page alternates: find the stories waiting for their article page without a scan

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00

Stories of feeds with alternates = "page" are stored with `alternates_pending` set until
their page has been read for its hreflang versions; a job reads them oldest first every few
seconds. A partial index holds only the waiting ones (a handful), so that read never scans
the stories table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_stories_alternates_pending",
        "stories",
        ["first_seen_at"],
        postgresql_where=sa.text("alternates_pending"),
        sqlite_where=sa.text("alternates_pending"),
    )


def downgrade() -> None:
    op.drop_index("ix_stories_alternates_pending", table_name="stories")
