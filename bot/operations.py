"""What the operator's one-shot commands do and print: poll once, feed health, db upgrade."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import click

from bot.app import open_core
from bot.config import Settings
from bot.feeds.poller import PollOutcome
from storage import feeds as feed_queries
from storage.db import create_database, redacted
from storage.migrate import current_revision, upgrade


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
    return f"{line}  ({outcome.detail})" if outcome.detail else line


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
    """Print each feed's health, the newest problems first to catch the eye."""
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
        )
        if feed.last_error and feed.last_status not in ("ok", "not_modified"):
            click.echo(f"{'':<14} {feed.last_error}")


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
    from bot.telegram.i18n import Catalogues
    from bot.telegram.preview import as_terminal_text
    from bot.telegram.render import render_story

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
