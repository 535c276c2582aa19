"""Config sync: the config's sections, editions, feeds and channels mirrored into storage at
start-up, and config chats named by "@username" resolved once the bot is up.

The config file stays the source of truth for what it names; storage only writes what it is
handed (storage/sections.py, storage/editions.py, storage/feeds.py, storage/channel_rules.py).
"""

from __future__ import annotations

import logging
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, Chat
from telegram.error import TelegramError

from bot.config import ChannelConfig, Settings
from bot.domain import channel_rules
from bot.entrypoints.telegram.handlers.channels import can_manage_topics
from storage import channel_rules as rule_queries
from storage import editions as edition_queries
from storage import feeds as feed_queries
from storage import sections as section_queries
from storage import topics as topic_queries
from storage.db import Database
from storage.migrate import upgrade_on

log = logging.getLogger(__name__)


def feed_specs(settings: Settings) -> list[feed_queries.FeedSpec]:
    """Every configured feed, news and most-read lists alike: both are polled on the same
    path; the poller keeps a `role = "popular"` feed's order instead of its items."""
    return [
        feed_queries.FeedSpec(
            url=feed.url,
            section=feed.section,
            language=feed.language,
            poll_interval=feed.poll_interval or settings.poll_interval,
            role=feed.role,
        )
        for feed in settings.feeds
    ]


def section_specs(settings: Settings) -> list[section_queries.SectionSpec]:
    """The configured sections with their titles per language (a plain title is English)."""
    return [
        section_queries.SectionSpec(
            slug=section.slug,
            titles={"en": section.title} if isinstance(section.title, str) else section.title,
        )
        for section in settings.sections
    ]


def channel_spec(channel: ChannelConfig, chat_id: int) -> channel_rules.ChannelSpec:
    """A config-declared chat as storage writes it (its id resolved)."""
    return channel_rules.ChannelSpec(
        ref=channel.ref,
        chat_id=chat_id,
        sections=tuple(channel.sections),
        editions=tuple(channel.editions),
        breaking=channel.breaking,
        include=tuple(channel.include),
        exclude=tuple(channel.exclude),
        include_regex=tuple(channel.include_regex),
        exclude_regex=tuple(channel.exclude_regex),
        format=_from_config(channel_rules.DeskFormat, channel),
        pace=_from_config(channel_rules.DeskPace, channel),
        approval=channel.approval,
        topics=tuple(channel.topics.items()),
    )


Value = TypeVar("Value")


def _from_config(kind: type[Value], channel: ChannelConfig) -> Value:
    """A rules value (DeskFormat, DeskPace) from the config keys of the same names: the
    config declares each field once with its validation, the domain type once with its
    default, and nothing repeats the list."""
    values: dict[str, Any] = {f.name: getattr(channel, f.name) for f in fields(kind)}
    return kind(**values)


async def sync_config_channels(
    settings: Settings, session: AsyncSession, resolved: dict[str, int] | None = None
) -> None:
    """Write the config's chats: numeric ids at once, "@username" ones once `resolved`
    (getChat, when the bot is up); every chat the config names stays config-managed."""
    resolved = resolved or {}
    specs = [
        channel_spec(
            channel, channel.chat if isinstance(channel.chat, int) else resolved[channel.ref]
        )
        for channel in settings.channels
        if isinstance(channel.chat, int) or channel.ref in resolved
    ]
    await rule_queries.sync_config_channels(
        session,
        specs,
        [channel.ref for channel in settings.channels],
        settings.default_edition,
        datetime.now(UTC),
    )


async def resolve_config_usernames(settings: Settings, database: Database, bot: Bot) -> None:
    """Config chats named by @username: their ids from Telegram (getChat), then written.
    One that Telegram does not know stays pending (logged) until the next start."""
    resolved: dict[str, int] = {}
    forums: dict[int, tuple[bool, bool | None]] = {}
    for channel in settings_usernames(settings):
        try:
            chat = await bot.get_chat(channel)
        except TelegramError as exc:
            log.warning("config channel %s not resolved: %s", channel, exc)
            continue
        resolved[channel] = chat.id
        forums[chat.id] = (bool(chat.is_forum), await _manages_topics(bot, chat))
    if resolved:
        async with database.writing(), database.sessions.begin() as session:
            await sync_config_channels(settings, session, resolved)
            for chat_id, (is_forum, can_manage) in forums.items():
                await topic_queries.set_forum(
                    session, chat_id, is_forum=is_forum, can_manage_topics=can_manage
                )


async def _manages_topics(bot: Bot, chat: Chat) -> bool | None:
    """For a forum: may the bot create its topics (its own membership)? None: not known."""
    if not chat.is_forum:
        return None
    try:
        member = await bot.get_chat_member(chat.id, bot.id)
    except TelegramError as exc:
        log.warning("forum %s: the bot's rights not read: %s", chat.id, exc)
        return None
    return can_manage_topics(member)


def settings_usernames(settings: Settings) -> list[str]:
    return [channel.ref for channel in settings.channels if isinstance(channel.chat, str)]


async def prepare_database(settings: Settings, database: Database) -> None:
    """Apply migrations, then mirror the config's sections and feeds into the database.

    One transaction under a start-up lock, so instances starting together on PostgreSQL
    neither migrate twice nor insert the same feed twice.
    """
    async with database.writing(), database.engine.begin() as connection:
        await upgrade_on(connection)
        session = AsyncSession(bind=connection, expire_on_commit=False)
        await section_queries.sync_sections(session, section_specs(settings))
        await edition_queries.sync_editions(session, settings.editions, settings.default_edition)
        await feed_queries.sync_feeds(session, feed_specs(settings), datetime.now(UTC))
        await sync_config_channels(settings, session)
        await session.flush()
