"""A chat's turn: what it gets when the sender comes to it (pure: no database, no Telegram).

The outbox is drained in fair turns (storage.outbox.due_turns): each chat with due work
gets one message per turn, oldest waiting chat first, so a reader falls behind by the time
it takes to come round to every chat (R chats at 30 a second: R / 30 s), however fast
stories arrive. When the turn comes and several stories wait, that one message lists them
all (a bundle, rendered by bot/outbound/bundle.py); one story alone goes in its full layout.

Bundles are for readers' private chats. Breaking news and digests are never bundled (they
go alone, breaking news first, as the claim's order puts them). Channels and groups keep
one post per story, each with its own reactions and comments: their admins bundle with
their desk's pace (a cap per hour, quiet hours), whose "More news" roundup is the same
bundle by another road (bot/domain/pace.py, rendered by the same bot/outbound/bundle.py).
Approval, filters, editions and topics were decided per story at fan-out, before a delivery
row existed, so whatever is due here may go to the chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.domain.outbox import DeliveryJob

# Stories one turn takes along at most; more wait for the chat's next turn. The message
# lists the newest that fit (bot/outbound/bundle.py) and counts the rest, so after an outage
# a reader hears the latest news first and how much else came, not an hour-old page of it.
MAX_BUNDLE = 200


def turns(rows: Sequence[DeliveryJob], max_bundle: int = MAX_BUNDLE) -> list[DeliveryJob]:
    """One job per chat: its first due delivery (in the claim's order), carrying as members
    the other due stories it can take along. Rows not in a job stay queued."""
    by_chat: dict[int, list[DeliveryJob]] = {}
    for row in rows:
        by_chat.setdefault(row.destination_id, []).append(row)
    return [_turn(chat_rows, max_bundle) for chat_rows in by_chat.values()]


def _turn(rows: list[DeliveryJob], max_bundle: int) -> DeliveryJob:
    lead = rows[0]
    if not _bundles(lead):
        return lead
    members = tuple(
        (row.id, row.story_id) for row in rows[1:] if row.story_id is not None and _bundles(row)
    )[: max_bundle - 1]
    return replace(lead, members=members) if members else lead


def _bundles(job: DeliveryJob) -> bool:
    """A plain story delivery to a reader's private chat (not held for a roundup)."""
    return job.story_id is not None and job.chat_kind == "private" and not job.roundup


def rows_of(job: DeliveryJob) -> list[int]:
    """The job's delivery rows: its own and, for a roundup or a bundle, its members'
    (one message, one fate)."""
    return [job.id, *(delivery_id for delivery_id, _ in job.members)]
