"""Queries on sections. The config file is their source of truth; the table mirrors it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SectionConfig
from storage.models import Section


def _titles(section: SectionConfig) -> dict[str, str]:
    if isinstance(section.title, str):
        return {"en": section.title}
    return dict(section.title)


async def sync_sections(session: AsyncSession, sections: Sequence[SectionConfig]) -> None:
    """Make the table equal the config: add, update and remove sections, keep their order."""
    existing = {row.slug: row for row in (await session.scalars(select(Section))).all()}
    for position, section in enumerate(sections):
        row = existing.pop(section.slug, None)
        if row is None:
            session.add(Section(slug=section.slug, titles=_titles(section), position=position))
        else:
            row.titles = _titles(section)
            row.position = position
    if existing:
        await session.execute(delete(Section).where(Section.slug.in_(list(existing))))


async def list_sections(session: AsyncSession) -> list[Section]:
    return list((await session.scalars(select(Section).order_by(Section.position))).all())
