"""What the operator's one-shot commands do and print: poll once, feed health, stats,
db upgrade."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import click

from bot.config import Settings
from bot.services.poller import PollOutcome
from bot.setup.core import open_core
from storage import feeds as feed_queries
from storage.approvals import Decision
from storage.db import create_database, redacted
from storage.migrate import current_revision, upgrade
from storage.states import ApprovalStatus, DeliveryStatus, PollStatus
from storage.stats import Backlog, Outbox


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def format_outcome(outcome: PollOutcome) -> str:
    line = (
        f"{outcome.status:<14} {outcome.new:>5} new {outcome.updated:>4} updated "
        f"{outcome.elapsed:>6.2f}s  {outcome.url}"
    )
    notes = [outcome.detail] if outcome.detail else []
    if outcome.ranked:
        notes.append(f"most-read list: {outcome.ranked} places")
    return f"{line}  ({'; '.join(notes)})" if notes else line


async def poll_once(settings: Settings) -> int:
    """Poll every enabled feed once; print one line each; return how many failed."""
    async with open_core(settings) as core:
        outcomes: Sequence[PollOutcome] = await core.poller.poll_all()
    for outcome in outcomes:
        click.echo(format_outcome(outcome))
    failed = sum(1 for outcome in outcomes if not outcome.ok)
    new = sum(outcome.new for outcome in outcomes)
    click.echo(f"{len(outcomes)} feeds polled, {failed} failed, {new} new stories")
    return failed


async def show_feeds(settings: Settings, *, now: datetime) -> None:
    """Print each feed's health, the newest problems first to catch the eye, and the repair
    the latest read of each feed needed, if any."""
    async with open_core(settings) as core, core.database.sessions() as session:
        health = await feed_queries.feed_health(session)
    if not health:
        click.echo("no feeds configured: add [[feeds]] to the config file")
        return
    click.echo(
        f"{'STATUS':<14} {'ERRORS':>6} {'STORED':>7} {'LAST FETCH':>12} {'NEXT POLL':>12}  URL"
    )
    for feed in health:
        status = feed.last_status or "new"
        if not feed.enabled:
            status = "disabled"
        click.echo(
            f"{status:<14} {feed.consecutive_errors:>6} {feed.stored_items:>7} "
            f"{_ago(feed.last_fetched_at, now):>12} "
            f"{_ago(feed.next_poll_at, now) if feed.enabled else '-':>12}  {feed.url}"
            + (f"  (most-read list: {feed.list_places} places)" if feed.role == "popular" else "")
        )
        if feed.last_error and feed.last_status not in (PollStatus.OK, PollStatus.NOT_MODIFIED):
            click.echo(f"{'':<14} {feed.last_error}")
        if feed.last_warning:
            # Read, but only after a repair: the newsroom's feed is broken in a way readers
            # do not see, so it is shown until a poll reads the feed clean.
            click.echo(f"{'':<14} warning ({_ago(feed.last_warning_at, now)}): {feed.last_warning}")


async def upgrade_database(settings: Settings) -> None:
    database = create_database(settings.database_url)
    try:
        await upgrade(database)
        revision = await current_revision(database)
    finally:
        await database.dispose()
    click.echo(f"database {redacted(settings.database_url)} is at revision {revision}")


async def preview_feed(settings: Settings, url: str, *, count: int = 5) -> int:
    """Fetch one feed and print its newest stories as Telegram would show them."""
    from datetime import UTC
    from datetime import datetime as clock

    from bot.feeds.extract import extract_stories
    from bot.feeds.fetcher import Fetcher, build_http_client, default_user_agent
    from bot.feeds.normalize import FeedContext, build_category_map
    from bot.outbound.i18n import Catalogues
    from bot.outbound.preview import as_terminal_text
    from bot.outbound.render import render_story

    configured = next((feed for feed in settings.feeds if feed.url == url), None)
    async with build_http_client(
        timeout=settings.fetch_timeout, user_agent=default_user_agent()
    ) as http:
        fetcher = Fetcher(
            http, max_bytes=settings.max_feed_bytes, max_concurrency=1, max_per_host=1
        )
        fetched = await fetcher.fetch(url)
    if fetched.error is not None or fetched.content is None:
        click.echo(f"could not fetch {url}: {fetched.error} ({fetched.detail})", err=True)
        return 1
    context = FeedContext(
        feed_url=fetched.final_url,
        section=configured.section if configured else None,
        language=configured.language if configured else None,
        categories=build_category_map(settings.sections),
        now=clock.now(UTC),
    )
    extraction = extract_stories(fetched.content, fetched.final_url, fetched.headers, context)
    if extraction.error is not None:
        click.echo(f"{url} is not a readable feed: {extraction.detail}", err=True)
        return 1
    newest = sorted(extraction.drafts, key=lambda draft: draft.published_at, reverse=True)
    t = Catalogues.load().translator(settings.language)
    click.echo(f"{extraction.title or url}: {len(extraction.drafts)} stories, newest first\n")
    for draft in newest[:count]:
        section = settings.section(draft.section) if draft.section else None
        message = render_story(
            draft,
            t=t,
            zone=settings.zone,
            section_title=section.title_in(settings.language) if section else None,
        )
        click.echo(as_terminal_text(message))
        click.echo("─" * 60)
    return 0


# ---- newsbot stats ---------------------------------------------------------------------

STATS_DAYS = 7
TOP_STORIES = 10
DELIVERY_STATES = tuple(DeliveryStatus)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: int = 0) -> str:
    """Columns padded to their widest cell; the last `right` columns align right (numbers)."""
    cells = [list(headers), *[[str(cell) for cell in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    first_right = len(headers) - right

    def line(row: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if i >= first_right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join(
        [line(cells[0]), line(["─" * width for width in widths])] + [line(row) for row in cells[1:]]
    )


async def show_stats(settings: Settings, *, now: datetime) -> None:
    """Feeds' health, deliveries per day and the week's top stories, as terminal tables."""
    from collections import Counter
    from datetime import timedelta

    from storage import approvals as approval_queries
    from storage import engagement as engagement_queries
    from storage import stats as stats_queries

    since = now - timedelta(days=STATS_DAYS)
    async with open_core(settings) as core, core.database.sessions() as session:
        health = await feed_queries.feed_health(session)
        per_day = await stats_queries.deliveries_per_day(session, since)
        top = await engagement_queries.popular(session, since=since, now=now, limit=TOP_STORIES)
        reasons = await stats_queries.failure_reasons(session, since=since, limit=TOP_STORIES)
        approvals = await approval_queries.counts(session)
        decisions = await approval_queries.recent_decisions(session, limit=TOP_STORIES)
        outbox = await stats_queries.outbox(session, now)
        backlog = await stats_queries.backlog_since(session, now - timedelta(hours=1))
    _show_outbox(outbox, backlog, now)
    click.echo(f"\nFeeds ({len(health)})")
    statuses = Counter(
        "disabled" if not feed.enabled else feed.last_status or "new" for feed in health
    )
    click.echo(table(["STATUS", "FEEDS"], sorted(statuses.items()), right=1))
    failing = [f for f in health if f.enabled and f.consecutive_errors]
    if failing:
        click.echo("\nFailing feeds")
        click.echo(
            table(
                ["URL", "STATUS", "ERRORS", "LAST FETCH"],
                [
                    (
                        f.url,
                        f.last_status or "-",
                        f.consecutive_errors,
                        _ago(f.last_fetched_at, now),
                    )
                    for f in failing
                ],
                right=2,
            )
        )
    days: dict[str, dict[str, int]] = {}
    for count in per_day:
        days.setdefault(count.day, {})[count.status] = count.count
    click.echo(f"\nDeliveries per day (UTC, last {STATS_DAYS} days)")
    click.echo(
        table(
            ["DAY", *(state.upper() for state in DELIVERY_STATES)],
            [
                (day, *(counts.get(state, 0) for state in DELIVERY_STATES))
                for day, counts in sorted(days.items())
            ],
            right=len(DELIVERY_STATES),
        )
        if days
        else "no deliveries"
    )
    click.echo(f"\nTop stories (last {STATS_DAYS} days, by engagement)")
    zone = settings.zone
    click.echo(
        table(
            ["#", "PUBLISHED", "SECTION", "TITLE"],
            [
                (
                    rank,
                    story.published_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                    story.section or "-",
                    story.title if len(story.title) <= 70 else story.title[:69] + "…",
                )
                for rank, story in enumerate(top, 1)
            ],
        )
        if top
        else "no engagement recorded yet"
    )
    if reasons:
        click.echo(f"\nFailed deliveries by reason (last {STATS_DAYS} days)")
        click.echo(
            table(["REASON", "COUNT"], [(r.reason[:100], r.count) for r in reasons], right=1)
        )
    if approvals:
        _show_approvals(approvals, decisions, settings)


def _show_outbox(outbox: Outbox, backlog: Backlog, now: datetime) -> None:
    """The backlog on one line: what waits now, and how the last hour's messages went."""

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} s"

    oldest = outbox.oldest_queued_at
    per_bundle = backlog.stories_in_bundles / backlog.bundles if backlog.bundles else None
    click.echo("Outbox (pending now; messages sent in the last hour)")
    click.echo(
        table(
            ["PENDING", "OLDEST DUE", "MESSAGES", "LAG P50", "LAG P95", "BUNDLES", "PER BUNDLE"],
            [
                (
                    outbox.depth,
                    seconds((now - oldest).total_seconds() if oldest else None),
                    backlog.messages,
                    seconds(backlog.lag_p50),
                    seconds(backlog.lag_p95),
                    backlog.bundles,
                    "-" if per_bundle is None else f"{per_bundle:.1f}",
                )
            ],
            right=7,
        )
    )


def _show_approvals(
    counts: dict[str, int], decisions: Sequence[Decision], settings: Settings
) -> None:
    """The editors' desk: approvals per status, and who decided the latest, when."""
    click.echo("\nApprovals (editors' desk)")
    click.echo(
        table(
            ["STATUS", "STORIES"],
            [(status.value, counts.get(status.value, 0)) for status in ApprovalStatus],
            right=1,
        )
    )
    if not decisions:
        return
    zone = settings.zone
    click.echo(f"\nLatest decisions (last {len(decisions)})")
    click.echo(
        table(
            ["DECIDED", "DECISION", "EDITOR", "HEADLINE"],
            [
                (
                    d.decided_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                    if d.decided_at
                    else "-",
                    d.status.value,
                    d.decided_by_name or (str(d.decided_by) if d.decided_by else "(timeout)"),
                    _short(d.headline or d.title),
                )
                for d in decisions
            ],
        )
    )


def _short(title: str) -> str:
    return title if len(title) <= 70 else title[:69] + "…"
