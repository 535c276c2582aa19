"""The `newsbot` console script: run, poll, feeds, stats, preview, db upgrade."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import click

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.setup.logs import configure_logging

log = logging.getLogger("newsbot")  # the same under `python -m bot.cli` and the script

TOKEN_REFUSED = "Telegram refused the bot token (401 Unauthorized): check TELEGRAM_BOT_TOKEN"

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (TOML). Default: $NEWSBOT_CONFIG or ./newsbot.toml.",
)


def _settings(config_path: str | None) -> Settings:
    """Load settings or exit 2 with the one-line reason (never a traceback)."""
    try:
        settings = load_settings(config_path)
    except ConfigError as exc:
        click.echo(f"newsbot: {exc}", err=True)
        sys.exit(2)
    configure_logging(secrets=_secrets(settings), log_format=settings.log_format)
    return settings


def _secrets(settings: Settings) -> list[str]:
    """Everything that must never reach a log line: bot token, webhook secret, API tokens."""
    values = [settings.telegram_bot_token, settings.webhook_secret, *settings.api_tokens]
    return [value.get_secret_value() for value in values if value is not None]


def _run(coroutine_factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(coroutine_factory())


@click.group()
@click.version_option(__version__, prog_name="newsbot")
def main() -> None:
    """newsbot: a Telegram news-distribution bot for newsrooms."""


@main.command()
@config_option
@click.option(
    "--webhook",
    "webhook_url",
    default=None,
    metavar="URL",
    help="Take Telegram updates by webhook at this https URL (needs http_port).",
)
def run(config_path: str | None, webhook_url: str | None) -> None:
    """Run the bot: poll feeds on schedule and serve Telegram until SIGTERM/SIGINT."""
    from telegram.error import InvalidToken

    from bot.app import run as run_app

    settings = _settings(config_path)
    if webhook_url is not None:
        if not webhook_url.startswith("https://") or " " in webhook_url:
            _refuse("--webhook: Telegram needs an https:// URL")
        settings = settings.model_copy(update={"webhook_url": webhook_url})
    if settings.webhook_url and settings.http_port is None:
        _refuse("webhook_url: needs http_port (the port the webhook is served on)")
    try:
        _run(lambda: run_app(settings))
    except InvalidToken:
        # PTB's own message quotes the token; this line names the setting instead.
        log.error(TOKEN_REFUSED)
        sys.exit(2)


def _refuse(line: str) -> None:
    click.echo(f"newsbot: config error: {line}", err=True)
    sys.exit(2)


@main.command()
@config_option
def poll(config_path: str | None) -> None:
    """Poll every feed once, print a line per feed, and exit."""
    from bot.operations import poll_once

    settings = _settings(config_path)
    failures = _run(lambda: poll_once(settings))
    sys.exit(1 if failures and failures == len(settings.feeds) else 0)


@main.command()
@config_option
def feeds(config_path: str | None) -> None:
    """List feeds with their health: last fetch, status, errors, next poll, stored items."""
    from bot.operations import show_feeds

    settings = _settings(config_path)
    _run(lambda: show_feeds(settings, now=datetime.now(UTC)))


@main.command()
@config_option
def stats(config_path: str | None) -> None:
    """Print feeds' health, deliveries per day (7 days) and the top stories."""
    from bot.operations import show_stats

    settings = _settings(config_path)
    _run(lambda: show_stats(settings, now=datetime.now(UTC)))


@main.command()
@click.argument("url")
@config_option
def preview(url: str, config_path: str | None) -> None:
    """Fetch one feed and print how its newest stories would look in Telegram (no token)."""
    from bot.operations import preview_feed

    settings = _settings(config_path)
    sys.exit(_run(lambda: preview_feed(settings, url)))


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: str | None) -> None:
    """Apply database migrations up to the newest."""
    from bot.operations import upgrade_database

    settings = _settings(config_path)
    _run(lambda: upgrade_database(settings))


if __name__ == "__main__":
    main()
