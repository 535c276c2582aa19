"""The outbox: deliveries are queued in the database before anything is sent.

Every state change is a transaction, so a process killed at any moment loses nothing: queued
rows are sent after a restart, and rows caught `sending` are requeued (at most the messages
that were in flight at the kill are repeated).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from bot.domain.channel_rules import (
    DEFAULT_FORMAT,
    DeskFormat,
    DeskJudge,
    DeskPace,
    DeskRules,
    StoryText,
)
from storage.approvals import approval_chat_ids, approval_chats, drop_empty, open_approval
from storage.channel_rules import FORMAT_COLUMNS, filtered_rules, format_of
from storage.destinations import deactivate, has_any_subscription
from storage.models import (
    ChannelRule,
    Delivery,
    Destination,
    DestinationEdition,
    Story,
    Subscription,
)
from storage.states import DeliveryStatus

# Longer than any send takes (PTB's timeouts are seconds), short enough that another
# instance takes over a dead sender's deliveries well within a minute.
DELIVERY_LEASE = timedelta(seconds=30)
STORY_PRIORITY = 10
BREAKING_PRIORITY = 0
# The digest is not urgent: it goes after breaking news and stories.
DIGEST_PRIORITY = 20
FAN_OUT_BATCH = 50
# How long a story waits for the editors' desk by default (Settings.approval_timeout).
APPROVAL_TIMEOUT = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """A claimed delivery with what the sender needs to render and address it."""

    id: int
    destination_id: int
    chat_id: int
    chat_kind: str
    language: str | None
    story_id: int | None
    alert_id: int | None
    attempts: int
    digest_slot: str | None = None
    # The editions the chat reads (filled in for breaking news and digests: they pick by it).
    editions: frozenset[str] = frozenset()
    # Approved at the editors' desk (its approval may carry an edited headline).
    approval_id: int | None = None
    # Held by the chat's pace or quiet hours for its "More news" roundup (see `claim_roundup`).
    roundup: bool = False
    # The chat's pace rule, for story deliveries to chats that have one (else None).
    pace: DeskPace | None = None
    # Set by the sender: a roundup's or a bundle's other rows (delivery id, story id),
    # claimed with it (bot/delivery/bundling.py); and whether it goes without notification
    # sound (quiet hours, mode "silent").
    members: tuple[tuple[int, int], ...] = ()
    silent: bool = False
    # A forum supergroup: the sender picks the story's topic (bot/delivery/topics.py).
    forum: bool = False
    # The chat's format for a story (channel_rules; the standard layout for most chats), and
    # what a "{chat}" in its utm stands for: its @username as the config names it, else its id.
    look: DeskFormat = DEFAULT_FORMAT
    chat_ref: str = ""
    # The story's section (a forum's roundup goes into its topic even when not rendered).
    section: str | None = None
    # When the row was queued (how long the chat waited for it: the lag metrics).
    queued_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    queued: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0

    @property
    def pending(self) -> int:
        return self.queued + self.sending


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(Delivery.__table__)


_COLUMNS = (
    "destination_id",
    "story_id",
    "alert_id",
    "priority",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


_STORY_COLUMNS = (
    "destination_id",
    "story_id",
    "alert_id",
    "group_id",
    *_COLUMNS[3:],
)


async def insert_deliveries(
    session: AsyncSession, columns: Sequence[str], targets: Select[Any]
) -> int:
    """Queue the rows `targets` selects (in `columns` order); rows already queued for the
    same destination and story, alert or digest slot are left as they are."""
    statement = _insert(session).from_select(list(columns), targets).on_conflict_do_nothing()
    result = await session.execute(statement)
    return max(result.rowcount or 0, 0)


async def fan_out_stories(
    session: AsyncSession,
    now: datetime,
    judge: DeskJudge | None = None,
    approval_timeout: timedelta = APPROVAL_TIMEOUT,
) -> dict[int, int]:
    """Queue every new story for each active destination subscribed to its section.

    Chats with desk filters (storage/channel_rules.py) take a story only when `judge` admits it;
    without a judge they take none (a filtered chat never gets what it filters out).
    Chats with approval get theirs `awaiting` the editors' desk (one approvals row per
    story, expiring after `approval_timeout`), after their filters.
    Marks the stories fanned out in the same transaction. Returns {story id: deliveries}.
    """
    query = (
        select(
            Story.id,
            Story.section,
            Story.edition,
            Story.group_id,
            Story.title,
            Story.summary,
            Story.categories,
        )
        # A story whose article page is still to be read for its other versions waits: a
        # reader of two editions must get one version of it, not both.
        .where(Story.fanned_out_at.is_(None), Story.alternates_pending.is_(False))
        .order_by(Story.id)
        .limit(FAN_OUT_BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Several instances may fan out at once: each takes different stories.
        query = query.with_for_update(skip_locked=True, of=Story)
    pending = (await session.execute(query)).all()
    # Read once a batch: a handful of rows per filtered chat, whatever the story count.
    rules = await filtered_rules(session) if pending else {}
    approving = await approval_chat_ids(session) if pending else set()
    # Filtered chats with approval are judged on the way to the desk, not queued directly.
    direct = {key: value for key, value in rules.items() if key not in approving}
    queued: dict[int, int] = {}
    for story_id, section, edition, group_id, title, summary, categories in pending:
        if not section:
            queued[story_id] = 0
            continue
        story = _Fanned(story_id, section, edition, group_id or story_id)
        queued[story_id] = await _queue_story(session, story, now)
        text = StoryText(story_id, title or "", summary or "", tuple(categories or ()))
        if direct:
            queued[story_id] += await _queue_filtered(session, story, text, direct, judge, now)
        if approving:
            desk = _Desk(approving, rules, judge, approval_timeout)
            queued[story_id] += await _queue_for_approval(session, story, text, desk, now)
    if pending:
        await session.execute(
            update(Story).where(Story.id.in_([row[0] for row in pending])).values(fanned_out_at=now)
        )
    return queued


@dataclass(frozen=True, slots=True)
class _Fanned:
    """A story being fanned out: where it goes and which group it belongs to."""

    id: int
    section: str
    edition: str | None
    group_id: int


def _readers_of(story: _Fanned) -> Select[Any]:
    """Active chats subscribed to the story's section that read its edition (their ids)."""
    query = (
        select(Destination.id)
        .join(Subscription, Subscription.destination_id == Destination.id)
        .where(Destination.active.is_(True), Subscription.section == story.section)
    )
    if story.edition is not None:
        reads = select(DestinationEdition.destination_id).where(
            DestinationEdition.edition == story.edition
        )
        query = query.where(Destination.id.in_(reads))
    return query


def _story_row(story: _Fanned, now: datetime) -> tuple[Any, ...]:
    return (
        literal(story.id),
        literal(None),
        literal(story.group_id),
        literal(STORY_PRIORITY),
        literal(DeliveryStatus.QUEUED.value),
        literal(0),
        literal(now, type_=Delivery.next_attempt_at.type),
        literal(now, type_=Delivery.created_at.type),
    )


async def _queue_story(session: AsyncSession, story: _Fanned, now: datetime) -> int:
    """Queue a story for each active chat subscribed to its section that reads its edition
    and has no desk filters nor approval, in one INSERT … SELECT, unless the chat already
    has a version of its group (the unique (destination, group) index makes that a no-op, so
    versions arriving in any order reach a chat once)."""
    filtered = select(ChannelRule.destination_id).where(ChannelRule.filtered.is_(True))
    targets = (
        _readers_of(story)
        .add_columns(*_story_row(story, now))
        .where(Destination.id.not_in(filtered), Destination.id.not_in(approval_chats()))
    )
    statement = _insert(session).from_select(_STORY_COLUMNS, targets).on_conflict_do_nothing()
    result = await session.execute(statement)
    return max(result.rowcount or 0, 0)


async def _queue_filtered(
    session: AsyncSession,
    story: _Fanned,
    text: StoryText,
    rules: dict[int, DeskRules],
    judge: DeskJudge | None,
    now: datetime,
) -> int:
    """Queue a story for the filtered chats among its readers that the judge admits it to."""
    if judge is None:
        return 0
    candidates = await session.scalars(_readers_of(story).where(Destination.id.in_(list(rules))))
    admitted = [
        destination_id
        for destination_id in candidates
        if destination_id in rules and judge.admits(rules[destination_id], text)
    ]
    if not admitted:
        return 0
    statement = (
        _insert(session)
        .values(
            [
                {
                    "destination_id": destination_id,
                    "story_id": story.id,
                    "alert_id": None,
                    "group_id": story.group_id,
                    "priority": STORY_PRIORITY,
                    "status": DeliveryStatus.QUEUED,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for destination_id in admitted
            ]
        )
        .on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    return max(result.rowcount or 0, 0)


@dataclass(frozen=True, slots=True)
class _Desk:
    """What the fan-out knows of the chats with approval in this batch."""

    chats: set[int]
    rules: dict[int, DeskRules]
    judge: DeskJudge | None
    timeout: timedelta

    def admits(self, destination_id: int, text: StoryText) -> bool:
        """A chat without filters takes every story; a filtered one what its filters admit
        (none without a judge, as for filtered chats without approval)."""
        rules = self.rules.get(destination_id)
        if rules is None:
            return True
        return self.judge is not None and self.judge.admits(rules, text)


async def _queue_for_approval(
    session: AsyncSession, story: _Fanned, text: StoryText, desk: _Desk, now: datetime
) -> int:
    """The story's deliveries to the chats with approval among its readers (filters first),
    `awaiting` one approvals row; none when no such chat takes it."""
    candidates = await session.scalars(_readers_of(story).where(Destination.id.in_(desk.chats)))
    admitted = [chat for chat in candidates if desk.admits(chat, text)]
    if not admitted:
        return 0
    approval_id = await open_approval(session, story.id, now, now + desk.timeout)
    rows = [
        {
            "destination_id": destination_id,
            "story_id": story.id,
            "alert_id": None,
            "group_id": story.group_id,
            "priority": STORY_PRIORITY,
            "status": DeliveryStatus.AWAITING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "approval_id": approval_id,
        }
        for destination_id in admitted
    ]
    result = await session.execute(_insert(session).values(rows).on_conflict_do_nothing())
    inserted = max(result.rowcount or 0, 0)
    if not inserted:
        await drop_empty(session, approval_id)
    return inserted


async def queue_alert(
    session: AsyncSession,
    alert_id: int,
    now: datetime,
    sections: Sequence[str] | None = None,
) -> int:
    """Queue breaking news for every active destination that takes it, ahead of stories.

    Readers take it once they subscribe to at least one section; channels and groups take it
    unless their admins switched it off. With `sections` (the CMS API may target them), only
    destinations subscribed to one of those sections take it.
    """
    targets = select(
        Destination.id,
        literal(None),
        literal(alert_id),
        literal(BREAKING_PRIORITY),
        literal(DeliveryStatus.QUEUED.value),
        literal(0),
        literal(now, type_=Delivery.next_attempt_at.type),
        literal(now, type_=Delivery.created_at.type),
    ).where(
        Destination.active.is_(True),
        Destination.breaking.is_(True),
        or_(Destination.kind != "private", has_any_subscription()),
    )
    if sections:
        subscribed = select(Subscription.destination_id).where(Subscription.section.in_(sections))
        targets = targets.where(Destination.id.in_(subscribed))
    statement = _insert(session).from_select(_COLUMNS, targets).on_conflict_do_nothing()
    result = await session.execute(statement)
    return max(result.rowcount or 0, 0)


def _job_query(now: datetime) -> Select[Any]:
    """Due queued deliveries of active chats, with what the sender needs to send each."""
    return (
        select(
            Delivery.id,
            Delivery.destination_id,
            Destination.chat_id,
            Destination.kind,
            Destination.language,
            Delivery.story_id,
            Delivery.alert_id,
            Delivery.attempts,
            Delivery.digest_slot,
            Delivery.approval_id,
            Delivery.roundup,
            *_PACE_COLUMNS,
            Destination.is_forum,
            *FORMAT_COLUMNS,
            ChannelRule.config_ref,
            Story.section,
            Delivery.created_at,
        )
        .join(Destination, Destination.id == Delivery.destination_id)
        # The chat's rules ride along (a primary-key join, no query of its own per batch).
        .outerjoin(ChannelRule, ChannelRule.destination_id == Delivery.destination_id)
        .outerjoin(Story, Story.id == Delivery.story_id)
        .where(
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.next_attempt_at <= now,
            Destination.active.is_(True),
        )
        .order_by(Delivery.priority, Delivery.next_attempt_at, Delivery.id)
    )


def _locked(session: AsyncSession, query: Select[Any]) -> Select[Any]:
    """On PostgreSQL, rows another instance is claiming are skipped, not waited for."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=Delivery)
    return query


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta = DELIVERY_LEASE
) -> list[DeliveryJob]:
    """Take up to `limit` due deliveries (breaking first), first in first out, and mark
    them `sending` (the FIFO order the sender used before fair turns; see `due_turns`).

    The claim is a lease: if the sender dies before recording the result, the row goes
    back to the queue when the lease runs out (`requeue_expired`).
    """
    rows = (await session.execute(_locked(session, _job_query(now).limit(limit)))).all()
    return await claim(session, await _jobs(session, rows), now, lease)


async def due_turns(
    session: AsyncSession, now: datetime, chats: int, per_chat: int
) -> list[DeliveryJob]:
    """The due deliveries of the next `chats` chats in line, not yet claimed: the chats whose
    oldest due delivery waits longest, breaking news first (a fair turn each, whatever the
    size of another chat's backlog); at most `per_chat` rows each, in each chat's order.
    Locked on PostgreSQL until the transaction ends (see `claim`), so two instances never
    take the same row (the leadership lock keeps a second sender from picking at all)."""
    waiting = (
        select(Delivery.destination_id)
        .join(Destination, Destination.id == Delivery.destination_id)
        .where(
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.next_attempt_at <= now,
            Destination.active.is_(True),
        )
        .group_by(Delivery.destination_id)
        .order_by(func.min(Delivery.priority), func.min(Delivery.next_attempt_at))
        .limit(chats)
    )
    next_chats = list((await session.scalars(waiting)).all())
    if not next_chats:
        return []
    # Each chat's first `per_chat` rows (a window per chat: one chat's long backlog never
    # crowds the others out of the batch), then those rows themselves, locked.
    place = (
        func.row_number()
        .over(
            partition_by=Delivery.destination_id,
            order_by=(Delivery.priority, Delivery.next_attempt_at, Delivery.id),
        )
        .label("place")
    )
    ranked = (
        select(Delivery.id, place)
        .where(
            Delivery.destination_id.in_(next_chats),
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.next_attempt_at <= now,
        )
        .subquery()
    )
    first = select(ranked.c.id).where(ranked.c.place <= per_chat)
    query = _job_query(now).where(Delivery.id.in_(first))
    return await _jobs(session, (await session.execute(_locked(session, query))).all())


async def claim(
    session: AsyncSession, jobs: list[DeliveryJob], now: datetime, lease: timedelta = DELIVERY_LEASE
) -> list[DeliveryJob]:
    """Mark the jobs' rows (each job's own and its bundle's) `sending` under one lease;
    returns the jobs with the attempt counted."""
    ids = [delivery_id for job in jobs for delivery_id in (job.id, *(m for m, _ in job.members))]
    if not ids:
        return []
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(
            status=DeliveryStatus.SENDING, attempts=Delivery.attempts + 1, lease_until=now + lease
        )
    )
    return [replace(job, attempts=job.attempts + 1) for job in jobs]


async def _jobs(session: AsyncSession, rows: Sequence[Any]) -> list[DeliveryJob]:
    """Claimable rows as jobs (the editions of chats that get breaking news or a digest)."""
    readers = [row.destination_id for row in rows if row.alert_id is not None or row.digest_slot]
    editions = await _editions_of_many(session, readers) if readers else {}
    return [
        DeliveryJob(
            id=row.id,
            destination_id=row.destination_id,
            chat_id=row.chat_id,
            chat_kind=row.kind,
            language=row.language,
            story_id=row.story_id,
            alert_id=row.alert_id,
            attempts=row.attempts,
            digest_slot=row.digest_slot,
            editions=editions.get(row.destination_id, frozenset()),
            approval_id=row.approval_id,
            roundup=row.roundup,
            pace=_pace(row) if row.story_id is not None else None,
            forum=bool(row.is_forum),
            look=format_of(row) if row.story_id is not None else DEFAULT_FORMAT,
            chat_ref=_chat_ref(row.config_ref, row.chat_id),
            section=row.section,
            queued_at=row.created_at,
        )
        for row in rows
    ]


_PACE_COLUMNS = (ChannelRule.max_posts_per_hour, ChannelRule.quiet_hours, ChannelRule.quiet_mode)


def _pace(row: Any) -> DeskPace | None:
    """The chat's pace from a claimed row, or None when it has no pace rule."""
    if row.max_posts_per_hour is None and row.quiet_hours is None:
        return None
    return DeskPace(row.max_posts_per_hour, row.quiet_hours, row.quiet_mode or "silent")


async def recent_posts(
    session: AsyncSession, destination_ids: Collection[int], since: datetime
) -> dict[int, dict[int, datetime]]:
    """The story posts each chat had since `since`, as {message id: sent at}, in one query.

    A roundup is one post however many stories it lists (its rows share the message id);
    breaking news and digests are not counted (pace never holds them back).
    """
    if not destination_ids:
        return {}
    query = (
        select(Delivery.destination_id, Delivery.message_id, func.min(Delivery.sent_at))
        .where(
            Delivery.destination_id.in_(list(destination_ids)),
            Delivery.status == DeliveryStatus.SENT,
            Delivery.story_id.is_not(None),
            Delivery.message_id.is_not(None),
            Delivery.sent_at > since,
        )
        .group_by(Delivery.destination_id, Delivery.message_id)
    )
    found: dict[int, dict[int, datetime]] = {}
    for destination_id, message_id, sent_at in (await session.execute(query)).all():
        found.setdefault(destination_id, {})[message_id] = sent_at
    return found


async def hold_for_roundup(
    session: AsyncSession, delivery_ids: Sequence[int], at: datetime
) -> None:
    """Keep claimed story deliveries for the chat's "More news" roundup until `at`.

    Back to `queued` (so a crash can lose nothing), the claim's attempt refunded: holding
    is not a failed try.
    """
    if not delivery_ids:
        return
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)))
        .values(
            status=DeliveryStatus.QUEUED,
            roundup=True,
            next_attempt_at=at,
            lease_until=None,
            attempts=Delivery.attempts - 1,
        )
    )


async def claim_roundup(
    session: AsyncSession, destination_id: int, now: datetime, lease: timedelta = DELIVERY_LEASE
) -> list[tuple[int, int]]:
    """Claim every other held row of the chat's roundup (due or not): [(delivery id, story
    id)], oldest first, marked `sending` with one lease, so they go, or come back, together."""
    query = (
        select(Delivery.id, Delivery.story_id)
        .where(
            Delivery.destination_id == destination_id,
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.roundup.is_(True),
            Delivery.story_id.is_not(None),
        )
        .order_by(Delivery.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [(row.id, row.story_id) for row in (await session.execute(query)).all()]
    if rows:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_([delivery_id for delivery_id, _ in rows]))
            .values(
                status=DeliveryStatus.SENDING,
                attempts=Delivery.attempts + 1,
                lease_until=now + lease,
            )
        )
    return rows


def _chat_ref(config_ref: str | None, chat_id: int) -> str:
    """A chat as its utm names it: "@kazinform_ru" when the config names it so, else its id."""
    return config_ref if config_ref and config_ref.startswith("@") else str(chat_id)


async def _editions_of_many(
    session: AsyncSession, destination_ids: Sequence[int]
) -> dict[int, frozenset[str]]:
    """The editions each of these chats reads, in one query for a claimed batch."""
    query = select(DestinationEdition.destination_id, DestinationEdition.edition).where(
        DestinationEdition.destination_id.in_(set(destination_ids))
    )
    found: dict[int, set[str]] = {}
    for destination_id, edition in (await session.execute(query)).all():
        found.setdefault(destination_id, set()).add(edition)
    return {destination_id: frozenset(codes) for destination_id, codes in found.items()}


@dataclass(frozen=True, slots=True)
class AlertReader:
    """A chat an alert was delivered to, with what decides which version it got."""

    language: str | None
    editions: frozenset[str]


async def alert_readers(session: AsyncSession, alert_id: int) -> list[AlertReader]:
    """The chats an alert was delivered to (for the editor's count per edition)."""
    query = (
        select(Delivery.destination_id, Destination.language)
        .join(Destination, Destination.id == Delivery.destination_id)
        .where(Delivery.alert_id == alert_id, Delivery.status == DeliveryStatus.SENT)
    )
    rows = (await session.execute(query)).all()
    editions: dict[int, frozenset[str]] = {}
    ids = [row.destination_id for row in rows]
    # In chunks: a bound parameter per id, and SQLite allows some tens of thousands at most.
    for start in range(0, len(ids), 5000):
        editions.update(await _editions_of_many(session, ids[start : start + 5000]))
    return [
        AlertReader(row.language, editions.get(row.destination_id, frozenset())) for row in rows
    ]


# One sent message: (delivery id, chat id, message id, sent at, content hash).
SentRecord = tuple[int, int, int, datetime, str | None]


async def mark_sent_many(session: AsyncSession, sent: Sequence[SentRecord]) -> None:
    """Record a batch of sent messages in one statement (executemany), not one each."""
    if not sent:
        return
    columns = Delivery.__table__.c

    def value(name: str) -> BindParameter[Any]:
        return bindparam(f"b_{name}", type_=columns[name].type)

    statement = (
        update(Delivery.__table__)
        .where(columns.id == value("id"))
        .values(
            status=DeliveryStatus.SENT,
            chat_id=value("chat_id"),
            message_id=value("message_id"),
            sent_at=value("sent_at"),
            last_error=None,
            lease_until=None,
            content_hash=value("content_hash"),
        )
    )
    await session.execute(
        statement,
        [
            {
                "b_id": delivery_id,
                "b_chat_id": chat_id,
                "b_message_id": message_id,
                "b_sent_at": at,
                "b_content_hash": content_hash,
            }
            for delivery_id, chat_id, message_id, at, content_hash in sent
        ],
    )


async def requeue(
    session: AsyncSession,
    delivery_ids: Sequence[int],
    at: datetime,
    error: str | None = None,
    *,
    refund_attempt: bool = False,
) -> None:
    """Put deliveries back in the queue for `at` (a retry, or a chat not yet free)."""
    if not delivery_ids:
        return
    values: dict[str, object] = {"status": DeliveryStatus.QUEUED, "next_attempt_at": at}
    if error is not None:
        values["last_error"] = error[:2000]
    if refund_attempt:
        values["attempts"] = Delivery.attempts - 1
    await session.execute(update(Delivery).where(Delivery.id.in_(delivery_ids)).values(**values))


async def mark_failed(session: AsyncSession, delivery_id: int, error: str) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=DeliveryStatus.FAILED, last_error=error[:2000])
    )


async def chat_gone(session: AsyncSession, chat_id: int, reason: str, now: datetime) -> int:
    """A chat that blocked or removed the bot: inactive, and its queued deliveries failed."""
    await deactivate(session, chat_id, reason, now)
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.QUEUED,
            Delivery.destination_id.in_(
                select(Destination.id).where(Destination.chat_id == chat_id)
            ),
        )
        .values(status=DeliveryStatus.FAILED, last_error=("chat inactive: " + reason)[:2000])
    )
    return max(result.rowcount or 0, 0)


async def requeue_interrupted(session: AsyncSession, now: datetime) -> int:
    """After a crash or restart with no other instance: every `sending` row is requeued."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.QUEUED, next_attempt_at=now, lease_until=None)
    )
    return max(result.rowcount or 0, 0)


async def requeue_expired(session: AsyncSession, now: datetime) -> int:
    """Deliveries whose sender died mid-send (its lease ran out) go back to the queue."""
    result = await session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.lease_until < now)
        .values(status=DeliveryStatus.QUEUED, next_attempt_at=now, lease_until=None)
    )
    return max(result.rowcount or 0, 0)


async def alert_progress(session: AsyncSession, alert_id: int) -> Progress:
    query = (
        select(Delivery.status, func.count())
        .where(Delivery.alert_id == alert_id)
        .group_by(Delivery.status)
    )
    counts = dict((await session.execute(query)).all())
    return Progress(**{status: int(counts.get(status, 0)) for status in Progress.__slots__})


async def next_due_at(session: AsyncSession) -> datetime | None:
    query = select(func.min(Delivery.next_attempt_at)).where(
        Delivery.status == DeliveryStatus.QUEUED
    )
    return await session.scalar(query)


async def story_for_message(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The story a message the bot sent carries (for reactions and button presses)."""
    query = select(Delivery.story_id).where(
        and_(Delivery.chat_id == chat_id, Delivery.message_id == message_id)
    )
    return await session.scalar(query)


@dataclass(frozen=True, slots=True)
class StaleCopy:
    """A sent message whose story was corrected at the source since it was sent."""

    delivery_id: int
    chat_id: int
    chat_kind: str
    message_id: int
    story_id: int
    language: str | None
    content_hash: str
    # Approved at the desk: a correction keeps the editor's headline for this chat.
    approval_id: int | None = None
    # The chat's format, so the edit looks like the message it corrects (see DeliveryJob).
    look: DeskFormat = DEFAULT_FORMAT
    chat_ref: str = ""


async def stale_copies(session: AsyncSession, since: datetime, limit: int) -> list[StaleCopy]:
    """Sent story messages (sent after `since`) that differ from their story as it is now."""
    query = (
        select(
            Delivery.id,
            Delivery.chat_id,
            Destination.kind,
            Delivery.message_id,
            Delivery.story_id,
            Destination.language,
            Story.content_hash,
            Delivery.approval_id,
            *FORMAT_COLUMNS,
            ChannelRule.config_ref,
        )
        .join(Story, Story.id == Delivery.story_id)
        .join(Destination, Destination.id == Delivery.destination_id)
        .outerjoin(ChannelRule, ChannelRule.destination_id == Delivery.destination_id)
        .where(
            Delivery.status == DeliveryStatus.SENT,
            Delivery.sent_at >= since,
            Delivery.message_id.is_not(None),
            Delivery.content_hash.is_not(None),
            Delivery.content_hash != Story.content_hash,
            Destination.active.is_(True),
        )
        .order_by(Delivery.id)
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [
        StaleCopy(
            *row[:7],
            approval_id=row.approval_id,
            look=format_of(row),
            chat_ref=_chat_ref(row.config_ref, row.chat_id),
        )
        for row in rows
    ]


async def mark_edited(session: AsyncSession, delivery_id: int, content_hash: str) -> None:
    await session.execute(
        update(Delivery).where(Delivery.id == delivery_id).values(content_hash=content_hash)
    )
