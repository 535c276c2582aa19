"""The newsroom's tables: sections, feeds, stories and their versions, and the signals of
interest readers give them (engagement, reaction counts, the running totals)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId


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
