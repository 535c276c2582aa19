"""Queries on the channel desk: a chat's rules (filters) and the chats the config declares.

A chat declared in the config's [[channels]] is managed by it, like feeds: at every start-up
`sync_config_channels` writes its sections, editions, breaking-news switch and filters, and
admins' edits through /channels are refused. A chat dropped from the config keeps what it
had and becomes the admins' to change again.

The filters themselves are judged outside storage (bot/filters.py): the fan-out asks a
`DeskJudge` about the chats whose rules have any filter, and only about those.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.editions import set_editions
from storage.models import ChannelRule, Destination, DestinationEdition, Subscription

# What a chat the config declares before the bot is in it is kept as, until the bot joins
# (storage.destinations.ensure_destination reactivates it then, with its real kind).
NOT_JOINED = "declared in the config; the bot is not in the chat yet"


@dataclass(frozen=True, slots=True)
class DeskRules:
    """A chat's filters as the fan-out hands them to the judge."""

    destination_id: int
    version: int
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_regex: tuple[str, ...] = ()
    exclude_regex: tuple[str, ...] = ()

    @property
    def filtered(self) -> bool:
        return bool(self.include or self.exclude or self.include_regex or self.exclude_regex)


@dataclass(frozen=True, slots=True)
class StoryText:
    """What filters read of a story (the feed's categories are not kept with stories)."""

    story_id: int
    title: str
    summary: str


class DeskJudge(Protocol):
    def admits(self, rules: DeskRules, story: StoryText) -> bool: ...


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A chat as the config declares it (its id already resolved)."""

    ref: str  # as the config names it: "@username" or the id
    chat_id: int
    sections: tuple[str, ...]
    editions: tuple[str, ...]  # empty: the newsroom's default edition for a new chat
    breaking: bool = True
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_regex: tuple[str, ...] = ()
    exclude_regex: tuple[str, ...] = ()
    title: str | None = field(default=None, compare=False)


async def filtered_rules(session: AsyncSession) -> dict[int, DeskRules]:
    """Every chat's rules that have a filter, by destination id."""
    rows = await session.scalars(select(ChannelRule).where(ChannelRule.filtered.is_(True)))
    return {row.destination_id: _rules(row) for row in rows}


def _rules(row: ChannelRule) -> DeskRules:
    return DeskRules(
        destination_id=row.destination_id,
        version=row.version,
        include=tuple(row.include),
        exclude=tuple(row.exclude),
        include_regex=tuple(row.include_regex),
        exclude_regex=tuple(row.exclude_regex),
    )


async def rules_of(session: AsyncSession, destination_id: int) -> DeskRules | None:
    row = await session.get(ChannelRule, destination_id)
    return _rules(row) if row is not None else None


async def is_config_managed(session: AsyncSession, destination_id: int) -> bool:
    managed = await session.scalar(
        select(ChannelRule.managed_by_config).where(ChannelRule.destination_id == destination_id)
    )
    return bool(managed)


async def sync_config_channels(
    session: AsyncSession,
    channels: Sequence[ChannelSpec],
    declared: Collection[str],
    default_edition: str,
    now: datetime,
) -> None:
    """Write the config's chats (see the module); chats whose `config_ref` is no longer
    `declared` lose `managed_by_config`. `declared` holds every chat the config names, also
    those not resolved yet ("@username" before getChat), so those stay managed meanwhile."""
    for spec in channels:
        await _apply(session, spec, default_edition, now)
    await session.execute(
        update(ChannelRule)
        .where(
            ChannelRule.managed_by_config.is_(True),
            ChannelRule.config_ref.not_in(list(declared)),
        )
        .values(managed_by_config=False, config_ref=None, updated_at=now)
    )


async def _destination(session: AsyncSession, spec: ChannelSpec, now: datetime) -> Destination:
    found = await session.scalar(select(Destination).where(Destination.chat_id == spec.chat_id))
    if found is not None:
        return found
    destination = Destination(
        chat_id=spec.chat_id,
        kind="channel",
        title=spec.title,
        active=False,
        inactive_reason=NOT_JOINED,
        breaking=spec.breaking,
        created_at=now,
        updated_at=now,
    )
    session.add(destination)
    await session.flush()
    return destination


async def _apply(
    session: AsyncSession, spec: ChannelSpec, default_edition: str, now: datetime
) -> None:
    destination = await _destination(session, spec, now)
    await session.execute(
        update(Destination).where(Destination.id == destination.id).values(breaking=spec.breaking)
    )
    await _set_sections(session, destination.id, spec.sections, now)
    if spec.editions:
        await set_editions(session, destination.id, spec.editions)
    else:
        has_edition = await session.scalar(
            select(DestinationEdition.edition).where(
                DestinationEdition.destination_id == destination.id
            )
        )
        if has_edition is None:
            await set_editions(session, destination.id, [default_edition])
    await write_rules(session, destination.id, spec, now, managed_by=spec.ref)


async def _set_sections(
    session: AsyncSession, destination_id: int, sections: Sequence[str], now: datetime
) -> None:
    await session.execute(
        delete(Subscription).where(
            Subscription.destination_id == destination_id,
            Subscription.section.not_in(list(sections)),
        )
    )
    have = set(
        (
            await session.scalars(
                select(Subscription.section).where(Subscription.destination_id == destination_id)
            )
        ).all()
    )
    missing = [section for section in sections if section not in have]
    if missing:
        await session.execute(
            insert(Subscription),
            [
                {"destination_id": destination_id, "section": section, "created_at": now}
                for section in missing
            ],
        )


async def write_rules(
    session: AsyncSession,
    destination_id: int,
    spec: ChannelSpec | DeskRules,
    now: datetime,
    *,
    managed_by: str | None = None,
) -> None:
    """Store a chat's filters (a new version); `managed_by`: the config's name for the chat,
    which makes it config-managed."""
    lists = {
        "include": list(spec.include),
        "exclude": list(spec.exclude),
        "include_regex": list(spec.include_regex),
        "exclude_regex": list(spec.exclude_regex),
    }
    filtered = any(lists.values())
    row = await session.get(ChannelRule, destination_id)
    if row is None:
        session.add(
            ChannelRule(
                destination_id=destination_id,
                managed_by_config=managed_by is not None,
                config_ref=managed_by,
                filtered=filtered,
                version=1,
                updated_at=now,
                **lists,
            )
        )
        await session.flush()
        return
    unchanged = (
        all(getattr(row, key) == value for key, value in lists.items())
        and row.config_ref == managed_by
    )
    if unchanged:
        return
    await session.execute(
        update(ChannelRule)
        .where(ChannelRule.destination_id == destination_id)
        .values(
            managed_by_config=managed_by is not None,
            config_ref=managed_by,
            filtered=filtered,
            version=ChannelRule.version + 1,
            updated_at=now,
            **lists,
        )
    )
