"""Each feed's health as the console shows it: when it last worked, what failed, what next.

Read-only, one row a feed and no count over the stories (storage/feeds.feed_health counts
them for `newsbot feeds`; the console answers on every tab switch and must stay cheap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feed


@dataclass(frozen=True, slots=True)
class FeedStatus:
    url: str
    title: str | None
    section: str | None
    language: str | None
    role: str
    enabled: bool
    last_success_at: datetime | None
    last_fetched_at: datetime | None
    # The last poll's status: "ok", "not_modified", "skipped", or the error's key.
    last_status: str | None
    last_error: str | None
    consecutive_errors: int
    next_poll_at: datetime | None
    last_warning: str | None


async def feed_statuses(session: AsyncSession) -> list[FeedStatus]:
    """Every feed, enabled ones first, in the config's order (their ids)."""
    query = select(Feed).order_by(Feed.enabled.desc(), Feed.id)
    return [
        FeedStatus(
            url=feed.url,
            title=feed.title,
            section=feed.section,
            language=feed.language,
            role=feed.role,
            enabled=feed.enabled,
            last_success_at=feed.last_success_at,
            last_fetched_at=feed.last_fetched_at,
            last_status=feed.last_status,
            last_error=feed.last_error,
            consecutive_errors=feed.consecutive_errors,
            next_poll_at=feed.next_poll_at,
            last_warning=feed.last_warning,
        )
        for feed in await session.scalars(query)
    ]
