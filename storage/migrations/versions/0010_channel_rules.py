"""channel rules: a chat's desk filters, and whether the config manages the chat

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00

One row per chat with desk rules: include/exclude words or phrases and regular expressions
(JSON lists), `filtered` (any list non-empty: the fan-out asks the filters only about these
chats), `version` (compiled patterns are cached per version), and `managed_by_config` with
the config's name for the chat (`config_ref`), for chats declared in [[channels]]. A new
table only: nothing existing is rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_rules",
        sa.Column(
            "destination_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("managed_by_config", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("config_ref", sa.String(length=64), nullable=True),
        sa.Column("include", sa.JSON(), nullable=False),
        sa.Column("exclude", sa.JSON(), nullable=False),
        sa.Column("include_regex", sa.JSON(), nullable=False),
        sa.Column("exclude_regex", sa.JSON(), nullable=False),
        sa.Column("filtered", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["destination_id"], ["destinations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("destination_id"),
    )


def downgrade() -> None:
    op.drop_table("channel_rules")
