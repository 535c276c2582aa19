"""The tables. Identity is enforced by the database (unique constraints), never by the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.states import AlertStatus, ApprovalStatus, DeliveryStatus
from storage.types import StateType, UTCDateTime

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Section(Base):
    """A newsroom section, synced from the config file at start-up."""

    __tablename__ = "sections"

    slug: Mapped[str] = mapped_column(String(32), primary_key=True)
    titles: Mapped[dict[str, Any]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Feed(Base):
    """A polled feed and its health; rows outlive their config entry (enabled=False)."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    section: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    poll_interval: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    title: Mapped[str | None] = mapped_column(String(512))

    # Conditional GET validators (RFC 9110 §13.1), sent back on the next fetch.
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))

    last_fetched_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    # The latest read of the body needed a repair (bad bytes replaced, dates ignored): what,
    # and when. Cleared by the next read that needs none; a 304 or a failure leaves it.
    last_warning: Mapped[str | None] = mapped_column(Text)
    last_warning_at: Mapped[datetime | None]
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    # When the current run of failed polls began (None once a poll succeeds), and the start
    # of the outage the editors were alerted about (None: none, or told it ended; claimed
    # once across instances, bot/services/feed_alerts.py).
    failing_since: Mapped[datetime | None]
    alerted_since: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None]
    # False until the first successful poll: that poll's items are backlog, never pushed.
    backlog_done: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(16), default="news", server_default="news")
    created_at: Mapped[datetime]
    # Several instances on one PostgreSQL: the instance polling a feed holds it until then.
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))


class MostReadRank(Base):
    """One place in a newsroom's own "most read" list (a feed with role = "popular").

    The list is the feed's latest successful poll, replaced whole each time; /popular matches
    its items to stored stories by canonical link (or identity) when it ranks, so a story
    stored after the list was read still gets its place.
    """

    __tablename__ = "popular_ranks"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1: the most read
    link: Mapped[str | None] = mapped_column(String(2048))
    identity: Mapped[str] = mapped_column(String(255))
    observed_at: Mapped[datetime]


class Story(Base):
    """One story, stored once however many feeds carry it."""

    __tablename__ = "stories"
    __table_args__ = (
        # PostgreSQL indexes carry the id too, so /popular and /today read only the index
        # (SQLite's carry the rowid anyway).
        Index("ix_stories_published_at", "published_at", postgresql_include=["id"]),
        Index(
            "ix_stories_section_published_at",
            "section",
            "published_at",
            postgresql_include=["id"],
        ),
        Index("ix_stories_feed_id_published_at", "feed_id", "published_at"),
        Index("ix_stories_fanned_out_at", "fanned_out_at"),
        Index(
            "ix_stories_edition_published_at",
            "edition",
            "published_at",
            postgresql_include=["id"],
        ),
        Index(
            "ix_stories_edition_section_published_at",
            "edition",
            "section",
            "published_at",
            postgresql_include=["id"],
        ),
        Index("ix_stories_group_id", "group_id"),
        # Only the stories waiting for their page (storage/groups.pending_stories).
        Index(
            "ix_stories_alternates_pending",
            "first_seen_at",
            postgresql_where=text("alternates_pending"),
            sqlite_where=text("alternates_pending"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    identity: Mapped[str] = mapped_column(String(255), unique=True)
    # The canonical link is unique too: the same article syndicated in two feeds is one story.
    link: Mapped[str | None] = mapped_column(String(2048), unique=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str | None] = mapped_column(String(2048))
    author: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(8))
    # The newsroom edition it is shown in: its language when that is an edition, else the
    # newsroom's (None only for rows from before editions, until start-up fills them in).
    edition: Mapped[str | None] = mapped_column(String(8))
    # Versions of one story in several editions share a group: the id of one of them (its
    # own id when it stands alone: a trigger fills it in on insert, see migration 0008).
    # A chat gets each group once (deliveries.group_id).
    group_id: Mapped[int | None] = mapped_column(BigInteger)
    # True while the article page is still to be read for its hreflang versions (feeds with
    # alternates = "page"): the fan-out waits, so a reader of two editions gets one version.
    alternates_pending: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The feed item's categories (desk filters match them as they match the headline).
    categories: Mapped[list[str] | None] = mapped_column(JSON)
    section: Mapped[str | None] = mapped_column(String(32))
    published_at: Mapped[datetime]
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    # Backlog from a feed's first poll is stored but never pushed to subscribers.
    pushable: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set in the same transaction that queues its deliveries: a crash between storing and
    # queueing leaves it NULL, and the next fan-out picks the story up again.
    fanned_out_at: Mapped[datetime | None]


class StoryAlternate(Base):
    """A version of a story in another edition, as its source names it (hreflang links, the
    CMS's translations): a story stored later whose canonical link is here joins the group."""

    __tablename__ = "story_alternates"
    __table_args__ = (Index("ix_story_alternates_link", "link"),)

    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    link: Mapped[str] = mapped_column(String(2048), primary_key=True)
    edition: Mapped[str] = mapped_column(String(8))


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
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Subscription(Base):
    """A destination takes the stories of one section."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_section", "section"),)

    destination_id: Mapped[int] = mapped_column(
        ForeignKey("destinations.id", ondelete="CASCADE"), primary_key=True
    )
    section: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime]


class DestinationEdition(Base):
    """A chat reads one edition (of the newsroom's languages); at least one per chat."""

    __tablename__ = "destination_editions"
    __table_args__ = (Index("ix_destination_editions_edition", "edition"),)

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


class Alert(Base):
    """Breaking news from an editor: a draft until confirmed, then fanned out once."""

    __tablename__ = "alerts"

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
        Index("ix_deliveries_alert_id", "alert_id"),
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


class Engagement(Base):
    """Signals of interest in a story the bot can see: reactions, button presses, reads."""

    __tablename__ = "engagement"
    __table_args__ = (
        Index("ix_engagement_story_id", "story_id"),
        Index("ix_engagement_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # reaction, press, read, inline
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    at: Mapped[datetime]


class ReactionCount(Base):
    """The latest reaction total Telegram reported for one channel post (it sends totals)."""

    __tablename__ = "reaction_counts"
    __table_args__ = (Index("ix_reaction_counts_story_id", "story_id"),)

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    total: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class StoryEngagement(Base):
    """A story's running engagement total: every signal in `engagement` and the latest
    reaction total of each post, as points (storage/engagement.py WEIGHTS).

    Kept by database triggers (migration 0004) in the transaction that records a signal, so
    nothing writes it directly and every writer of signals keeps it exact. /popular reads one
    row per story instead of summing the day's signals on each call.
    """

    __tablename__ = "story_engagement"
    __table_args__ = (Index("ix_story_engagement_published_at", "published_at"),)

    story_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    points: Mapped[float] = mapped_column(Float, default=0.0)
    # Signal rows behind the total (engagement rows and reaction posts); 0: none left.
    signals: Mapped[int] = mapped_column(Integer, default=0)
    # The earliest signal ever recorded: when it is inside a /popular window, so are all.
    first_signal_at: Mapped[datetime]
    # Copies of the story's publication time, group and section (kept by triggers, migration
    # 0012): /popular finds a window's groups in this narrow table alone, not through stories.
    published_at: Mapped[datetime | None]
    group_id: Mapped[int | None] = mapped_column(BigInteger)
    section: Mapped[str | None] = mapped_column(String(32))


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
