"""full-text search over stories (SQLite FTS5, PostgreSQL tsvector + optional pg_trgm)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:50:00

The index is not part of the models: it is the search engine's own artefact, named
`stories_fts*` so the schema comparison can leave it out (tests/storage/test_migrations.py).
SQLite gets an external-content FTS5 table kept in step by triggers, so the poller's plain
INSERTs index a story in the same transaction. PostgreSQL gets a generated, weighted tsvector
column (headline A, summary B) with a GIN index, and a trigram index on headlines when the
pg_trgm extension can be created (fuzzy fallback for misspelt searches).
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

# prefix='5': a prefix index for the 5-character stems queries use ("выбор*", "сайла*"),
# so a stem is one index lookup rather than a scan of every term that starts with it.
SQLITE_UP = (
    """
    CREATE VIRTUAL TABLE stories_fts USING fts5(
        title, summary,
        content='stories', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2',
        prefix='5'
    )
    """,
    """
    CREATE TRIGGER stories_fts_insert AFTER INSERT ON stories BEGIN
        INSERT INTO stories_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END
    """,
    """
    CREATE TRIGGER stories_fts_delete AFTER DELETE ON stories BEGIN
        INSERT INTO stories_fts(stories_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
    END
    """,
    """
    CREATE TRIGGER stories_fts_update AFTER UPDATE OF title, summary ON stories BEGIN
        INSERT INTO stories_fts(stories_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
        INSERT INTO stories_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END
    """,
    "INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')",
)

SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS stories_fts_update",
    "DROP TRIGGER IF EXISTS stories_fts_delete",
    "DROP TRIGGER IF EXISTS stories_fts_insert",
    "DROP TABLE IF EXISTS stories_fts",
)

# 'simple': no language's stemmer or stop words (there is none for Kazakh); inflections are
# matched by prefix queries instead ("выбор:*").
POSTGRES_UP = (
    """
    ALTER TABLE stories ADD COLUMN stories_fts tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', coalesce(title, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(summary, '')), 'B')
    ) STORED
    """,
    "CREATE INDEX stories_fts_gin ON stories USING gin (stories_fts)",
)

POSTGRES_DOWN = (
    "DROP INDEX IF EXISTS stories_fts_trgm",
    "DROP INDEX IF EXISTS stories_fts_gin",
    "ALTER TABLE stories DROP COLUMN IF EXISTS stories_fts",
)


def _trigram_index() -> None:
    """The trigram index only where pg_trgm can be created (it may need a superuser)."""
    bind = op.get_bind()
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        bind.exec_driver_sql(
            "CREATE INDEX stories_fts_trgm ON stories USING gin (lower(title) gin_trgm_ops)"
        )
    except DBAPIError as exc:
        savepoint.rollback()
        log.warning("pg_trgm unavailable, search works without fuzzy matching: %s", exc)
        return
    savepoint.commit()


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)
        _trigram_index()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    statements = SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN
    if dialect in ("sqlite", "postgresql"):
        for statement in statements:
            op.execute(statement)
