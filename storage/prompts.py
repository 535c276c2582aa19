"""Queries on desk_prompts: the replies the bot waits for, keyed by the message it asked with.

A reply is routed by the message it answers (chat_id, message_id of `reply_to_message`), so
each handler looks the row up and acts only on its own `purpose` ("setting": the admin
screens; "headline": the editors' desk). The row is the whole state of a question: a
restart or another instance still knows what was asked, of whom, and the value waiting for
Confirm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DeskPrompt, Destination

# desk_prompts.purpose of an admin's answer to a chat's setting (the editors' is "headline").
SETTING_PROMPT = "setting"


@dataclass(frozen=True, slots=True)
class SettingPrompt:
    """An admin's open question about one setting of one chat."""

    chat_id: int  # the admin's private chat, where the question was asked
    message_id: int
    user_id: int
    destination_id: int
    target_chat_id: int  # the channel or group whose setting it is
    setting: str
    value: str | None  # the answer waiting for Confirm (JSON), None until answered


async def prompt_for(session: AsyncSession, chat_id: int, message_id: int) -> DeskPrompt | None:
    """The prompt a reply answers: the desk_prompts row of the message replied to.

    Shared routing: a reply is for whoever asked (purpose "headline": the desk's new
    headline, storage/approvals.py; "setting": the admin screens), and a reply to anything
    else is nobody's.
    """
    return await session.get(DeskPrompt, (chat_id, message_id))


async def setting_prompt(
    session: AsyncSession, chat_id: int, message_id: int
) -> SettingPrompt | None:
    """The "setting" prompt asked with that message, with its chat's Telegram id."""
    row = (
        await session.execute(
            select(DeskPrompt, Destination.chat_id)
            .join(Destination, Destination.id == DeskPrompt.destination_id)
            .where(
                DeskPrompt.chat_id == chat_id,
                DeskPrompt.message_id == message_id,
                DeskPrompt.purpose == SETTING_PROMPT,
            )
        )
    ).first()
    if row is None or row[0].setting is None:
        return None
    prompt, target = row
    return SettingPrompt(
        chat_id=prompt.chat_id,
        message_id=prompt.message_id,
        user_id=prompt.user_id,
        destination_id=prompt.destination_id,
        target_chat_id=target,
        setting=prompt.setting,
        value=prompt.value,
    )


async def add_setting_prompt(
    session: AsyncSession,
    *,
    chat_id: int,
    message_id: int,
    user_id: int,
    destination_id: int,
    setting: str,
    now: datetime,
) -> None:
    """A new question; the same person's earlier open question about the same setting of
    the same chat is dropped (its answer would be stale: the new question supersedes it)."""
    await session.execute(
        delete(DeskPrompt).where(
            DeskPrompt.chat_id == chat_id,
            DeskPrompt.purpose == SETTING_PROMPT,
            DeskPrompt.destination_id == destination_id,
            DeskPrompt.setting == setting,
        )
    )
    session.add(
        DeskPrompt(
            chat_id=chat_id,
            message_id=message_id,
            user_id=user_id,
            purpose=SETTING_PROMPT,
            destination_id=destination_id,
            setting=setting,
            created_at=now,
        )
    )
    await session.flush()


async def set_value(session: AsyncSession, chat_id: int, message_id: int, value: str) -> None:
    """The answer to the prompt, kept until Confirm (a later answer replaces it)."""
    await session.execute(
        update(DeskPrompt)
        .where(DeskPrompt.chat_id == chat_id, DeskPrompt.message_id == message_id)
        .values(value=value)
    )


async def drop_prompt(session: AsyncSession, chat_id: int, message_id: int) -> bool:
    """Forget the prompt; False when it was gone already (a second Confirm, another instance)."""
    result = await session.execute(
        delete(DeskPrompt).where(DeskPrompt.chat_id == chat_id, DeskPrompt.message_id == message_id)
    )
    return bool(result.rowcount)
