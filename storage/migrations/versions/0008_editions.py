"""editions: stories in a newsroom edition and grouped across editions; chats read editions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:30:00

A newsroom publishes each story in several languages (its editions). A story now records the
edition it is shown in and the group of its versions; the versions its source names are kept
in `story_alternates`, so a version stored later joins the group. A chat reads one or more
editions (`destination_editions`) and gets one version of each group: `deliveries.group_id`
with a unique index on (destination, group). Breaking news may carry one text per edition
(`alerts.texts`).

Existing stories become groups of one (group_id = id), and so does every story inserted
without a group (a trigger); their edition, and existing chats'
editions, depend on the config's `editions`, so `newsbot run` fills them in at start-up
(storage.editions.sync_editions) rather than this migration guessing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


# A story stored without a group is a group of one, whoever inserts it (the bot, a tool, a
# test): the database fills group_id in, so no query ever meets a NULL group.
_OWN_GROUP = {
    "sqlite": [
        "CREATE TRIGGER stories_own_group AFTER INSERT ON stories WHEN NEW.group_id IS NULL "
        "BEGIN UPDATE stories SET group_id = NEW.id WHERE id = NEW.id; END"
    ],
    "postgresql": [
        "CREATE FUNCTION stories_own_group() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF NEW.group_id IS NULL THEN NEW.group_id := NEW.id; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER stories_own_group BEFORE INSERT ON stories "
        "FOR EACH ROW EXECUTE FUNCTION stories_own_group()",
    ],
}
_NO_OWN_GROUP = {
    "sqlite": ["DROP TRIGGER IF EXISTS stories_own_group"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS stories_own_group ON stories",
        "DROP FUNCTION IF EXISTS stories_own_group()",
    ],
}


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite has it): a batch rebuild of `stories` would drop its search
    # triggers and, with foreign keys on, cascade the drop into its dependants.
    op.add_column("stories", sa.Column("edition", sa.String(length=8), nullable=True))
    op.add_column("stories", sa.Column("group_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "stories",
        sa.Column("alternates_pending", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute("UPDATE stories SET group_id = id")
    for statement in _OWN_GROUP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.create_index("ix_stories_group_id", "stories", ["group_id"])
    op.create_index(
        "ix_stories_edition_published_at",
        "stories",
        ["edition", "published_at"],
        postgresql_include=["id"],
    )
    op.create_index(
        "ix_stories_edition_section_published_at",
        "stories",
        ["edition", "section", "published_at"],
        postgresql_include=["id"],
    )
    op.create_table(
        "story_alternates",
        sa.Column("story_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("link", sa.String(length=2048), nullable=False),
        sa.Column("edition", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("story_id", "link"),
    )
    op.create_index("ix_story_alternates_link", "story_alternates", ["link"])
    op.create_table(
        "destination_editions",
        sa.Column(
            "destination_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("edition", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["destination_id"], ["destinations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("destination_id", "edition"),
    )
    op.create_index("ix_destination_editions_edition", "destination_editions", ["edition"])
    op.add_column("alerts", sa.Column("texts", sa.JSON(), nullable=True))
    op.add_column("deliveries", sa.Column("group_id", sa.BigInteger(), nullable=True))
    op.create_index(
        "uq_deliveries_destination_group",
        "deliveries",
        ["destination_id", "group_id"],
        unique=True,
    )


def downgrade() -> None:
    for statement in _NO_OWN_GROUP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_index("uq_deliveries_destination_group", table_name="deliveries")
    # Plain DROP COLUMN (SQLite 3.35+), for the reason given in upgrade.
    op.drop_column("deliveries", "group_id")
    op.drop_column("alerts", "texts")
    op.drop_index("ix_destination_editions_edition", table_name="destination_editions")
    op.drop_table("destination_editions")
    op.drop_index("ix_story_alternates_link", table_name="story_alternates")
    op.drop_table("story_alternates")
    op.drop_index("ix_stories_edition_section_published_at", table_name="stories")
    op.drop_index("ix_stories_edition_published_at", table_name="stories")
    op.drop_index("ix_stories_group_id", table_name="stories")
    op.drop_column("stories", "alternates_pending")
    op.drop_column("stories", "group_id")
    op.drop_column("stories", "edition")
