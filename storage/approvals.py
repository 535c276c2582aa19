"""Queries on the editors' desk: stories waiting for approval, their decisions, and the
replies the bot waits for (desk_prompts).

An approval is one row per story (approvals.story_id is unique) for every chat with
`channel_rules.approval` that takes the story; those chats' deliveries wait `awaiting` with
its `approval_id` until a decision moves them all at once: approved -> queued, skipped or
expired -> skipped. Each decision is an UPDATE … WHERE status = 'pending', so two presses at
once (two editors, a double tap, two instances) decide once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Approval, ChannelRule, Delivery, DeskPrompt, Destination, Story
from storage.states import ApprovalStatus, DeliveryStatus

# desk_prompts.purpose of an editor's new headline (the admin screens' is "setting").
HEADLINE_PROMPT = "headline"


@dataclass(frozen=True, slots=True)
class Waiting:
    """An approval with what its preview needs: the story and where it would go."""

    id: int
    story_id: int
    status: ApprovalStatus
    headline: str | None
    desk_chat_id: int | None
    desk_message_id: int | None
    expires_at: datetime
    decided_by: int | None
    decided_by_name: str | None
    decided_at: datetime | None
    # When the story started waiting (the fan-out opened its approval).
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision as `newsbot stats` lists it."""

    approval_id: int
    status: ApprovalStatus
    title: str
    headline: str | None
    decided_by: int | None
    decided_by_name: str | None
    decided_at: datetime | None


def _waiting(row: Approval) -> Waiting:
    return Waiting(
        id=row.id,
        story_id=row.story_id,
        status=row.status,
        headline=row.headline,
        desk_chat_id=row.desk_chat_id,
        desk_message_id=row.desk_message_id,
        expires_at=row.expires_at,
        decided_by=row.decided_by,
        decided_by_name=row.decided_by_name,
        decided_at=row.decided_at,
        created_at=row.created_at,
    )


def approval_chats() -> Select[tuple[int]]:
    """The destination ids whose stories wait for the desk (a subquery for the fan-out)."""
    return select(ChannelRule.destination_id).where(ChannelRule.approval.is_(True))


async def approval_chat_ids(session: AsyncSession) -> set[int]:
    return set((await session.scalars(approval_chats())).all())


async def open_approval(
    session: AsyncSession, story_id: int, now: datetime, expires_at: datetime
) -> int:
    """The story's approval row (pending), created if it has none yet; its id."""
    found = await session.scalar(select(Approval.id).where(Approval.story_id == story_id))
    if found is not None:
        return found
    result = await session.execute(
        insert(Approval)
        .values(
            story_id=story_id,
            status=ApprovalStatus.PENDING,
            expires_at=expires_at,
            created_at=now,
        )
        .returning(Approval.id)
    )
    return int(result.scalar_one())


async def drop_empty(session: AsyncSession, approval_id: int) -> None:
    """An approval none of whose chats took the story (each already had a version of its
    group) is removed: nothing for the editors to decide."""
    has = await session.scalar(select(Delivery.id).where(Delivery.approval_id == approval_id))
    if has is None:
        await session.execute(delete(Approval).where(Approval.id == approval_id))


async def get(session: AsyncSession, approval_id: int) -> Waiting | None:
    row = await session.get(Approval, approval_id)
    return _waiting(row) if row is not None else None


async def unposted(session: AsyncSession, limit: int = 20) -> list[Waiting]:
    """Pending approvals whose preview is not in the desk chat yet (oldest first)."""
    rows = await session.scalars(
        select(Approval)
        .where(Approval.status == ApprovalStatus.PENDING, Approval.desk_message_id.is_(None))
        .order_by(Approval.id)
        .limit(limit)
    )
    return [_waiting(row) for row in rows]


async def pending(session: AsyncSession, limit: int) -> list[Waiting]:
    """Every pending approval, posted to the desk or not (oldest first): the console's queue."""
    rows = await session.scalars(
        select(Approval)
        .where(Approval.status == ApprovalStatus.PENDING)
        .order_by(Approval.id)
        .limit(limit)
    )
    return [_waiting(row) for row in rows]


async def record_post(
    session: AsyncSession, approval_id: int, chat_id: int, message_id: int
) -> None:
    await session.execute(
        update(Approval)
        .where(Approval.id == approval_id)
        .values(desk_chat_id=chat_id, desk_message_id=message_id)
    )


@dataclass(frozen=True, slots=True)
class ChatName:
    """A chat a story would go to, as the preview names it."""

    title: str | None
    ref: str | None  # the config's name for it ("@username"), if any
    chat_id: int


async def chats_of(
    session: AsyncSession, approval_id: int, limit: int
) -> tuple[list[ChatName], int]:
    """Up to `limit` of the chats an approval's deliveries go to, and how many there are."""
    base = (
        select(Destination.title, ChannelRule.config_ref, Destination.chat_id)
        .join(Delivery, Delivery.destination_id == Destination.id)
        .outerjoin(ChannelRule, ChannelRule.destination_id == Destination.id)
        .where(Delivery.approval_id == approval_id)
    )
    rows = (await session.execute(base.order_by(Destination.id).limit(limit))).all()
    total = await session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.approval_id == approval_id)
    )
    return [ChatName(*row) for row in rows], int(total or 0)


async def decide(
    session: AsyncSession,
    approval_id: int,
    status: ApprovalStatus,
    *,
    user_id: int | None,
    user_name: str | None,
    now: datetime,
) -> bool:
    """Record a decision on a pending approval and move its deliveries: approved ->
    queued (due now), skipped or expired -> skipped. False when it was decided already."""
    result = await session.execute(
        update(Approval)
        .where(Approval.id == approval_id, Approval.status == ApprovalStatus.PENDING)
        .values(status=status, decided_by=user_id, decided_by_name=user_name, decided_at=now)
    )
    if not result.rowcount:
        return False
    waiting = (Delivery.approval_id == approval_id, Delivery.status == DeliveryStatus.AWAITING)
    if status is ApprovalStatus.APPROVED:
        values: dict[str, object] = {"status": DeliveryStatus.QUEUED, "next_attempt_at": now}
    else:
        values = {"status": DeliveryStatus.SKIPPED, "last_error": f"approval {status.value}"}
    await session.execute(update(Delivery).where(*waiting).values(**values))
    return True


async def not_approved(session: AsyncSession, story_ids: Sequence[int]) -> set[int]:
    """Those of these stories the desk has not approved (still waiting, skipped, expired):
    a chat with approval was never shown them, so none is linked there either."""
    if not story_ids:
        return set()
    rows = await session.scalars(
        select(Approval.story_id).where(
            Approval.story_id.in_(list(set(story_ids))),
            Approval.status != ApprovalStatus.APPROVED,
        )
    )
    return set(rows.all())


async def due_to_expire(session: AsyncSession, now: datetime, limit: int = 100) -> list[int]:
    """Pending approvals whose time ran out."""
    rows = await session.scalars(
        select(Approval.id)
        .where(Approval.status == ApprovalStatus.PENDING, Approval.expires_at <= now)
        .order_by(Approval.id)
        .limit(limit)
    )
    return list(rows)


async def set_headline(session: AsyncSession, approval_id: int, headline: str) -> bool:
    """The editor's headline for a pending approval's chats; False when decided already."""
    result = await session.execute(
        update(Approval)
        .where(Approval.id == approval_id, Approval.status == ApprovalStatus.PENDING)
        .values(headline=headline)
    )
    return bool(result.rowcount)


async def headlines(session: AsyncSession, approval_ids: Sequence[int]) -> dict[int, str]:
    """The edited headlines among these approvals (the rest keep the story's own)."""
    if not approval_ids:
        return {}
    rows = await session.execute(
        select(Approval.id, Approval.headline).where(
            Approval.id.in_(list(set(approval_ids))), Approval.headline.is_not(None)
        )
    )
    return {approval_id: headline for approval_id, headline in rows.all() if headline}


async def headlines_of_deliveries(
    session: AsyncSession, delivery_ids: Sequence[int]
) -> dict[int, str]:
    """The edited headlines the desk approved for these deliveries' stories: story id ->
    headline (a roundup lists an approved story under the headline its editor gave it)."""
    if not delivery_ids:
        return {}
    rows = await session.execute(
        select(Delivery.story_id, Approval.headline)
        .join(Approval, Approval.id == Delivery.approval_id)
        .where(Delivery.id.in_(list(delivery_ids)), Approval.headline.is_not(None))
    )
    return {story_id: headline for story_id, headline in rows.all() if story_id and headline}


async def counts(session: AsyncSession) -> dict[str, int]:
    """Approvals per status (for `newsbot stats`)."""
    rows = await session.execute(select(Approval.status, func.count()).group_by(Approval.status))
    return {str(status): int(count) for status, count in rows.all()}


async def recent_decisions(session: AsyncSession, limit: int = 10) -> list[Decision]:
    """The latest decisions (approved, skipped, expired), newest first."""
    rows = await session.execute(
        select(
            Approval.id,
            Approval.status,
            Story.title,
            Approval.headline,
            Approval.decided_by,
            Approval.decided_by_name,
            Approval.decided_at,
        )
        .join(Story, Story.id == Approval.story_id)
        .where(Approval.decided_at.is_not(None))
        .order_by(Approval.decided_at.desc(), Approval.id.desc())
        .limit(limit)
    )
    return [Decision(*row) for row in rows.all()]


# ---- desk_prompts: replies the bot waits for ----------------------------------------------


async def add_prompt(
    session: AsyncSession,
    chat_id: int,
    message_id: int,
    *,
    user_id: int,
    purpose: str,
    now: datetime,
    approval_id: int | None = None,
) -> None:
    session.add(
        DeskPrompt(
            chat_id=chat_id,
            message_id=message_id,
            user_id=user_id,
            purpose=purpose,
            approval_id=approval_id,
            created_at=now,
        )
    )
    await session.flush()


async def drop_prompt(session: AsyncSession, chat_id: int, message_id: int) -> None:
    await session.execute(
        delete(DeskPrompt).where(DeskPrompt.chat_id == chat_id, DeskPrompt.message_id == message_id)
    )
