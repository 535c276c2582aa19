"""engagement by publication: story_engagement carries its story's time, group and section

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 09:00:00

/popular ranks the groups published in a window by their running totals. It found them by
walking the window's stories (ix_stories_published_at) and joining each one's totals: at a
million stories a year the week it falls back to at midnight is some 19,000 stories, each a
read of the wide `stories` row for its group, about 20 of the query's 37 ms on PostgreSQL.
`story_engagement` now carries a copy of its story's `published_at`, `group_id` and
`section`, indexed by publication time, so the ranking reads the narrow totals table alone
(6 ms on the same data).

The copy is kept by triggers, like the totals themselves: filled in when a story's totals row
is created (its first signal), and updated whenever the story's publication time, group (a
later version joining its group) or section changes, whoever writes it. Only plain added
columns, an index and triggers: nothing is rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COPIED = ("published_at", "group_id", "section")

BACKFILL = {
    "sqlite": """
        UPDATE story_engagement SET
            published_at = (SELECT published_at FROM stories WHERE id = story_id),
            group_id = (SELECT group_id FROM stories WHERE id = story_id),
            section = (SELECT section FROM stories WHERE id = story_id)
    """,
    "postgresql": """
        UPDATE story_engagement AS totals SET
            published_at = stories.published_at,
            group_id = stories.group_id,
            section = stories.section
        FROM stories WHERE stories.id = totals.story_id
    """,
}

SQLITE_UP = (
    # SQLite cannot change NEW in a trigger: the new row is completed right after its insert
    # (an upsert's update of an existing row does not fire it).
    """
    CREATE TRIGGER story_engagement_copy_story AFTER INSERT ON story_engagement BEGIN
        UPDATE story_engagement SET
            published_at = (SELECT published_at FROM stories WHERE id = NEW.story_id),
            group_id = (SELECT group_id FROM stories WHERE id = NEW.story_id),
            section = (SELECT section FROM stories WHERE id = NEW.story_id)
        WHERE story_id = NEW.story_id;
    END
    """,
    """
    CREATE TRIGGER stories_copy_to_engagement
    AFTER UPDATE OF published_at, group_id, section ON stories BEGIN
        UPDATE story_engagement SET
            published_at = NEW.published_at, group_id = NEW.group_id, section = NEW.section
        WHERE story_id = NEW.id;
    END
    """,
)

SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS stories_copy_to_engagement",
    "DROP TRIGGER IF EXISTS story_engagement_copy_story",
)

POSTGRES_UP = (
    """
    CREATE FUNCTION story_engagement_copy_story() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT published_at, group_id, section INTO NEW.published_at, NEW.group_id, NEW.section
        FROM stories WHERE id = NEW.story_id;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER story_engagement_copy_story BEFORE INSERT ON story_engagement
    FOR EACH ROW EXECUTE FUNCTION story_engagement_copy_story()
    """,
    """
    CREATE FUNCTION stories_copy_to_engagement() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE story_engagement SET
            published_at = NEW.published_at, group_id = NEW.group_id, section = NEW.section
        WHERE story_id = NEW.id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER stories_copy_to_engagement
    AFTER UPDATE OF published_at, group_id, section ON stories FOR EACH ROW
    WHEN (OLD.published_at IS DISTINCT FROM NEW.published_at
          OR OLD.group_id IS DISTINCT FROM NEW.group_id
          OR OLD.section IS DISTINCT FROM NEW.section)
    EXECUTE FUNCTION stories_copy_to_engagement()
    """,
)

POSTGRES_DOWN = (
    "DROP TRIGGER IF EXISTS stories_copy_to_engagement ON stories",
    "DROP FUNCTION IF EXISTS stories_copy_to_engagement()",
    "DROP TRIGGER IF EXISTS story_engagement_copy_story ON story_engagement",
    "DROP FUNCTION IF EXISTS story_engagement_copy_story()",
)


def upgrade() -> None:
    op.add_column(
        "story_engagement", sa.Column("published_at", storage.types.UTCDateTime(), nullable=True)
    )
    op.add_column("story_engagement", sa.Column("group_id", sa.BigInteger(), nullable=True))
    op.add_column("story_engagement", sa.Column("section", sa.String(length=32), nullable=True))
    dialect = op.get_bind().dialect.name
    if dialect in BACKFILL:
        op.execute(BACKFILL[dialect])
    for statement in {"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}.get(dialect, ()):
        op.execute(statement)
    op.create_index(
        "ix_story_engagement_published_at", "story_engagement", ["published_at"], unique=False
    )
    if dialect == "postgresql":
        op.execute("ANALYZE story_engagement")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}.get(dialect, ()):
        op.execute(statement)
    op.drop_index("ix_story_engagement_published_at", table_name="story_engagement")
    for name in reversed(COPIED):
        op.drop_column("story_engagement", name)
