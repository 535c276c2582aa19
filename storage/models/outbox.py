"""What is sent: breaking news, the digests' slots and the outbox of deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId
from storage.states import AlertStatus, DeliveryStatus
from storage.types import StateType


class Alert(Base):
    """Breaking news from an editor: a draft until confirmed, then fanned out once."""

    __tablename__ = "alerts"
    # The alerts whose fan-out goes on (the delivery tick asks each time): only those.
    __table_args__ = (
        Index(
            "ix_alerts_fanning_out",
            "id",
            sqlite_where=text("fanned_out_at IS NULL"),
            postgresql_where=text("fanned_out_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    editor_id: Mapped[int] = mapped_column(BigInteger)
    editor_chat_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    # One text per edition ({"kk": ..., "ru": ...}) when given so; None: `text` for all.
    texts: Mapped[dict[str, str] | None] = mapped_column(JSON)
    link: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[AlertStatus] = mapped_column(StateType(AlertStatus), default=AlertStatus.DRAFT)
    # Sections it is limited to (None: everyone); set by the CMS API.
    sections: Mapped[list[str] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16), default="telegram", server_default="telegram")
    # The CMS's Idempotency-Key: a retried POST finds the alert it already created.
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    # Its fan-out, a chunk of chats per transaction (bot/services/breaking.py): how many
    # chats took it when it was sent (what its sender was told), the last chat id queued so
    # far, and when every chat was queued (None: still going; the delivery tick goes on).
    audience: Mapped[int | None] = mapped_column(Integer)
    queued_through: Mapped[int | None] = mapped_column(BigInteger)
    fanned_out_at: Mapped[datetime | None]


class Delivery(Base):
    """The outbox: one message for one destination, recorded before it is sent.

    A row moves queued -> sending -> sent (or failed, with the reason); the unique keys make
    enqueueing idempotent, so a restart neither loses nor repeats a delivery.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("destination_id", "story_id", name="uq_deliveries_destination_story"),
        UniqueConstraint("destination_id", "alert_id", name="uq_deliveries_destination_alert"),
        UniqueConstraint(
            "destination_id", "digest_slot", name="uq_deliveries_destination_digest_slot"
        ),
        Index("ix_deliveries_due", "status", "priority", "next_attempt_at"),
        # An alert's rows by state and version, from the index alone (its progress).
        Index("ix_deliveries_alert_id", "alert_id", "status", "version"),
        # The console reads a story's deliveries and a day's (migrations 0015, 0016): a
        # story's chats in chat order with their status, from the index alone (its trace).
        Index("ix_deliveries_story", "story_id", "destination_id", "status"),
        Index(
            "ix_deliveries_bundled",
            "story_id",
            sqlite_where=text("message_rows > 1"),
            postgresql_where=text("message_rows > 1"),
        ),
        Index("ix_deliveries_created_at", "created_at"),
        # The rows a story waiting for the editors' desk goes to (few: only those).
        Index(
            "ix_deliveries_approval_id",
            "approval_id",
            sqlite_where=text("approval_id IS NOT NULL"),
            postgresql_where=text("approval_id IS NOT NULL"),
        ),
        Index("ix_deliveries_chat_message", "chat_id", "message_id"),
        # Each chat gets one version of a story group (NULL for alerts and digests).
        Index("uq_deliveries_destination_group", "destination_id", "group_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("destinations.id", ondelete="CASCADE"))
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(BigInteger)
    # A daily digest: the slot it belongs to (what it lists is kept with the slot).
    digest_slot: Mapped[str | None] = mapped_column(
        ForeignKey("digest_slots.slot", ondelete="CASCADE")
    )
    priority: Mapped[int] = mapped_column(Integer, default=10)  # lower goes first
    status: Mapped[DeliveryStatus] = mapped_column(
        StateType(DeliveryStatus), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Where the message landed (after any migration), for edits and reaction counts.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    # How many outbox rows that message carries (> 1: a bundle or a roundup); NULL: only this.
    message_rows: Mapped[int | None] = mapped_column(Integer)
    # Breaking news in versions: the edition whose version the chat gets, looked up when it
    # was queued (bot/domain/breaking.py version_table); NULL: one version for all.
    version: Mapped[str | None] = mapped_column(String(8))
    # The story's content hash when sent: a later correction differs, and is edited in place.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # A claimed row belongs to its sender until then; after, another instance may take it.
    lease_until: Mapped[datetime | None]
    # Held by the chat's pace or quiet hours: goes out in one "More news" roundup post with
    # the chat's other held stories, when `next_attempt_at` comes.
    roundup: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Approved by the desk for this chat (approvals: perhaps with an edited headline).
    approval_id: Mapped[int | None] = mapped_column(BigInteger)


class DigestSlot(Base):
    """One daily digest slot, queued once: the stories it lists, fixed when it was queued.

    Its deliveries (one per opted-in destination, unique per destination and slot) are in
    the outbox, queued in the same transaction, so every chat gets the same list, once.
    """

    __tablename__ = "digest_slots"

    slot: Mapped[str] = mapped_column(String(32), primary_key=True)  # e.g. 2026-11-19T08:00
    # The newsroom's day the digest is about ("2026-11-19"), for its title.
    day: Mapped[str] = mapped_column(String(10))
    # When the slot was due: a delivery still queued an hour later is skipped, not sent late.
    due_at: Mapped[datetime]
    story_ids: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime]
