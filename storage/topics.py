"""Queries on forum topics: which topic of a forum supergroup each section posts into.

A row of forum_topics is a section's topic in one forum chat: picked by the config
(source "config", written at start-up) or an admin ("admin"), or created by the bot
("created", createForumTopic). Storage decides what happens when a topic is lost (deleted or
closed): the bot recreates it once if it may manage topics; after that, or for a topic the
config names (the config is the source of truth: the bot will not replace its pick), the
section goes to General (`GENERAL`) until someone picks a topic again.

Breaking news goes to channel_rules.breaking_topic (written with the rest of the rules by
storage/channel_rules.py) or General.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelRule, Destination, DestinationEdition, ForumTopic

CONFIG, ADMIN, CREATED = "config", "admin", "created"


@dataclass(frozen=True, slots=True)
class Topic:
    """A section's topic in a forum chat as stored."""

    section: str
    thread_id: int | None
    source: str
    recreated: bool = False
    name: str | None = None

    @property
    def general(self) -> bool:
        """Given up on: lost after its one recreation, or a config pick that is gone."""
        return self.recreated and (self.thread_id is None or self.source == CONFIG)

    @property
    def usable(self) -> int | None:
        """The thread to post into, None for General or for one still to be created."""
        return None if self.general else self.thread_id


@dataclass(frozen=True, slots=True)
class ForumChat:
    """What the sender needs to address a forum chat's stories (one per claimed batch)."""

    destination_id: int
    can_manage_topics: bool
    breaking_topic: int | None
    topics: dict[str, Topic] = field(default_factory=dict)


async def forum_chats(
    session: AsyncSession, destination_ids: Collection[int]
) -> dict[int, ForumChat]:
    """The forum chats among these, with their rights and topics: one query per batch."""
    if not destination_ids:
        return {}
    query = (
        select(
            Destination.id,
            Destination.can_manage_topics,
            ChannelRule.breaking_topic,
            ForumTopic,
        )
        .outerjoin(ChannelRule, ChannelRule.destination_id == Destination.id)
        .outerjoin(ForumTopic, ForumTopic.destination_id == Destination.id)
        .where(Destination.id.in_(list(destination_ids)), Destination.is_forum.is_(True))
    )
    found: dict[int, ForumChat] = {}
    for destination_id, can_manage, breaking_topic, row in (await session.execute(query)).all():
        chat = found.setdefault(
            destination_id, ForumChat(destination_id, bool(can_manage), breaking_topic)
        )
        if row is not None:
            chat.topics[row.section] = _topic(row)
    return found


def _topic(row: ForumTopic) -> Topic:
    return Topic(row.section, row.thread_id, row.source, row.recreated, row.name)


async def topic_of(session: AsyncSession, destination_id: int, section: str) -> Topic | None:
    row = await session.get(ForumTopic, (destination_id, section))
    return _topic(row) if row is not None else None


async def topics_of(session: AsyncSession, destination_id: int) -> dict[str, Topic]:
    """A chat's topics by section (what the admin screens show)."""
    rows = await session.scalars(
        select(ForumTopic).where(ForumTopic.destination_id == destination_id)
    )
    return {row.section: _topic(row) for row in rows}


async def pick_topic(
    session: AsyncSession,
    destination_id: int,
    section: str,
    thread_id: int | None,
    now: datetime,
) -> None:
    """An admin's pick of a section's topic (None: back to a topic the bot creates). A new
    pick starts afresh: the bot may recreate it once more if it is lost."""
    await _put(session, destination_id, section, thread_id, ADMIN, now)


async def _put(
    session: AsyncSession,
    destination_id: int,
    section: str,
    thread_id: int | None,
    source: str,
    now: datetime,
    *,
    name: str | None = None,
    recreated: bool = False,
) -> None:
    row = await session.get(ForumTopic, (destination_id, section))
    if thread_id is None and not recreated:
        if row is not None:
            await session.delete(row)
            await session.flush()
        return
    if row is None:
        session.add(
            ForumTopic(
                destination_id=destination_id,
                section=section,
                thread_id=thread_id,
                name=name,
                source=source,
                recreated=recreated,
                updated_at=now,
            )
        )
    else:
        row.thread_id, row.name, row.source = thread_id, name, source
        row.recreated, row.updated_at = recreated, now
    await session.flush()


async def sync_config_topics(
    session: AsyncSession,
    destination_id: int,
    topics: Sequence[tuple[str, int]],
    now: datetime,
) -> None:
    """The config's picks for a chat (sections only: breaking news' is a rule). A pick the
    config still names unchanged is left as it is, so a topic found gone stays General until
    the config names another; picks the config no longer names go back to the bot's."""
    picks = dict(topics)
    rows = {
        row.section: row
        for row in await session.scalars(
            select(ForumTopic).where(ForumTopic.destination_id == destination_id)
        )
    }
    for section, thread_id in picks.items():
        row = rows.get(section)
        if row is not None and row.source == CONFIG and row.thread_id == thread_id:
            continue
        await _put(session, destination_id, section, thread_id, CONFIG, now)
    dropped = [s for s, row in rows.items() if row.source == CONFIG and s not in picks]
    if dropped:
        await session.execute(
            delete(ForumTopic).where(
                ForumTopic.destination_id == destination_id, ForumTopic.section.in_(dropped)
            )
        )


async def record_created(
    session: AsyncSession,
    destination_id: int,
    section: str,
    thread_id: int,
    name: str,
    now: datetime,
    *,
    replacing: int | None = None,
) -> None:
    """A topic the bot created for a section (`replacing`: the lost one it recreates)."""
    await _put(
        session,
        destination_id,
        section,
        thread_id,
        CREATED,
        now,
        name=name,
        recreated=replacing is not None,
    )


@dataclass(frozen=True, slots=True)
class LostTopic:
    """What storage decided about a lost topic: recreate it, or post to `thread_id` (a
    topic someone else set meanwhile; None: General), telling the admins when `notify`."""

    recreate: bool
    thread_id: int | None = None
    notify: bool = False


async def topic_lost(
    session: AsyncSession, destination_id: int, section: str, thread_id: int, now: datetime
) -> LostTopic:
    """Telegram says `thread_id` (the section's topic) is deleted or closed."""
    row = await session.get(ForumTopic, (destination_id, section))
    if row is None or row.thread_id != thread_id:
        # Replaced meanwhile (another story of the section got there first, or an admin).
        current = _topic(row) if row is not None else None
        return LostTopic(False, current.usable if current else None)
    if row.recreated and row.source == CONFIG:
        return LostTopic(False)
    can_manage = await session.scalar(
        select(Destination.can_manage_topics).where(Destination.id == destination_id)
    )
    if can_manage and not row.recreated and row.source != CONFIG:
        return LostTopic(True)
    await give_up(session, destination_id, section, now)
    return LostTopic(False, notify=True)


async def give_up(session: AsyncSession, destination_id: int, section: str, now: datetime) -> None:
    """The section's stories go to General from now on (until a new pick). A config pick
    keeps its thread id, so the config's unchanged pick is not tried again at start-up."""
    row = await session.get(ForumTopic, (destination_id, section))
    if row is None:
        session.add(
            ForumTopic(
                destination_id=destination_id,
                section=section,
                thread_id=None,
                source=CREATED,
                recreated=True,
                updated_at=now,
            )
        )
    else:
        if row.source != CONFIG:
            row.thread_id = None
        row.recreated, row.updated_at = True, now
    await session.flush()


async def set_forum(
    session: AsyncSession,
    chat_id: int,
    *,
    is_forum: bool | None = None,
    can_manage_topics: bool | None = None,
) -> None:
    """What Telegram says about a chat's forum (getChat, my_chat_member, a refusal)."""
    values: dict[str, bool] = {}
    if is_forum is not None:
        values["is_forum"] = is_forum
    if can_manage_topics is not None:
        values["can_manage_topics"] = can_manage_topics
    if values:
        await session.execute(
            update(Destination).where(Destination.chat_id == chat_id).values(**values)
        )


async def naming_language(session: AsyncSession, destination_id: int) -> str | None:
    """The language a chat's new topics are named in: its edition when it reads one, else
    its interface language (None: the newsroom's)."""
    editions = (
        await session.scalars(
            select(DestinationEdition.edition).where(
                DestinationEdition.destination_id == destination_id
            )
        )
    ).all()
    if len(editions) == 1:
        return editions[0]
    return await session.scalar(
        select(Destination.language).where(Destination.id == destination_id)
    )


@dataclass(frozen=True, slots=True)
class ForumAdmin:
    """Whom to tell about a forum's lost topic: the admin who added the bot, in their private
    chat with it (`chat_id` None when the bot has none), in the language they read."""

    chat_id: int | None
    language: str | None
    title: str | None


async def forum_admin(session: AsyncSession, destination_id: int) -> ForumAdmin:
    chat = await session.get(Destination, destination_id)
    if chat is None or chat.added_by is None:
        return ForumAdmin(None, None, chat.title if chat else None)
    private = await session.scalar(
        select(Destination).where(
            Destination.chat_id == chat.added_by,
            Destination.kind == "private",
            Destination.active.is_(True),
        )
    )
    if private is None:
        return ForumAdmin(None, None, chat.title)
    return ForumAdmin(private.chat_id, private.language, chat.title)
