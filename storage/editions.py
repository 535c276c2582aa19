"""Queries on editions: which editions each chat reads.

The config's `editions` are the source of truth. At start-up `sync_editions` makes the rows
agree with it: a chat left without an edition (new since editions, or its only edition
dropped from the config) reads the one of its interface language, else the newsroom's; a
story stored before editions is put in the edition of its language, else the newsroom's.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, case, delete, exists, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Destination, DestinationEdition, Story


def _edition_of(language_column, editions: Sequence[str], default: str):  # type: ignore[no-untyped-def]
    """SQL: the language when it is an edition, else the default edition."""
    return case((language_column.in_(list(editions)), language_column), else_=literal(default))


async def sync_editions(session: AsyncSession, editions: Sequence[str], default: str) -> None:
    """Make chats' and stories' editions agree with the configured ones (see the module)."""
    await session.execute(
        delete(DestinationEdition).where(DestinationEdition.edition.not_in(list(editions)))
    )
    without = ~exists().where(DestinationEdition.destination_id == Destination.id)
    await session.execute(
        insert(DestinationEdition).from_select(
            ["destination_id", "edition"],
            select(Destination.id, _edition_of(Destination.language, editions, default)).where(
                without
            ),
        )
    )
    await session.execute(
        update(Story)
        .where(Story.edition.is_(None))
        .values(edition=_edition_of(Story.language, editions, default))
    )


async def editions_of(session: AsyncSession, destination_id: int) -> set[str]:
    query = select(DestinationEdition.edition).where(
        DestinationEdition.destination_id == destination_id
    )
    return set((await session.scalars(query)).all())


async def set_editions(session: AsyncSession, destination_id: int, editions: Sequence[str]) -> None:
    """The chat reads exactly these editions (callers keep at least one)."""
    if not editions:
        raise ValueError("a chat reads at least one edition")
    await session.execute(
        delete(DestinationEdition).where(
            and_(
                DestinationEdition.destination_id == destination_id,
                DestinationEdition.edition.not_in(list(editions)),
            )
        )
    )
    have = await editions_of(session, destination_id)
    missing = [edition for edition in editions if edition not in have]
    if missing:
        await session.execute(
            insert(DestinationEdition),
            [{"destination_id": destination_id, "edition": edition} for edition in missing],
        )


async def editions_of_many(
    session: AsyncSession, destination_ids: Sequence[int]
) -> dict[int, frozenset[str]]:
    """The editions each of these chats reads, in one query for a claimed batch."""
    query = select(DestinationEdition.destination_id, DestinationEdition.edition).where(
        DestinationEdition.destination_id.in_(set(destination_ids))
    )
    found: dict[int, set[str]] = {}
    for destination_id, edition in (await session.execute(query)).all():
        found.setdefault(destination_id, set()).add(edition)
    return {destination_id: frozenset(codes) for destination_id, codes in found.items()}
