"""The services the handlers use, built once in bot.setup.telegram_side and handed to each
handler group."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.config import Settings
from bot.delivery.approval_desk import DeskPoster
from bot.outbound.i18n import Catalogues, Translator
from bot.services.admins import Admins
from bot.services.approvals import Approvals
from bot.services.breaking import Breaking
from bot.services.channel_settings import ChannelScreens
from bot.services.newsdesk import Newsdesk
from bot.services.readers import Readers


@dataclass(frozen=True)
class BotServices:
    settings: Settings
    catalogues: Catalogues
    readers: Readers
    newsdesk: Newsdesk
    admins: Admins
    breaking: Breaking
    # A chat's channel settings, as its admins see and change them (/channels -> Settings).
    channel_settings: ChannelScreens
    # Called after an editor confirms: the sender starts at once instead of at its next tick.
    wake_delivery: Callable[[], None] = field(default=lambda: None)
    # The editors' desk (approvals) and its chat's messages; None in a bot built without.
    approvals: Approvals | None = None
    desk_poster: DeskPoster | None = None

    def translator(self, language: str | None) -> Translator:
        return self.catalogues.translator(language or self.settings.language)

    def section_titles(self, language: str) -> dict[str, str]:
        return {s.slug: s.title_in(language) for s in self.settings.sections}

    def slugs(self) -> str:
        return ", ".join(s.slug for s in self.settings.sections)
