"""The schema comes only from migrations, so they must say exactly what the models say."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Base


def _not_search_index(obj: object, name: str | None, kind: str, reflected: bool, _: object) -> bool:
    """The full-text index (storage/search.py, migration 0003) is not in the models."""
    return not (name or "").startswith("stories_fts")


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": _not_search_index}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_upgrade_is_idempotent_and_reaches_head(database: Database) -> None:
    await upgrade(database)
    assert await current_revision(database) == head_revision()


async def test_indexes_serve_the_timeline_and_section_queries(database: Database) -> None:
    async with database.engine.connect() as connection:
        indexes = await connection.run_sync(
            lambda sync: {tuple(ix["column_names"]) for ix in inspect(sync).get_indexes("stories")}
        )
    assert ("published_at",) in indexes
    assert ("section", "published_at") in indexes
    assert ("feed_id", "published_at") in indexes
