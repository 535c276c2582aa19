"""digest deliveries: the daily digest goes through the outbox like stories and alerts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00

The digest sent itself (a claim in `digest_sends`, then a send, then the outcome) beside the
sender, without its per-chat pacing or its handling of Telegram's answers. Now a slot is one
`digest_slots` row (the stories it lists, fixed when it was queued) and one delivery per
opted-in destination, queued in one transaction; `deliveries.digest_slot` with a unique key
per destination makes queueing a slot twice (a second instance, a re-run) queue nothing.

`digest_sends` history becomes deliveries (sent ones keep their message; a claim that never
recorded a send is failed, since it may have gone out) and the table is dropped. Downgrading
turns digest deliveries back into `digest_sends` rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# storage/deliveries.py DIGEST_PRIORITY: after breaking news and stories.
DIGEST_PRIORITY = 20

SLOTS_FROM_SENDS = """
    INSERT INTO digest_slots (slot, day, due_at, story_ids, created_at)
    SELECT slot, substr(slot, 1, 10), min(created_at), '[]', min(created_at)
    FROM digest_sends GROUP BY slot
"""

DELIVERIES_FROM_SENDS = f"""
    INSERT INTO deliveries (
        destination_id, digest_slot, priority, status, attempts, next_attempt_at, last_error,
        chat_id, message_id, created_at, sent_at
    )
    SELECT
        s.destination_id, s.slot, {DIGEST_PRIORITY},
        CASE WHEN s.status = 'sent' THEN 'sent' ELSE 'failed' END,
        1, s.created_at,
        CASE WHEN s.status = 'sent' THEN NULL ELSE 'digest: no send recorded' END,
        CASE WHEN s.status = 'sent' THEN d.chat_id END,
        s.message_id, s.created_at, s.sent_at
    FROM digest_sends AS s JOIN destinations AS d ON d.id = s.destination_id
"""

SENDS_FROM_DELIVERIES = """
    INSERT INTO digest_sends (destination_id, slot, status, message_id, created_at, sent_at)
    SELECT destination_id, digest_slot, status, message_id, created_at, sent_at
    FROM deliveries WHERE digest_slot IS NOT NULL
"""


def _create_digest_sends() -> None:
    op.create_table(
        "digest_sends",
        sa.Column(
            "destination_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destinations.id"],
            name=op.f("fk_digest_sends_destination_id_destinations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("destination_id", "slot", name=op.f("pk_digest_sends")),
    )


def upgrade() -> None:
    op.create_table(
        "digest_slots",
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("story_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_digest_slots")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_slot", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_deliveries_digest_slot_digest_slots"),
            "digest_slots",
            ["digest_slot"],
            ["slot"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(
            "uq_deliveries_destination_digest_slot", ["destination_id", "digest_slot"]
        )
    op.execute(SLOTS_FROM_SENDS)
    op.execute(DELIVERIES_FROM_SENDS)
    op.drop_table("digest_sends")


def downgrade() -> None:
    _create_digest_sends()
    op.execute(SENDS_FROM_DELIVERIES)
    op.execute("DELETE FROM deliveries WHERE digest_slot IS NOT NULL")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_deliveries_destination_digest_slot", type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_deliveries_digest_slot_digest_slots"), type_="foreignkey"
        )
        batch_op.drop_column("digest_slot")
    op.drop_table("digest_slots")
