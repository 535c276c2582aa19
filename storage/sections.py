"""Queries on sections. The config file is their source of truth; the table mirrors it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Section


@dataclass(frozen=True, slots=True)
class SectionSpec:
    """A section as the config declares it: its slug and its title per language."""

    slug: str
    titles: Mapping[str, str]


async def sync_sections(session: AsyncSession, sections: Sequence[SectionSpec]) -> None:
    """Make the table equal the config: add, update and remove sections, keep their order."""
    existing = {row.slug: row for row in (await session.scalars(select(Section))).all()}
    for position, section in enumerate(sections):
        row = existing.pop(section.slug, None)
        if row is None:
            session.add(Section(slug=section.slug, titles=dict(section.titles), position=position))
        else:
            row.titles = dict(section.titles)
            row.position = position
    if existing:
        await session.execute(delete(Section).where(Section.slug.in_(list(existing))))


async def list_sections(session: AsyncSession) -> list[Section]:
    return list((await session.scalars(select(Section).order_by(Section.position))).all())
