"""storage at scale: running engagement totals per story, a stem index for PostgreSQL search

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 03:30:00

/popular summed every signal of the day on each call; with a million stories and a hundred
thousand chats that is tens of thousands of rows per call. `story_engagement` keeps each
story's running total (points, how many signal rows, the earliest signal), maintained by
triggers on `engagement` and `reaction_counts` in the transaction that records the signal, so
whatever writes a signal (the bot, the CMS, a script) keeps it exact. /popular then reads one
row per story published in its window (storage/engagement.py).

PostgreSQL search matched stems as prefixes ('выбор':*) in the GIN index, which turns every
word starting with a stem into one bitmap: a stem found in most stories cost 50-100 ms before
the rarer word of the query could narrow anything. `stories_fts_stems` holds each story's
words cut to their first five letters (shorter words whole), so a stem is one exact GIN key
and an AND of a frequent and a rare stem skips through the frequent one (storage/search.py).
Named stories_fts*, like the rest of the search index, so the model comparison leaves it out.
Adding it rewrites `stories` once (about three minutes at a million stories).

PostgreSQL's two publication-time indexes on stories now carry the id (INCLUDE), so the
/popular and /today scans read only the index; `reaction_counts` gets an index on story_id.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# A reaction counts 3 points (storage/engagement.py WEIGHTS["reaction"]); Telegram reports a
# post's total, so an update adds the difference.
REACTION_POINTS = 3.0

STORY_INDEXES = {
    "ix_stories_published_at": ["published_at"],
    "ix_stories_section_published_at": ["section", "published_at"],
}

BACKFILL = f"""
    INSERT INTO story_engagement (story_id, points, signals, first_signal_at)
    SELECT story_id, sum(points), count(*), min(at) FROM (
        SELECT story_id, weight AS points, at FROM engagement
        UNION ALL
        SELECT story_id, total * {REACTION_POINTS}, updated_at FROM reaction_counts
    ) AS signals
    GROUP BY story_id
"""


def _sqlite_add(story: str, points: str, at: str) -> str:
    return f"""
        INSERT INTO story_engagement (story_id, points, signals, first_signal_at)
        VALUES ({story}, {points}, 1, {at})
        ON CONFLICT (story_id) DO UPDATE SET
            points = points + excluded.points,
            signals = signals + 1,
            first_signal_at = min(first_signal_at, excluded.first_signal_at);
    """


def _sqlite_subtract(story: str, points: str) -> str:
    return f"""
        UPDATE story_engagement SET points = points - {points}, signals = signals - 1
        WHERE story_id = {story};
    """


ADD_SIGNAL = _sqlite_add("new.story_id", "new.weight", "new.at")
SUBTRACT_SIGNAL = _sqlite_subtract("old.story_id", "old.weight")
ADD_REACTION = _sqlite_add("new.story_id", f"new.total * {REACTION_POINTS}", "new.updated_at")
SUBTRACT_REACTION = _sqlite_subtract("old.story_id", f"old.total * {REACTION_POINTS}")

SQLITE_UP = (
    f"CREATE TRIGGER story_engagement_signal_insert AFTER INSERT ON engagement BEGIN "
    f"{ADD_SIGNAL} END",
    f"CREATE TRIGGER story_engagement_signal_delete AFTER DELETE ON engagement BEGIN "
    f"{SUBTRACT_SIGNAL} END",
    f"CREATE TRIGGER story_engagement_reaction_insert AFTER INSERT ON reaction_counts BEGIN "
    f"{ADD_REACTION} END",
    f"CREATE TRIGGER story_engagement_reaction_update AFTER UPDATE ON reaction_counts BEGIN "
    f"{SUBTRACT_REACTION} {ADD_REACTION} END",
    f"CREATE TRIGGER story_engagement_reaction_delete AFTER DELETE ON reaction_counts BEGIN "
    f"{SUBTRACT_REACTION} END",
)

SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS story_engagement_reaction_delete",
    "DROP TRIGGER IF EXISTS story_engagement_reaction_update",
    "DROP TRIGGER IF EXISTS story_engagement_reaction_insert",
    "DROP TRIGGER IF EXISTS story_engagement_signal_delete",
    "DROP TRIGGER IF EXISTS story_engagement_signal_insert",
)

# One function for both tables: the row's points (and one signal) are added on INSERT,
# subtracted on DELETE; an UPDATE (a reaction total replaced by a newer one) does both.
POSTGRES_UP = (
    f"""
    CREATE FUNCTION story_engagement_track() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        old_points double precision;
        new_points double precision;
        new_at timestamp;
    BEGIN
        IF TG_TABLE_NAME = 'engagement' THEN
            IF TG_OP <> 'INSERT' THEN old_points := OLD.weight; END IF;
            IF TG_OP <> 'DELETE' THEN new_points := NEW.weight; new_at := NEW.at; END IF;
        ELSE
            IF TG_OP <> 'INSERT' THEN old_points := OLD.total * {REACTION_POINTS}; END IF;
            IF TG_OP <> 'DELETE' THEN
                new_points := NEW.total * {REACTION_POINTS}; new_at := NEW.updated_at;
            END IF;
        END IF;
        IF TG_OP <> 'INSERT' THEN
            UPDATE story_engagement
            SET points = points - old_points, signals = signals - 1
            WHERE story_id = OLD.story_id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO story_engagement AS totals (story_id, points, signals, first_signal_at)
            VALUES (NEW.story_id, new_points, 1, new_at)
            ON CONFLICT (story_id) DO UPDATE SET
                points = totals.points + excluded.points,
                signals = totals.signals + 1,
                first_signal_at = least(totals.first_signal_at, excluded.first_signal_at);
            RETURN NEW;
        END IF;
        RETURN OLD;
    END
    $$
    """,
    """
    CREATE TRIGGER story_engagement_signal AFTER INSERT OR DELETE ON engagement
    FOR EACH ROW EXECUTE FUNCTION story_engagement_track()
    """,
    """
    CREATE TRIGGER story_engagement_reaction AFTER INSERT OR UPDATE OR DELETE ON reaction_counts
    FOR EACH ROW EXECUTE FUNCTION story_engagement_track()
    """,
    # Each lexeme cut to its first five characters: 'выборов' -> 'выбор'. A lexeme starts
    # with a five-letter stem exactly when its cut equals the stem, and a shorter lexeme
    # stays whole, so 'нал':* still finds 'налог' among the cuts. (array_to_tsvector sorts and
    # drops the repeats.)
    """
    CREATE FUNCTION stories_fts_stems(document tsvector) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT array_to_tsvector(
            ARRAY(SELECT left(lexeme, 5) FROM unnest(tsvector_to_array(document)) AS lexeme)
        )
    $$
    """,
    """
    ALTER TABLE stories ADD COLUMN stories_fts_stems tsvector GENERATED ALWAYS AS (
        stories_fts_stems(
            to_tsvector('simple', coalesce(title, ''))
            || to_tsvector('simple', coalesce(summary, ''))
        )
    ) STORED
    """,
    "CREATE INDEX stories_fts_stems_gin ON stories USING gin (stories_fts_stems)",
    # The planner needs the new column's most common stems to choose between the index and
    # walking the newest stories (storage/search.py); autovacuum would get there later.
    "ANALYZE stories",
)

POSTGRES_DOWN = (
    "DROP INDEX IF EXISTS stories_fts_stems_gin",
    "ALTER TABLE stories DROP COLUMN IF EXISTS stories_fts_stems",
    "DROP FUNCTION IF EXISTS stories_fts_stems(tsvector)",
    "DROP TRIGGER IF EXISTS story_engagement_reaction ON reaction_counts",
    "DROP TRIGGER IF EXISTS story_engagement_signal ON engagement",
    "DROP FUNCTION IF EXISTS story_engagement_track()",
)


def upgrade() -> None:
    op.create_table(
        "story_engagement",
        sa.Column(
            "story_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("signals", sa.Integer(), nullable=False),
        sa.Column("first_signal_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_engagement_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("story_id", name=op.f("pk_story_engagement")),
    )
    with op.batch_alter_table("reaction_counts", schema=None) as batch_op:
        batch_op.create_index("ix_reaction_counts_story_id", ["story_id"], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # With the id in the index, /popular and /today scan only the index, not the table
        # (SQLite's indexes carry the rowid already).
        for name, columns in STORY_INDEXES.items():
            op.drop_index(name, table_name="stories")
            op.create_index(name, "stories", columns, postgresql_include=["id"])
    statements = {"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}.get(dialect, ())
    for statement in statements:
        op.execute(statement)
    op.execute(BACKFILL)
    if dialect == "postgresql":
        op.execute("ANALYZE story_engagement")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}.get(dialect, ())
    for statement in statements:
        op.execute(statement)
    if dialect == "postgresql":
        for name, columns in STORY_INDEXES.items():
            op.drop_index(name, table_name="stories")
            op.create_index(name, "stories", columns)
    with op.batch_alter_table("reaction_counts", schema=None) as batch_op:
        batch_op.drop_index("ix_reaction_counts_story_id")
    op.drop_table("story_engagement")
