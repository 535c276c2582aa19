"""channel desk: format, pace, quiet hours, approval and forum topics per chat

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:00:00

- channel_rules gains the rest of a chat's desk settings: its template and switches (summary,
  related, image, link preview, hashtags, the Read button's label, a signature, utm), its pace
  (max_posts_per_hour), quiet hours and their mode, approval, and the forum topic breaking news
  goes to. `styled` says any format setting differs from the default, so a fan-out renders the
  default message once for every chat that has none.
- destinations: whether the chat is a forum, and whether the bot may manage its topics.
- stories: the feed item's categories (filters match them too).
- deliveries: `roundup` (held by a chat's pace or quiet hours: sent with the chat's other
  held stories as one "More news" post) and `approval_id` (a story the desk approved for this
  chat, perhaps with an edited headline).
- forum_topics: the topic each section posts into in a forum chat.
- approvals: a story waiting for the editors' desk, and what was decided (who, when).
- desk_prompts: a reply the bot waits for (a setting an admin types, an edited headline).

Only new tables and plain added columns: nothing existing is rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _flag(name: str, default: bool) -> sa.Column:
    return sa.Column(
        name, sa.Boolean(), server_default=sa.true() if default else sa.false(), nullable=False
    )


def upgrade() -> None:
    for column in (
        sa.Column("template", sa.Text(), nullable=True),
        _flag("show_summary", True),
        _flag("show_related", True),
        _flag("show_image", True),
        _flag("link_preview", True),
        _flag("hashtags", True),
        sa.Column("read_button", sa.String(length=64), nullable=True),
        sa.Column("signature", sa.String(length=128), nullable=True),
        sa.Column("utm", sa.String(length=512), nullable=True),
        _flag("styled", False),
        sa.Column("max_posts_per_hour", sa.Integer(), nullable=True),
        sa.Column("quiet_hours", sa.String(length=11), nullable=True),
        sa.Column("quiet_mode", sa.String(length=8), server_default="silent", nullable=False),
        _flag("approval", False),
        sa.Column("breaking_topic", sa.BigInteger(), nullable=True),
    ):
        op.add_column("channel_rules", column)
    op.add_column("destinations", _flag("is_forum", False))
    op.add_column("destinations", _flag("can_manage_topics", False))
    op.add_column("stories", sa.Column("categories", sa.JSON(), nullable=True))
    op.add_column("deliveries", _flag("roundup", False))
    op.add_column("deliveries", sa.Column("approval_id", sa.BigInteger(), nullable=True))

    op.create_table(
        "forum_topics",
        sa.Column("destination_id", _ID, nullable=False),
        sa.Column("section", sa.String(length=32), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        _flag("recreated", False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["destination_id"], ["destinations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("destination_id", "section"),
    )
    op.create_table(
        "approvals",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("story_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("headline", sa.Text(), nullable=True),
        sa.Column("desk_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("desk_message_id", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_by_name", sa.String(length=255), nullable=True),
        sa.Column("decided_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("story_id", name="uq_approvals_story_id"),
    )
    op.create_index("ix_approvals_status", "approvals", ["status", "expires_at"])
    op.create_table(
        "desk_prompts",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("destination_id", _ID, nullable=True),
        sa.Column("approval_id", _ID, nullable=True),
        sa.Column("setting", sa.String(length=32), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["destination_id"], ["destinations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["approval_id"], ["approvals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chat_id", "message_id"),
    )


def downgrade() -> None:
    op.drop_table("desk_prompts")
    op.drop_index("ix_approvals_status", table_name="approvals")
    op.drop_table("approvals")
    op.drop_table("forum_topics")
    op.drop_column("deliveries", "approval_id")
    op.drop_column("deliveries", "roundup")
    op.drop_column("stories", "categories")
    op.drop_column("destinations", "can_manage_topics")
    op.drop_column("destinations", "is_forum")
    for name in (
        "breaking_topic",
        "approval",
        "quiet_mode",
        "quiet_hours",
        "max_posts_per_hour",
        "styled",
        "utm",
        "signature",
        "read_button",
        "hashtags",
        "link_preview",
        "show_image",
        "show_related",
        "show_summary",
        "template",
    ):
        op.drop_column("channel_rules", name)
