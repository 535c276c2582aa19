"""the story trace read from sorted indexes, each sent row's bundle size, each alert
row's version

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 05:10:00

The console's story trace counts a story's chats by their facts (issue 23: p95 < 100 ms for a
story meant for 100k chats). It used to join every outbox row to its chat and probe the outbox
again per sent row (was its message shared?). Now:

- `deliveries.message_rows`: how many outbox rows the message carrying this one carries (the
  sender writes it with the message id; > 1: a reader's bundle or a channel's roundup). Filled
  here for the messages already shared; NULL is a message of its own.
- `ix_deliveries_story` (story_id, destination_id, status) replaces `ix_deliveries_story_id`:
  a story's chats in chat order (merged against the subscribers, no probe per chat) and its
  rows counted by status from the index alone.
- `ix_deliveries_bundled` (story_id) WHERE message_rows > 1: a story's bundled rows, counted
  without reading its other rows.
- `ix_subscriptions_section` and `ix_destination_editions_edition` gain `destination_id`: a
  section's subscribers and an edition's readers, in chat order, from the index alone.
- `ix_deliveries_approval_id` (approval_id) WHERE approval_id IS NOT NULL: the chats a story
  waiting for the desk goes to (the desk's message, the console's Approvals), which read the
  whole outbox once per waiting story before; only the few rows with an approval are in it.

- `deliveries.version`: the edition whose version of breaking news the chat gets, looked up
  when the alert is queued; `ix_deliveries_alert_id` becomes (alert_id, status, version), so
  an alert's progress per version is counted from the index alone. Alerts queued before stay
  NULL and are counted as before (by reading each chat's editions).

Plain CREATE INDEX: on PostgreSQL it holds writes to the table while it builds (seconds per
million rows), so upgrade a large outbox at a quiet hour.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BUNDLED = sa.text("message_rows > 1")
APPROVED = sa.text("approval_id IS NOT NULL")


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("message_rows", sa.Integer(), nullable=True))
    op.add_column("deliveries", sa.Column("version", sa.String(length=8), nullable=True))
    op.drop_index("ix_deliveries_alert_id", table_name="deliveries")
    op.create_index("ix_deliveries_alert_id", "deliveries", ["alert_id", "status", "version"])
    op.execute(
        """
        UPDATE deliveries SET message_rows = (
            SELECT count(*) FROM deliveries AS other
            WHERE other.chat_id = deliveries.chat_id AND other.message_id = deliveries.message_id
        )
        WHERE message_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM deliveries AS other
            WHERE other.chat_id = deliveries.chat_id AND other.message_id = deliveries.message_id
              AND other.id <> deliveries.id
        )
        """
    )
    op.drop_index("ix_deliveries_story_id", table_name="deliveries")
    op.create_index("ix_deliveries_story", "deliveries", ["story_id", "destination_id", "status"])
    op.create_index(
        "ix_deliveries_bundled",
        "deliveries",
        ["story_id"],
        sqlite_where=BUNDLED,
        postgresql_where=BUNDLED,
    )
    op.create_index(
        "ix_deliveries_approval_id",
        "deliveries",
        ["approval_id"],
        sqlite_where=APPROVED,
        postgresql_where=APPROVED,
    )
    op.drop_index("ix_subscriptions_section", table_name="subscriptions")
    op.create_index("ix_subscriptions_section", "subscriptions", ["section", "destination_id"])
    op.drop_index("ix_destination_editions_edition", table_name="destination_editions")
    op.create_index(
        "ix_destination_editions_edition", "destination_editions", ["edition", "destination_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_destination_editions_edition", table_name="destination_editions")
    op.create_index("ix_destination_editions_edition", "destination_editions", ["edition"])
    op.drop_index("ix_subscriptions_section", table_name="subscriptions")
    op.create_index("ix_subscriptions_section", "subscriptions", ["section"])
    op.drop_index("ix_deliveries_approval_id", table_name="deliveries")
    op.drop_index("ix_deliveries_bundled", table_name="deliveries")
    op.drop_index("ix_deliveries_story", table_name="deliveries")
    op.create_index("ix_deliveries_story_id", "deliveries", ["story_id"])
    op.drop_index("ix_deliveries_alert_id", table_name="deliveries")
    op.create_index("ix_deliveries_alert_id", "deliveries", ["alert_id"])
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("version")
        batch.drop_column("message_rows")
