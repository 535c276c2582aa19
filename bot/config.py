"""Settings: a TOML file plus environment variables, validated once at start-up.

Nothing here runs at import time; `load_settings` is called by the CLI. Unknown keys and bad
values raise `ConfigError` with one line naming the key, which the CLI turns into exit code 2.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from bot.domain.channel_rules import BREAKING_TOPIC
from bot.domain.filters import FilterError, check_pattern_budget, check_patterns, check_terms
from bot.outbound.templates import TemplateRefused, check_template

Language = Literal["en", "ru", "kk"]
# An edition: a language the newsroom publishes in (ISO 639-1/-3 code, lower case).
Edition = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]
DEFAULT_CONFIG_PATH = "./newsbot.toml"
DEFAULT_DATABASE_URL = "sqlite:///newsbot.db"
DEFAULT_BOT_API_URL = "https://api.telegram.org"


class ConfigError(Exception):
    """A configuration problem, phrased as one line a newsroom operator can act on."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SectionConfig(_Strict):
    """A newsroom section (the breadcrumb on the site) and the feed categories that map to it."""

    slug: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
    title: str | dict[Language, str]
    categories: list[str] = Field(default_factory=list)

    def title_in(self, language: str) -> str:
        """The section's title in `language`, falling back to English, then any title."""
        if isinstance(self.title, str):
            return self.title
        return self.title.get(language) or self.title.get("en") or next(iter(self.title.values()))


class FeedConfig(_Strict):
    """One feed to poll."""

    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    section: str | None = None
    # The edition its stories belong to (else each item's or the feed's own language).
    language: Edition | None = None
    poll_interval: Annotated[int, Field(ge=1, le=86_400)] | None = None
    # Where the other language versions of its stories are named: in the feed items'
    # hreflang links ("feed"), or also on each new story's article page ("page").
    alternates: Literal["feed", "page"] = "feed"
    # "news" (stories to store and push) or "popular" (the newsroom's own most-read list,
    # whose order is blended into /popular; its items are not pushed).
    role: Literal["news", "popular"] = "news"


_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")
_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9]"


class ChannelConfig(_Strict):
    """A newsroom chat declared in the config: its desk settings' source of truth.

    Every key is what the admin screens offer for a chat (docs/channels.md, "Channel desk");
    `topics` maps sections (and "breaking", for breaking news) to forum topic ids."""

    chat: int | str
    sections: list[str] = Field(default_factory=list)
    editions: list[Edition] = Field(default_factory=list)
    breaking: bool = True
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    include_regex: list[str] = Field(default_factory=list)
    exclude_regex: list[str] = Field(default_factory=list)
    template: str | None = None
    summary: bool = True
    related: bool = True
    image: bool = True
    link_preview: bool = True
    hashtags: bool = True
    read_button: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    signature: Annotated[str, Field(max_length=128)] | None = None
    utm: Annotated[str, Field(pattern=r"^[^\s?#]+$")] | None = None
    max_posts_per_hour: Annotated[int, Field(ge=1, le=3600)] | None = None
    quiet_hours: Annotated[str, Field(pattern=f"^{_CLOCK}-{_CLOCK}$")] | None = None
    quiet_mode: Literal["silent", "hold"] = "silent"
    roundup: bool = True
    approval: bool = False
    topics: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)

    @field_validator("chat")
    @classmethod
    def _chat_or_username(cls, value: int | str) -> int | str:
        if isinstance(value, str) and not _USERNAME.fullmatch(value):
            raise ValueError("must be the chat's numeric id or its @username")
        return value

    @field_validator("include", "exclude")
    @classmethod
    def _usable_terms(cls, value: list[str]) -> list[str]:
        try:
            return check_terms(value)
        except FilterError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("include_regex", "exclude_regex")
    @classmethod
    def _re2_accepts(cls, value: list[str]) -> list[str]:
        try:
            return check_patterns(value)
        except FilterError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _patterns_within_budget(self) -> ChannelConfig:
        """Both lists' patterns together within re2's budget for a chat (bot/domain/filters.py)."""
        try:
            check_pattern_budget([*self.include_regex, *self.exclude_regex])
        except FilterError as exc:
            raise ValueError(str(exc)) from None
        return self

    @field_validator("template")
    @classmethod
    def _telegram_takes(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            check_template(value)
        except TemplateRefused as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def ref(self) -> str:
        """The chat as the config names it (what marks it config-managed)."""
        return str(self.chat)


def _default_editions(feeds: list[FeedConfig], language: str) -> list[str]:
    """The configured feeds' languages in the order they first appear, else [language]."""
    found = list(dict.fromkeys(feed.language for feed in feeds if feed.language))
    return found or [language]


class Settings(BaseSettings):
    """Everything newsbot reads from its config file and environment."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_",
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )

    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_BOT_TOKEN"
    )
    database_url: str = DEFAULT_DATABASE_URL
    bot_api_url: Annotated[str, Field(pattern=r"^https?://\S+$")] = DEFAULT_BOT_API_URL

    timezone: str = "UTC"
    language: Language = "en"
    # The languages the newsroom publishes, in its order of preference; default: the
    # configured feeds' languages, else [language].
    editions: list[Edition] = Field(default_factory=list)
    editors: list[int] = Field(default_factory=list)
    poll_interval: Annotated[int, Field(ge=1, le=86_400)] = 120

    # Fetching limits (production defaults; see bot/feeds/fetcher.py for why each exists).
    fetch_timeout: Annotated[float, Field(gt=0, le=300)] = 20.0
    max_feed_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    max_concurrent_fetches: Annotated[int, Field(ge=1, le=1000)] = 32
    max_fetches_per_host: Annotated[int, Field(ge=1, le=100)] = 4
    max_backoff: Annotated[int, Field(ge=1)] = 6 * 3600
    # A feed without its own poll_interval waits as long as its server's TTL or max-age say,
    # up to this (bot/services/poller.py, success_interval).
    max_poll_interval: Annotated[int, Field(ge=1, le=86_400)] = 900
    # Worker processes that parse feeds (feedparser is CPU-bound pure Python); 0: a thread.
    parse_workers: Annotated[int, Field(ge=0, le=64)] = 2

    # Delivery pacing (Telegram's FAQ: ~30 messages/s per bot, 1/s per chat, 20/min per group).
    # A little under Telegram's 30/s: replies to readers' commands take the rest (they go
    # before the fan-out's next message; see FloodGuard in bot/outbound/flood_guard.py).
    send_rate: Annotated[float, Field(gt=0, le=1000)] = 29.0
    private_chat_interval: Annotated[float, Field(ge=0, le=60)] = 1.0
    group_messages_per_minute: Annotated[int, Field(ge=1, le=60)] = 20
    long_poll_timeout: Annotated[int, Field(ge=0, le=60)] = 30
    # Telegram's paid broadcasts (up to 1,000 messages/s, 0.1 Star a message) raise the pace
    # of breaking news only (stories always go at send_rate), within paid_stars_per_day
    # (None: no daily cap); once the day's budget is spent, breaking news goes at send_rate.
    allow_paid_broadcast: bool = False
    paid_send_rate: Annotated[float, Field(gt=0, le=1000)] = 1000.0
    paid_stars_per_day: Annotated[float, Field(ge=0)] | None = None

    # Daily digests: "HH:MM" times in the newsroom's time zone.
    digest_times: list[Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]] = Field(
        default_factory=list
    )

    # Operations: one optional HTTP server for the webhook, the CMS API, health and metrics.
    http_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    http_host: str = "0.0.0.0"
    webhook_url: Annotated[str, Field(pattern=r"^https://\S+$")] | None = None
    webhook_secret: SecretStr | None = None
    api_tokens: list[SecretStr] = Field(default_factory=list)
    log_format: Literal["text", "json"] = "text"
    # The console, a Telegram Mini App the HTTP server serves at /console/: the public https
    # address Telegram opens it at (a reverse proxy maps it there), and how many seconds the
    # init data Telegram signs for it stays valid (bot/domain/init_data.py).
    console_url: str | None = None
    console_session_ttl: Annotated[int, Field(ge=60)] = 3600

    sections: list[SectionConfig] = Field(default_factory=list)
    feeds: list[FeedConfig] = Field(default_factory=list)

    # The channel desk: the newsroom's own chats, and its editors' group for approvals.
    channels: list[ChannelConfig] = Field(default_factory=list)
    desk_chat: int | None = None
    approval_timeout: Annotated[int, Field(ge=60, le=7 * 86_400)] = 6 * 3600
    # Seconds a feed fails before its editors hear of it, in desk_chat or else each privately:
    # once, and once more when it works again (bot/services/feed_alerts.py).
    feed_alert_after: Annotated[int, Field(ge=60, le=7 * 86_400)] = 30 * 60

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("console_url")
    @classmethod
    def _https_only(cls, value: str | None) -> str | None:
        """Telegram opens Mini Apps over https only: anything else would never load."""
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            usable = parts.scheme == "https" and bool(parts.hostname)
        except ValueError:  # e.g. an unclosed [IPv6] host
            usable = False
        if not usable or any(c.isspace() for c in value):
            raise ValueError(
                "must be an https:// address (Telegram opens Mini Apps over https only)"
            )
        return value

    @model_validator(mode="after")
    def _references_resolve(self) -> Settings:
        if self.console_url is not None and self.http_port is None:
            raise ValueError("console_url: needs http_port, the port the console is served on")
        slugs = [section.slug for section in self.sections]
        duplicates = {slug for slug in slugs if slugs.count(slug) > 1}
        if duplicates:
            raise ValueError(f"sections: duplicate slug {sorted(duplicates)[0]!r}")
        urls = [feed.url for feed in self.feeds]
        repeated = {url for url in urls if urls.count(url) > 1}
        if repeated:
            raise ValueError(f"feeds: {sorted(repeated)[0]} is listed twice")
        if not self.editions:  # settings are frozen: the default is filled in once, here
            object.__setattr__(self, "editions", _default_editions(self.feeds, self.language))
        if len(set(self.editions)) != len(self.editions):
            raise ValueError("editions: an edition is listed twice")
        for feed in self.feeds:
            if feed.language is not None and feed.language not in self.editions:
                raise ValueError(
                    f"feeds: {feed.url} has language {feed.language!r}, which is not in "
                    f"editions {self.editions}"
                )
            if feed.section is not None and feed.section not in slugs:
                raise ValueError(
                    f"feeds: {feed.url} names section {feed.section!r}, "
                    f"which is not in [[sections]]"
                )
        self._channels_resolve(slugs)
        return self

    def _channels_resolve(self, slugs: list[str]) -> None:
        refs = [channel.ref for channel in self.channels]
        repeated = {ref for ref in refs if refs.count(ref) > 1}
        if repeated:
            raise ValueError(f"channels: {sorted(repeated)[0]} is listed twice")
        for index, channel in enumerate(self.channels):
            key = f"channels.{index}"
            if channel.approval and self.desk_chat is None:
                raise ValueError(f"{key}.approval: needs desk_chat, the editors' group")
            topics = [slug for slug in channel.topics if slug != BREAKING_TOPIC]
            for slug in [*channel.sections, *topics]:
                if slug not in slugs:
                    raise ValueError(f"{key}: section {slug!r} is not in [[sections]]")
            for edition in channel.editions:
                if edition not in self.editions:
                    raise ValueError(
                        f"{key}.editions: {edition!r} is not in editions {self.editions}"
                    )

    @property
    def default_edition(self) -> str:
        """The edition a story or chat falls back to: the newsroom's `language` when it
        publishes in it, else its first edition."""
        return self.language if self.language in self.editions else self.editions[0]

    def edition_of(self, language: str | None) -> str:
        """The edition a story in `language` (or a chat speaking it) belongs to."""
        return language if language in self.editions else self.default_edition

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def section(self, slug: str) -> SectionConfig | None:
        return next((section for section in self.sections if section.slug == slug), None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file: the file content arrives through init_settings,
        # so env_settings is listed first.
        return (env_settings, init_settings)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found (set NEWSBOT_CONFIG or --config)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None


def _describe(error: ValidationError) -> str:
    """One line for the first problem: the dotted key and what is wrong with it."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "config"
    if first["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    message = first["msg"].removeprefix("Value error, ")
    return f"{key}: {message}"


def resolve_config_path(explicit: str | None) -> tuple[Path, bool]:
    """The config path and whether the user named it (a named file must exist)."""
    if explicit:
        return Path(explicit), True
    from_env = os.environ.get("NEWSBOT_CONFIG")
    if from_env:
        return Path(from_env), True
    return Path(DEFAULT_CONFIG_PATH), False


def load_settings(config_path: str | None = None) -> Settings:
    """Read the TOML file (if any) and the environment; raise ConfigError on any problem."""
    path, named = resolve_config_path(config_path)
    data: dict[str, Any] = {}
    if named or path.exists():
        data = _read_toml(path)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(f"config error in {path}: {_describe(exc)}") from None
    except SettingsError as exc:  # an environment value that is not JSON where JSON is due
        raise ConfigError(f"config error: {exc} (a list is written as JSON)") from None
