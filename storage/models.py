"""The tables. Identity is enforced by the database (unique constraints), never by the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UTCDateTime

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
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


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
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None]
    # False until the first successful poll: that poll's items are backlog, never pushed.
    backlog_done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Story(Base):
    """One story, stored once however many feeds carry it."""

    __tablename__ = "stories"
    __table_args__ = (
        Index("ix_stories_published_at", "published_at"),
        Index("ix_stories_section_published_at", "section", "published_at"),
        Index("ix_stories_feed_id_published_at", "feed_id", "published_at"),
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
    section: Mapped[str | None] = mapped_column(String(32))
    published_at: Mapped[datetime]
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    # Backlog from a feed's first poll is stored but never pushed to subscribers.
    pushable: Mapped[bool] = mapped_column(Boolean, default=True)
