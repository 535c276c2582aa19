"""Draining the outbox into Telegram, paced, with every Telegram answer handled.

Stories, breaking news and daily digests all go this way, in fair turns: each chat with due
work gets one message per turn, oldest waiting chat first, breaking news before anything
else; a chat with several stories waiting gets them in one message (bot/domain/bundling.py).
Breaking news alone may use Telegram's paid broadcasts, within the day's budget
(bot/delivery/paid.py); stories always go at the free pace. What Telegram's refusal does to
a delivery (wait out a 429, mark a gone chat inactive, follow a migration, fail with the
reason, retry with back-off) is bot/delivery/refusals.py's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.error import TelegramError

from bot.delivery.compose import Composer
from bot.delivery.outcomes import Verdict, outcome_of
from bot.delivery.pacer import InFlightLimit, Pacer
from bot.delivery.paid import PaidBudget
from bot.delivery.refusals import Refusals, SendStats
from bot.delivery.template_notices import TemplateNotices
from bot.delivery.topics import ForumTopics
from bot.domain.bundling import MAX_BUNDLE, rows_of, turns
from bot.domain.outbox import DeliveryJob
from bot.domain.pace import WINDOW, plan
from bot.outbound.message import OutgoingMessage
from bot.outbound.retry import NO_RETRY
from bot.outbound.send import Sent, deliver
from storage import channel_rules as desk_queries
from storage import delivery_results as outcome_queries
from storage import digests as digest_queries
from storage import fan_out as fan_out_queries
from storage import outbox as outbox_queries
from storage import stats as stats_queries
from storage.db import Database
from storage.delivery_results import SentRecord

log = logging.getLogger(__name__)

# Sends recorded per write; a crash can repeat at most these plus the ones in flight
# (paid broadcasts: a tenth of a second's worth, see Sender).
SENT_BATCH = 20
# Deliveries claimed per transaction: about a quarter second of sending (at least 32),
# claimed while no more than a second of sending is booked ahead in the pacer.
CLAIM_SECONDS = 0.25
BOOK_AHEAD_SECONDS = 1.0
LOOK_AGAIN_SECONDS = 0.01
# Why a story over a capped chat's pace was not sent (the chat takes no roundups): the trace
# and the chat's history show it.
OVER_THE_CAP = "over the chat's pace (max_posts_per_hour) and it takes no roundups"


class Sender:
    """Claims due deliveries in batches and sends each at its paced slot."""

    def __init__(
        self,
        database: Database,
        bot: Bot,
        composer: Composer,
        pacer: Pacer,
        *,
        concurrency: int = 32,
        max_attempts: int = 10,
        paid_broadcast: bool = False,
        paid_stars_per_day: float | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        approval_timeout: timedelta = fan_out_queries.APPROVAL_TIMEOUT,
        fair: bool = True,
    ) -> None:
        self._db = database
        # How long a story for chats with approval waits for the editors' desk.
        self._approval_timeout = approval_timeout
        self._bot = bot
        self._composer = composer
        self._pacer = pacer
        # At most `concurrency` requests in flight (what a crash can repeat, with SENT_BATCH),
        # fewer while more would only queue here (see InFlightLimit); paid broadcasts may need
        # more to keep their pace over the network. Claimed deliveries wait for their slot in
        # tasks of their own, a few batches' worth.
        rate = pacer.limits.paid_per_second if paid_broadcast else pacer.limits.per_second
        self._concurrency = concurrency if not paid_broadcast else max(concurrency, int(rate / 10))
        self._requests = InFlightLimit(self._concurrency)
        self._claim_size = max(32, int(rate * CLAIM_SECONDS))
        # What else than paid breaking news a claim takes: a quarter second at the free pace,
        # so breaking news queued meanwhile never waits behind seconds of booked stories.
        self._free_claim = max(32, int(pacer.limits.per_second * CLAIM_SECONDS))
        # Paid broadcasts record their sends in bigger batches (a tenth of a second's worth).
        self._sent_batch = SENT_BATCH if not paid_broadcast else max(SENT_BATCH, int(rate / 10))
        self._max_tasks = 2 * self._claim_size
        # Telegram's paid broadcasts lift the overall limit to 1,000/s (charged in Stars): for
        # breaking news only, within the day's budget.
        self._paid = PaidBudget(paid_broadcast, paid_stars_per_day, clock)
        self._clock = clock
        # What Telegram's refusals do to a delivery (bot/delivery/refusals.py).
        self._refusals = Refusals(database, pacer, clock, max_attempts)
        # Fair turns with bundles; False: first in, first out, one story a message (the
        # behaviour before them, kept for benchmarks/overload.py's baseline).
        self.fair = fair
        self._chats_in_flight: set[int] = set()
        self._stopping = False
        self._sent: list[SentRecord] = []
        # Chats' desk filters, compiled once per rules version (bot/domain/filters.py), off
        # the event loop; the composer's Related pick asks the same ones.
        self._desk = composer.filters
        # Paced chats' story posts of the last hour that the database may not show yet (sends
        # are recorded in batches): {destination id: {message id: sent at}}.
        self._posted: dict[int, dict[int, datetime]] = {}
        self._held = 0  # stories the claim in progress held for a roundup
        # Forum chats' topics, loaded with each claimed batch that has a forum chat.
        self._topics = ForumTopics(
            database, bot, composer.settings, composer.catalogues, self._clock
        )
        self._template_notices = TemplateNotices(
            database, bot, composer.settings, composer.catalogues
        )

    async def fan_out(self) -> int:
        """Queue deliveries for stories not yet fanned out; returns how many were queued."""
        await self._compile_filters()
        async with self._db.writing(), self._db.sessions.begin() as session:
            queued = await fan_out_queries.fan_out_stories(
                session, self._clock(), self._desk, self._approval_timeout
            )
        return sum(queued.values())

    async def _compile_filters(self) -> None:
        """Chats' filters changed since last compiled, compiled off the event loop (re2
        takes its time), so the fan-out's judge finds them compiled."""
        async with self._db.sessions() as session:
            stale = self._desk.stale(await desk_queries.filtered_versions(session))
            rules = await desk_queries.filtered_rules_of(session, stale)
        if rules:
            await asyncio.to_thread(self._desk.prepare, rules)

    async def recover(self) -> int:
        """At start-up: deliveries a previous process left half-sent go back to the queue.

        On SQLite this process is the only one, so every `sending` row is ours to requeue;
        on PostgreSQL only rows whose lease ran out (another instance may be sending).
        """
        async with self._db.writing(), self._db.sessions.begin() as session:
            if self._db.is_sqlite:
                return await outcome_queries.requeue_interrupted(session, self._clock())
            return await outcome_queries.requeue_expired(session, self._clock())

    async def requeue_expired(self) -> int:
        """Deliveries of a dead sender go back to the queue; digests an hour late are
        skipped (docs/readers.md: a slot missed by more than an hour is not sent late)."""
        async with self._db.writing(), self._db.sessions.begin() as session:
            await digest_queries.skip_missed(session, self._clock())
            return await outcome_queries.requeue_expired(session, self._clock())

    async def drain(self, budget_seconds: float = 30.0) -> SendStats:
        """Send what is due until the queue is empty or the time budget is spent.

        Claiming overlaps sending: a new batch is claimed while about a second of sends is
        still booked ahead in the pacer, so the pace never pauses between batches.
        """
        stats = SendStats()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_seconds
        self._composer.forget()
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping:
                if loop.time() >= deadline:
                    stats.unfinished = True
                    break
                # Looked at again every few milliseconds rather than woken by each delivery
                # that ends: at hundreds a second, waiting on all the tasks costs more.
                ahead = self._pacer.booked_ahead() - BOOK_AHEAD_SECONDS
                if ahead > 0 or len(in_flight) > self._max_tasks - self._claim_size:
                    await asyncio.sleep(min(max(ahead, LOOK_AGAIN_SECONDS), 0.1))
                    continue
                jobs = await self._claim()
                if not jobs:
                    if not in_flight:
                        break
                    await asyncio.wait(in_flight, timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
                    continue
                for job in jobs:
                    # Booked now, so what is booked ahead counts it before the task runs.
                    paid = self._paid_lane(job, stats)
                    slot = self._pacer.book(job.chat_id, job.chat_kind, paid=paid)
                    task = asyncio.create_task(self._deliver(job, slot, paid, stats))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
            if in_flight:
                await asyncio.wait(in_flight)
        finally:
            await self._flush_sent()
        return stats

    def _within_pace(self, jobs: list[DeliveryJob]) -> list[DeliveryJob]:
        """The turns to claim now: every breaking news one the paid lane may carry (it goes
        at up to 1,000 a second), and at most a free claim's worth of the rest (they stay
        queued for the next claim)."""
        kept: list[DeliveryJob] = []
        free = 0
        for job in jobs:
            if job.alert_id is not None and self._paid.enabled:
                kept.append(job)
            elif free < self._free_claim:
                kept.append(job)
                free += 1
        return kept

    def _paid_lane(self, job: DeliveryJob, stats: SendStats) -> bool:
        """Breaking news goes on the paid lane while the day's budget lasts; once it is
        spent, the alert is noted (its editor is told) and goes at the free pace."""
        if job.alert_id is None or not self._paid.enabled:
            return False
        if self._paid.take():
            return True
        stats.paid_spent.add(job.alert_id)
        return False

    async def start_paid_day(self) -> None:
        """On becoming the sender: count today's breaking messages against the day's paid
        budget (an instance that takes over from a dead one must not spend it again)."""
        if not self._paid.capped:
            return
        midnight = self._clock().replace(hour=0, minute=0, second=0, microsecond=0)
        async with self._db.sessions() as session:
            sent = await stats_queries.alert_messages_since(session, midnight)
        self._paid.start_day_at(sent)

    @property
    def paid_stars_per_day(self) -> float | None:
        return self._paid.stars_per_day

    def stop_claiming(self) -> None:
        """At shutdown: finish what is in flight, take nothing new."""
        self._stopping = True

    async def _claim(self) -> list[DeliveryJob]:
        """Claim a batch (see `_claim_once`); one that pace held whole is followed by the
        next at once, so a night's held stories do not end the drain."""
        while True:
            self._held = 0
            ready = await self._claim_once()
            if ready or not self._held:
                return ready

    async def _claim_once(self) -> list[DeliveryJob]:
        """Claim a batch: the next chats' turns (each with its bundle); keep one job per chat
        that is free now, put the rest back."""
        await self._flush_sent()
        async with self._db.writing(), self._db.sessions.begin() as session:
            now = self._clock()
            if self.fair:
                due = await outbox_queries.due_turns(session, now, self._claim_size, MAX_BUNDLE)
                jobs = await outbox_queries.claim(session, self._within_pace(turns(due)), now)
            else:
                jobs = await outbox_queries.claim_due(session, now, self._claim_size)
            if any(job.pace is not None for job in jobs):
                jobs = await self._paced(session, jobs)
            ready: list[DeliveryJob] = []
            chats: set[int] = set(self._chats_in_flight)
            for job in jobs:
                wait = self._pacer.chat_ready_in(job.chat_id)
                if job.chat_id in chats or wait > 1.0:
                    later = self._clock() + timedelta(
                        seconds=max(wait, self._pacer.interval_for(job.chat_kind))
                    )
                    await outcome_queries.requeue(session, rows_of(job), later, refund_attempt=True)
                    continue
                chats.add(job.chat_id)
                ready.append(job)
            if any(job.roundup and job.pace is not None for job in ready):
                ready = [await self._with_members(session, job) for job in ready]
            await self._topics.load(session, ready)
        self._chats_in_flight.update(job.chat_id for job in ready)
        return ready

    async def _paced(self, session: AsyncSession, jobs: list[DeliveryJob]) -> list[DeliveryJob]:
        """Stories for chats with a pace rule: sent now, sent silently, held for the chat's
        roundup, or left out over the cap of a chat that takes no roundups
        (bot/domain/pace.py), before a chat's one-at-a-time turn: held and left out ones need
        none. One query for the batch's capped chats' recent posts."""
        now = self._clock()
        capped = {job.destination_id for job in jobs if job.pace and job.pace.max_posts_per_hour}
        posts = await outbox_queries.recent_posts(session, capped, now - WINDOW)
        zone = self._composer.settings.zone
        kept: list[DeliveryJob] = []
        held: dict[datetime, list[int]] = {}
        left_out: list[int] = []
        for job in jobs:
            if job.pace is None:
                kept.append(job)
                continue
            recent = {
                **posts.get(job.destination_id, {}),
                **self._posted.get(job.destination_id, {}),
            }
            decision = plan(job.pace, now, zone, list(recent.values()))
            if decision.hold_until is not None:
                held.setdefault(decision.hold_until, []).append(job.id)
            elif decision.leave_out:
                left_out.append(job.id)
            else:
                kept.append(replace(job, silent=decision.silent))
        for at, ids in held.items():
            await outbox_queries.hold_for_roundup(session, ids, at)
            self._held += len(ids)
        await outcome_queries.leave_out(session, left_out, OVER_THE_CAP)
        return kept

    async def _with_members(self, session: AsyncSession, job: DeliveryJob) -> DeliveryJob:
        """A due roundup row about to be sent takes the chat's other held rows with it."""
        if not job.roundup or job.pace is None:
            return job
        members = await outbox_queries.claim_roundup(session, job.destination_id, self._clock())
        return replace(job, members=tuple(members))

    async def _flush_sent(self) -> None:
        """Record sent messages in one transaction rather than one each (see `_deliver`)."""
        if not self._sent:
            return
        batch, self._sent = self._sent, []
        async with self._db.writing(), self._db.sessions.begin() as session:
            await outcome_queries.mark_sent_many(session, batch)

    async def _deliver(self, job: DeliveryJob, slot: float, paid: bool, stats: SendStats) -> None:
        try:
            await self._attempt(job, slot, paid, stats)
        finally:
            self._chats_in_flight.discard(job.chat_id)

    async def _attempt(self, job: DeliveryJob, slot: float, paid: bool, stats: SendStats) -> None:
        try:
            if job.members:
                job, message = await self._bundle(job)
            else:
                message = await self._message_for(job)
            if message is None:
                await self._refusals.fail(job, "the story, alert or digest no longer exists", stats)
                return
            if job.silent:
                message = replace(message, disable_notification=True)
            await self._pacer.wait_until(slot)
            await self._requests.acquire()
            try:
                sent = await self._send(job, message, paid)
            finally:
                self._requests.release()
        except Exception as exc:
            if paid:
                self._paid.refund()
            outcome = outcome_of(exc)
            if outcome.verdict is Verdict.TRANSIENT and not isinstance(exc, TelegramError):
                log.exception("delivery %s failed unexpectedly", job.id)
            await self._refusals.handle(job, outcome, stats)
        else:
            # Recorded in the next batch write (within a fraction of a second). A crash before
            # it leaves the row `sending`, so it is resent: it counts among the in-flight.
            now = self._clock()
            if job.members:  # one post: every row with its message id, in the same write
                for delivery_id in rows_of(job):
                    self._sent.append((delivery_id, sent.chat_id, sent.message_id, now, None))
                stats.bundles.append(len(rows_of(job)))
            else:
                version = self._composer.version(job.story_id) if job.story_id else None
                self._sent.append((job.id, sent.chat_id, sent.message_id, now, version))
            if job.pace is not None:
                self._posted_now(job.destination_id, sent.message_id, now)
            if job.queued_at is not None:
                stats.waited.append(max((now - job.queued_at).total_seconds(), 0.0))
            if len(self._sent) >= self._sent_batch:
                await self._flush_sent()
            stats.sent += 1

    async def _bundle(self, job: DeliveryJob) -> tuple[DeliveryJob, OutgoingMessage | None]:
        """One message for the job's story and its members: a paced chat's "More news"
        roundup, or the stories that waited for a reader's turn. A reader's bundle names what
        does not fit in its last line ("…and 7 more: /today"), so all of it is delivered; a
        roundup's rest is held again for the chat's next one (nothing is dropped from a
        channel's feed)."""
        rows = [(job.id, job.story_id), *job.members]
        overflow = job.chat_kind == "private" and not job.roundup
        found = await self._composer.bundle(
            [story_id for _, story_id in rows if story_id is not None],
            job.language,
            delivery_ids=rows_of(job),
            roundup=job.roundup,
            overflow=overflow,
        )
        if found is None:
            return job, None
        covered = set(found.listed)
        kept = [row for row in rows if overflow or row[1] in covered]
        left = [row[0] for row in rows if row not in kept]
        if left:
            async with self._db.writing(), self._db.sessions.begin() as session:
                await outbox_queries.hold_for_roundup(session, left, self._clock())
        if not kept:
            return job, None
        (lead_id, lead_story), *others = kept
        members = tuple((row, story) for row, story in others if story is not None)
        return replace(job, id=lead_id, story_id=lead_story, members=members), found.message

    def _posted_now(self, destination_id: int, message_id: int, at: datetime) -> None:
        """Remember a paced chat's post until the database surely shows it (an hour)."""
        posts = self._posted.setdefault(destination_id, {})
        posts[message_id] = at
        for old in [key for key, when in posts.items() if at - when >= WINDOW]:
            del posts[old]

    async def _send(self, job: DeliveryJob, message: OutgoingMessage, paid: bool) -> Sent:
        """Send (`paid`: as a paid broadcast); a forum chat's message goes into its topic
        (bot/delivery/topics.py)."""

        async def into(thread_id: int | None) -> Sent:
            return await deliver(
                self._bot,
                job.chat_id,
                message,
                paid_broadcast=paid,
                rate_limit_args=NO_RETRY,
                thread_id=thread_id,
            )

        if not job.forum:
            return await into(None)
        section = (self._composer.section_of(job.story_id) if job.story_id else None) or job.section
        return await self._topics.send(job, section, into)

    async def _message_for(self, job: DeliveryJob) -> OutgoingMessage | None:
        if job.alert_id is not None:
            return await self._composer.alert(
                job.alert_id, job.language, job.editions, version=job.version
            )
        if job.story_id is not None:
            message = await self._composer.story(
                job.story_id,
                job.language,
                job.look,
                job.chat_ref,
                approval_id=job.approval_id,
                chat_id=job.chat_id,
            )
            failure = self._composer.template_failure(job.story_id, job.look)
            if failure is not None and job.look.template is not None:  # the standard layout
                await self._template_notices.failed(
                    job.destination_id, job.chat_id, job.look.template, failure
                )
            return message
        if job.digest_slot is not None:
            return await self._composer.digest(job.digest_slot, job.language, job.editions)
        return None
