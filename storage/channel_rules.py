"""Queries on the channel desk: a chat's rules and the chats the config declares.

A chat's rules (one channel_rules row) are its filters, its format (`DeskFormat`), its pace
and quiet hours (`DeskPace`), approval and forum topics. A chat declared in the config's
[[channels]] is managed by it, like feeds: at every start-up `sync_config_channels` writes
its sections, editions, breaking-news switch and rules, and admins' edits are refused. A
chat dropped from the config keeps what it had and becomes the admins' to change again.

The rules are values from bot/domain/channel_rules.py; the filters are judged outside storage
(bot/domain/filters.py): the fan-out asks a
`DeskJudge` about the chats whose rules have any filter, and only about those.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.channel_rules import (
    BREAKING_TOPIC,
    DEFAULT_FORMAT,
    ChannelSpec,
    DeskFormat,
    DeskPace,
    DeskRules,
    DeskSettings,
)
from storage.editions import set_editions
from storage.models import ChannelRule, Destination, DestinationEdition, Subscription
from storage.topics import sync_config_topics

# What a chat the config declares before the bot is in it is kept as, until the bot joins
# (storage.destinations.ensure_destination reactivates it then, with its real kind).
NOT_JOINED = "declared in the config; the bot is not in the chat yet"


async def filtered_rules(session: AsyncSession) -> dict[int, DeskRules]:
    """Every chat's rules that have a filter, by destination id."""
    rows = await session.scalars(select(ChannelRule).where(ChannelRule.filtered.is_(True)))
    return {row.destination_id: _rules(row) for row in rows}


async def filtered_versions(session: AsyncSession) -> dict[int, int]:
    """Every filtered chat's rules version, by destination id (a narrow read, every tick)."""
    rows = await session.execute(
        select(ChannelRule.destination_id, ChannelRule.version).where(
            ChannelRule.filtered.is_(True)
        )
    )
    return {destination_id: version for destination_id, version in rows}


async def filtered_rules_of(
    session: AsyncSession, destination_ids: Collection[int]
) -> list[DeskRules]:
    """These chats' rules (those that have a filter)."""
    if not destination_ids:
        return []
    rows = await session.scalars(
        select(ChannelRule).where(
            ChannelRule.filtered.is_(True), ChannelRule.destination_id.in_(list(destination_ids))
        )
    )
    return [_rules(row) for row in rows]


@dataclass(frozen=True, slots=True)
class Narrowing:
    """What narrows the stories a chat may be shown: the editors' desk and its filters."""

    approval: bool
    filters: DeskRules | None  # None: no filter


async def narrowed_chats(session: AsyncSession) -> dict[int, Narrowing]:
    """Chat id -> its narrowing, for every chat with approval or a filter (the few rules
    rows that have either; every other chat may be shown any story)."""
    rows = await session.execute(
        select(Destination.chat_id, ChannelRule)
        .join(Destination, Destination.id == ChannelRule.destination_id)
        .where(or_(ChannelRule.approval.is_(True), ChannelRule.filtered.is_(True)))
    )
    return {
        chat_id: Narrowing(bool(row.approval), _rules(row) if row.filtered else None)
        for chat_id, row in rows.all()
    }


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


# A chat's format as columns, for queries that join channel_rules anyway (the outbox's claim
# and its corrections) and read it with the row, through `format_of`.
FORMAT_COLUMNS = (
    ChannelRule.styled,
    ChannelRule.template,
    ChannelRule.show_summary,
    ChannelRule.show_related,
    ChannelRule.show_image,
    ChannelRule.link_preview,
    ChannelRule.hashtags,
    ChannelRule.read_button,
    ChannelRule.signature,
    ChannelRule.utm,
)


def format_of(row: Any) -> DeskFormat:
    """The format of a row that has FORMAT_COLUMNS (a chat without rules, or whose format
    is the default, gets DEFAULT_FORMAT)."""
    return _format(row) if row.styled else DEFAULT_FORMAT


def _format(row: Any) -> DeskFormat:
    return DeskFormat(
        template=row.template,
        summary=row.show_summary,
        related=row.show_related,
        image=row.show_image,
        link_preview=row.link_preview,
        hashtags=row.hashtags,
        read_button=row.read_button,
        signature=row.signature,
        utm=row.utm,
    )


def _settings(row: ChannelRule) -> DeskSettings:
    return DeskSettings(
        filters=_rules(row),
        format=_format(row),
        pace=DeskPace(row.max_posts_per_hour, row.quiet_hours, row.quiet_mode, row.roundup),
        approval=row.approval,
        breaking_topic=row.breaking_topic,
        managed_by_config=row.managed_by_config,
    )


async def settings_of(session: AsyncSession, destination_id: int) -> DeskSettings:
    """A chat's desk settings (the defaults for a chat that has no rules row)."""
    row = await session.get(ChannelRule, destination_id)
    return _settings(row) if row is not None else DeskSettings(DeskRules(destination_id, 0))


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
    sections = [(key, thread) for key, thread in spec.topics if key != BREAKING_TOPIC]
    await sync_config_topics(session, destination.id, sections, now)


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


def _columns(spec: ChannelSpec | DeskSettings) -> dict[str, object]:
    """The channel_rules columns for a chat's settings (the config's or an admin's)."""
    filters = spec.filters if isinstance(spec, DeskSettings) else spec
    lists = {
        "include": list(filters.include),
        "exclude": list(filters.exclude),
        "include_regex": list(filters.include_regex),
        "exclude_regex": list(filters.exclude_regex),
    }
    look, pace = spec.format, spec.pace
    breaking_topic = (
        spec.breaking_topic
        if isinstance(spec, DeskSettings)
        else dict(spec.topics).get(BREAKING_TOPIC)
    )
    return {
        **lists,
        "filtered": any(lists.values()),
        "template": look.template,
        "show_summary": look.summary,
        "show_related": look.related,
        "show_image": look.image,
        "link_preview": look.link_preview,
        "hashtags": look.hashtags,
        "read_button": look.read_button,
        "signature": look.signature,
        "utm": look.utm,
        "styled": look.styled,
        "max_posts_per_hour": pace.max_posts_per_hour,
        "quiet_hours": pace.quiet_hours,
        "quiet_mode": pace.quiet_mode,
        "roundup": pace.roundup,
        "approval": spec.approval,
        "breaking_topic": breaking_topic,
    }


async def write_rules(
    session: AsyncSession,
    destination_id: int,
    spec: ChannelSpec | DeskSettings,
    now: datetime,
    *,
    managed_by: str | None = None,
) -> None:
    """Store a chat's rules (a new version when anything changed); `managed_by`: the
    config's name for the chat, which makes it config-managed."""
    values = _columns(spec)
    row = await session.get(ChannelRule, destination_id)
    if row is None:
        session.add(
            ChannelRule(
                destination_id=destination_id,
                managed_by_config=managed_by is not None,
                config_ref=managed_by,
                version=1,
                updated_at=now,
                **values,
            )
        )
        await session.flush()
        return
    unchanged = (
        all(getattr(row, key) == value for key, value in values.items())
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
            version=ChannelRule.version + 1,
            updated_at=now,
            **values,
        )
    )
