"""The states rows move through, as enums: one spelling each, checked by the type checker.

They are `StrEnum`s, stored as their text (the columns stay VARCHAR: existing rows and
migrations are unchanged) and read back as members by `storage.types.StateType`.
"""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    """An outbox row: queued -> sending (leased to a sender) -> sent, or failed with a reason.

    A story for a chat with approval starts `awaiting` (the editors' desk) and becomes queued
    when approved, or `skipped` when skipped or expired.
    """

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    AWAITING = "awaiting"
    SKIPPED = "skipped"


class ApprovalStatus(StrEnum):
    """A story at the editors' desk: pending until approved, skipped, or expired."""

    PENDING = "pending"
    APPROVED = "approved"
    SKIPPED = "skipped"
    EXPIRED = "expired"


class AlertStatus(StrEnum):
    """Breaking news: a draft until an editor (or the CMS) confirms or cancels it."""

    DRAFT = "draft"
    SENT = "sent"
    CANCELLED = "cancelled"


class PollStatus(StrEnum):
    """How a feed's poll ended when it did not fail; a failure stores its error key instead
    (bot.feeds.fetcher.FetchError, bot.feeds.parser.ParseError, or "internal_error")."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    SKIPPED = "skipped"  # not due, or another instance is polling it
    INTERNAL_ERROR = "internal_error"


HEALTHY_POLLS = frozenset({PollStatus.OK, PollStatus.NOT_MODIFIED, PollStatus.SKIPPED})
