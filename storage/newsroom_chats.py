"""The newsroom's own chats: the ones its config declares (`channels`), as the bot knows them.

The console lists them for editors (bot/services/console_chats.py). Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelRule, Destination


@dataclass(frozen=True, slots=True)
class NewsroomChat:
    chat_id: int
    title: str | None
    kind: str  # private, group, supergroup, channel
    active: bool


async def config_chats(session: AsyncSession) -> list[NewsroomChat]:
    """The chats the config declares, joined or not yet (inactive until the bot is in)."""
    query = (
        select(Destination.chat_id, Destination.title, Destination.kind, Destination.active)
        .join(ChannelRule, ChannelRule.destination_id == Destination.id)
        .where(ChannelRule.managed_by_config.is_(True))
        .order_by(Destination.id)
    )
    return [
        NewsroomChat(row.chat_id, row.title, row.kind, bool(row.active))
        for row in (await session.execute(query)).all()
    ]
