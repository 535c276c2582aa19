"""The chats' tables: the destinations the bot posts to, what they subscribe to and read, their
rules and forum topics, the editors' desk (approvals, prompts) and the webhook's updates."""

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
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId
from storage.states import ApprovalStatus
from storage.types import StateType


class Destination(Base):
    """A chat newsbot sends to: a reader's private chat, a group, or a channel.

    Rows are never deleted: a chat that blocks or removes the bot is marked inactive with the
    reason, so its history (and the reason) stays visible to the newsroom.
    """

    __tablename__ = "destinations"
    __table_args__ = (Index("ix_destinations_active_kind", "active", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # private, group, supergroup, channel
    title: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Channels and groups take breaking news by default; readers do once subscribed.
    breaking: Mapped[bool] = mapped_column(Boolean, default=True)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    # Opted in to the daily "Timeline of major events" digest.
    digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    inactive_reason: Mapped[str | None] = mapped_column(String(255))
    # A forum supergroup: each section posts into its own topic (forum_topics), which the
    # bot creates itself when it may manage topics.
    is_forum: Mapped[bool] = mapped_column(Boolean, server_default=false())
    can_manage_topics: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # When an admin last sent the chat a test from the console (storage/chat_tests.py):
    # shared by every instance, so the once-a-minute limit holds across them.
    last_test_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Subscription(Base):
    """A destination takes the stories of one section."""

    __tablename__ = "subscriptions"
    # A section's subscribers in chat order, from the index alone (the story trace).
    __table_args__ = (Index("ix_subscriptions_section", "section", "destination_id"),)

    destination_id: Mapped[int] = mapped_column(
        ForeignKey("destinations.id", ondelete="CASCADE"), primary_key=True
    )
    section: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime]


class DestinationEdition(Base):
    """A chat reads one edition (of the newsroom's languages); at least one per chat."""

    __tablename__ = "destination_editions"
    __table_args__ = (Index("ix_destination_editions_edition", "edition", "destination_id"),)

    destination_id: Mapped[int] = mapped_column(
        ForeignKey("destinations.id", ondelete="CASCADE"), primary_key=True
    )
    edition: Mapped[str] = mapped_column(String(8), primary_key=True)


class ChannelRule(Base):
    """A chat's desk rules: which of its sections' stories it takes, and how they look.

    `managed_by_config`: the chat is declared in the config's [[channels]] (its source of
    truth, written at every start-up; admins' edits are refused). `config_ref` is the chat
    as the config names it ("@username" or the id). `filtered` says any list is non-empty,
    so the fan-out knows without reading the lists which chats to ask the filters about;
    `version` grows with every change, so compiled patterns are cached per version.
    """

    __tablename__ = "channel_rules"

    destination_id: Mapped[int] = mapped_column(
        ForeignKey("destinations.id", ondelete="CASCADE"), primary_key=True
    )
    managed_by_config: Mapped[bool] = mapped_column(Boolean, server_default=false())
    config_ref: Mapped[str | None] = mapped_column(String(64))
    include: Mapped[list[str]] = mapped_column(JSON)
    exclude: Mapped[list[str]] = mapped_column(JSON)
    include_regex: Mapped[list[str]] = mapped_column(JSON)
    exclude_regex: Mapped[list[str]] = mapped_column(JSON)
    filtered: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The format: a Jinja2 template (else the standard layout) and switches; `styled` says
    # any of them differs from the default, so other chats share the default render.
    template: Mapped[str | None] = mapped_column(Text)
    show_summary: Mapped[bool] = mapped_column(Boolean, server_default=true())
    show_related: Mapped[bool] = mapped_column(Boolean, server_default=true())
    show_image: Mapped[bool] = mapped_column(Boolean, server_default=true())
    link_preview: Mapped[bool] = mapped_column(Boolean, server_default=true())
    hashtags: Mapped[bool] = mapped_column(Boolean, server_default=true())
    read_button: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(128))
    utm: Mapped[str | None] = mapped_column(String(512))
    styled: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Pace and quiet hours ("23:00-07:00" on the newsroom's clock; mode silent or hold).
    max_posts_per_hour: Mapped[int | None] = mapped_column(Integer)
    quiet_hours: Mapped[str | None] = mapped_column(String(11))
    quiet_mode: Mapped[str] = mapped_column(String(8), server_default="silent")
    # Over the cap, stories wait for one "More news" roundup (else they are left out).
    roundup: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # Stories wait for the editors' desk (approvals) before they go to this chat.
    approval: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The forum topic breaking news goes to (None: General).
    breaking_topic: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]


class ForumTopic(Base):
    """The topic a section's stories go to in a forum chat.

    `source`: "config" or "admin" (picked), or "created" (by the bot, createForumTopic);
    `thread_id` None: to be created. `recreated`: a deleted or closed topic was recreated
    once already; if that one goes too, stories go to General and the admins are told.
    """

    __tablename__ = "forum_topics"

    destination_id: Mapped[int] = mapped_column(
        ForeignKey("destinations.id", ondelete="CASCADE"), primary_key=True
    )
    section: Mapped[str] = mapped_column(String(32), primary_key=True)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))
    recreated: Mapped[bool] = mapped_column(Boolean, server_default=false())
    updated_at: Mapped[datetime]


class Approval(Base):
    """A story for chats with `approval`, waiting for the editors' desk chat.

    Its deliveries wait (DeliveryStatus.AWAITING_APPROVAL, `approval_id` set) until an editor
    approves (queued, with `headline` if edited), skips, or `expires_at` passes; who decided
    and when is kept for `newsbot stats`.
    """

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_status", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    story_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("stories.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[ApprovalStatus] = mapped_column(StateType(ApprovalStatus, length=16))
    headline: Mapped[str | None] = mapped_column(Text)
    # The preview in the desk chat (None until posted).
    desk_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    desk_message_id: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime]
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_by_name: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class DeskPrompt(Base):
    """A reply the bot waits for: the message it asked with, who may answer, and why.

    `purpose` "setting": an admin types a chat's setting (`setting`); the typed `value` waits
    here for Confirm. "headline": an editor types a story's new headline (`approval_id`).
    In the database, so a restart or another instance still knows the prompt.
    """

    __tablename__ = "desk_prompts"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(16))
    destination_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("destinations.id", ondelete="CASCADE")
    )
    approval_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("approvals.id", ondelete="CASCADE")
    )
    setting: Mapped[str | None] = mapped_column(String(32))
    value: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class WebhookUpdate(Base):
    """An update_id the webhook has taken: Telegram posts an update again after a slow or
    failed answer, and another instance (or this one after a restart) must drop it then.

    Kept for a day (storage/updates.py prunes older rows): Telegram gives up on an update
    long before, so the table stays a day of updates small.
    """

    __tablename__ = "webhook_updates"
    __table_args__ = (Index("ix_webhook_updates_received_at", "received_at"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime]
