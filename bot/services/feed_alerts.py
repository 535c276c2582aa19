"""The editors' alerts about failing feeds (the "tell the desk" use case): one message when a
feed has failed for `feed_alert_after`, one more when it works again, nothing in between.

What is due is decided by bot/domain/feed_alerts.py from what the poller records on the feed
(storage/feeds.py record_poll: when its run of failures began); who hears it, in which
language, is bot/delivery/editor_notices.py's (the desk chat, else each editor).

A job runs `run` every FEED_ALERTS_SECONDS, added once Telegram answers (bot/setup/
telegram_side.py start_sending): without a token, or while the Bot API is out of reach,
nothing runs, so no alert is marked sent that nobody got. A check between polls, not after
each: a feed backing off may next be polled hours later, and the editors should hear of it
when the threshold passes, not then.

Claimed, then sent: each alert is taken by one UPDATE before it goes out, so of several
instances (or one restarted) only the one that took it sends it. A message nobody got for a
passing reason (429, network trouble) is given back for the next run; one that Telegram
refuses (the desk chat gone, an editor who never wrote to the bot) is logged and counts as
sent. A crash between the claim and the send loses that one message: at most once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.delivery.editor_notices import EditorNotices
from bot.domain.feed_alerts import FeedAlert, describe_error, next_alert, outage
from bot.domain.identity import without_credentials
from bot.outbound.i18n import Translator
from bot.outbound.reports import render_feed_down, render_feed_recovered
from storage import feeds as feed_queries
from storage.db import Database
from storage.feeds import AlertRow

log = logging.getLogger(__name__)

# How often the job looks: alerts come at most this late after the threshold.
FEED_ALERTS_SECONDS = 30.0


class FeedAlerts:
    def __init__(
        self,
        database: Database,
        notices: EditorNotices,
        after: timedelta,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._notices = notices
        self._after = after
        self._clock = clock

    async def run(self) -> int:
        """Send what is due for every feed; how many messages went out (alerts and
        recoveries). With no desk chat and no editors nobody can hear: nothing is claimed."""
        if not self._notices.chats:
            return 0
        async with self._db.sessions() as session:
            rows = await feed_queries.alert_rows(session)
        now = self._clock()
        sent = 0
        for row in rows:
            due = next_alert(row.state, now, self._after)
            try:
                if due is FeedAlert.DOWN:
                    sent += await self._down(row, now)
                elif due is FeedAlert.RECOVERED:
                    sent += await self._recovered(row, now)
            except Exception:  # one feed's trouble (a database hiccup) must not stop the rest
                log.exception(
                    "feed alert for %s failed; trying again at the next check", _shown(row.url)
                )
        return sent

    async def _down(self, row: AlertRow, now: datetime) -> bool:
        since = row.state.failing_since
        assert since is not None
        async with self._db.writing(), self._db.sessions.begin() as session:
            if not await feed_queries.claim_down_alert(session, row.id, since):
                return False  # another instance took it, or the feed answered meanwhile
        error = describe_error(row.last_status, row.last_error)
        down_for = outage(row.state, now)
        log.warning(
            "feed %s has failed for %d min: %s; telling the editors",
            _shown(row.url),
            down_for.total_seconds() // 60,
            error,
        )

        def render(t: Translator) -> str:
            return render_feed_down(row.title, _shown(row.url), error, down_for, t=t)

        told = await self._notices.tell(render, f"that feed {_shown(row.url)} is down")
        if told.retry:
            async with self._db.writing(), self._db.sessions.begin() as session:
                await feed_queries.release_down_alert(session, row.id, since)
            return False
        return told.told > 0

    async def _recovered(self, row: AlertRow, now: datetime) -> bool:
        since = row.state.alerted_since
        assert since is not None
        async with self._db.writing(), self._db.sessions.begin() as session:
            if not await feed_queries.claim_recovery(session, row.id, since):
                return False
        was_down = outage(row.state, now)
        log.info(
            "feed %s works again after %d min down; telling the editors",
            _shown(row.url),
            was_down.total_seconds() // 60,
        )

        def render(t: Translator) -> str:
            return render_feed_recovered(row.title, _shown(row.url), was_down, t=t)

        told = await self._notices.tell(render, f"that feed {_shown(row.url)} works again")
        if told.retry:
            async with self._db.writing(), self._db.sessions.begin() as session:
                await feed_queries.release_recovery(session, row.id, since)
            return False
        return told.told > 0


def _shown(url: str) -> str:
    """A feed's address as editors may see it: a user:password in it (httpx's basic auth)
    never reaches Telegram or the log."""
    return without_credentials(url) or url
