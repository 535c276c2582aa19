"""Queries on destinations (chats newsbot sends to) and their section subscriptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Destination, DestinationEdition, Subscription


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """What Telegram told us about a chat."""

    chat_id: int
    kind: str
    title: str | None = None
    language: str | None = None
    added_by: int | None = None
    # The editions a new chat starts reading (at least one; ignored for a known chat).
    editions: tuple[str, ...] = ()
    # A forum supergroup, and whether the bot may manage its topics (None: not told).
    is_forum: bool | None = None
    can_manage_topics: bool | None = None


async def get_by_chat(session: AsyncSession, chat_id: int) -> Destination | None:
    return await session.scalar(select(Destination).where(Destination.chat_id == chat_id))


async def ensure_destination(
    session: AsyncSession, chat: ChatInfo, now: datetime, *, reactivate: bool = True
) -> Destination:
    """The destination for this chat, created on first contact; reactivated if it returns.

    Readers take breaking news only once subscribed (decided at fan-out time); channels and
    groups take it from the moment they add the bot.
    """
    destination = await get_by_chat(session, chat.chat_id)
    if destination is None:
        destination = Destination(
            chat_id=chat.chat_id,
            kind=chat.kind,
            title=chat.title,
            language=chat.language,
            active=True,
            breaking=True,
            added_by=chat.added_by,
            is_forum=bool(chat.is_forum),
            can_manage_topics=bool(chat.can_manage_topics),
            created_at=now,
            updated_at=now,
        )
        session.add(destination)
        await session.flush()
        if chat.editions:
            await session.execute(
                insert(DestinationEdition),
                [{"destination_id": destination.id, "edition": e} for e in chat.editions],
            )
        return destination
    if chat.title and destination.title != chat.title:
        destination.title = chat.title
    if reactivate and not destination.active:
        destination.active, destination.inactive_reason = True, None
        destination.updated_at = now
    if chat.added_by is not None:
        destination.added_by = chat.added_by
    if chat.is_forum is not None:
        destination.is_forum = chat.is_forum
    if chat.can_manage_topics is not None:
        destination.can_manage_topics = chat.can_manage_topics
    return destination


async def deactivate(session: AsyncSession, chat_id: int, reason: str, now: datetime) -> None:
    """Stop sending to a chat (blocked, kicked, demoted); the row and its history stay."""
    await session.execute(
        update(Destination)
        .where(Destination.chat_id == chat_id)
        .values(active=False, inactive_reason=reason[:255], updated_at=now)
    )


async def move_chat(
    session: AsyncSession, old_chat_id: int, new_chat_id: int, now: datetime
) -> None:
    """A group became a supergroup (Telegram's migrate_to_chat_id): keep everything, new id."""
    clash = await get_by_chat(session, new_chat_id)
    if clash is not None:
        # The new id already registered separately: keep the newer row, retire the old one.
        await deactivate(session, old_chat_id, f"migrated to {new_chat_id}", now)
        return
    await session.execute(
        update(Destination)
        .where(Destination.chat_id == old_chat_id)
        .values(chat_id=new_chat_id, kind="supergroup", updated_at=now)
    )


async def set_language(session: AsyncSession, destination_id: int, language: str) -> None:
    await session.execute(
        update(Destination).where(Destination.id == destination_id).values(language=language)
    )


async def set_breaking(session: AsyncSession, destination_id: int, enabled: bool) -> None:
    await session.execute(
        update(Destination).where(Destination.id == destination_id).values(breaking=enabled)
    )


async def takes_breaking(session: AsyncSession, destination_id: int) -> bool:
    """Whether the chat takes breaking news (its switch; False for no such chat)."""
    query = select(Destination.breaking).where(Destination.id == destination_id)
    return bool(await session.scalar(query))


async def sections_of(session: AsyncSession, destination_id: int) -> set[str]:
    query = select(Subscription.section).where(Subscription.destination_id == destination_id)
    return set((await session.scalars(query)).all())


async def subscribe(
    session: AsyncSession, destination_id: int, section: str, now: datetime
) -> bool:
    """Subscribe; True if it is new (idempotent: a double press is harmless)."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = (
        module.insert(Subscription)
        .values(destination_id=destination_id, section=section, created_at=now)
        .on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    return bool(result.rowcount)


async def unsubscribe(session: AsyncSession, destination_id: int, section: str) -> bool:
    result = await session.execute(
        delete(Subscription).where(
            Subscription.destination_id == destination_id, Subscription.section == section
        )
    )
    return bool(result.rowcount)


async def candidate_channels(
    session: AsyncSession, user_id: int, limit: int = 30
) -> list[Destination]:
    """Active channels and groups a user may administer: the ones they added first.

    Only candidates: the caller verifies each with Telegram's getChatMember before showing it,
    and the limit bounds how many calls one /channels costs.
    """
    query = (
        select(Destination)
        .where(Destination.kind != "private", Destination.active.is_(True))
        .order_by(case((Destination.added_by == user_id, 0), else_=1), Destination.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def private_chats_of(
    session: AsyncSession, user_ids: Sequence[int], limit: int
) -> list[tuple[int, str | None]]:
    """(chat id, language) of up to `limit` of these users' private chats with the bot that
    it may write to (registered by any command they sent there, and not blocked)."""
    if not user_ids:
        return []
    query = (
        select(Destination.chat_id, Destination.language)
        .where(
            Destination.chat_id.in_(list(user_ids)),
            Destination.kind == "private",
            Destination.active.is_(True),
        )
        .order_by(Destination.id)
        .limit(limit)
    )
    return [(chat_id, language) for chat_id, language in (await session.execute(query)).all()]


def has_any_subscription():  # type: ignore[no-untyped-def]
    return exists().where(Subscription.destination_id == Destination.id)
