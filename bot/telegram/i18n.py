"""The bot's interface language (en, ru, kk): gettext catalogues read with Babel, CLDR dates.

The catalogues are ordinary gettext .po files, one per language, under
`bot/telegram/locales/<lang>/LC_MESSAGES/newsbot.po`. Their msgids are message KEYS
("welcome", "breaking_report"), not English sentences, so rewording the English text never
orphans a translation; the English catalogue holds the English texts. Placeholders are
`str.format` fields ("{section}"). Catalogue texts are plain text: callers escape them for
Telegram's HTML mode.

Nothing is compiled: the .po files are parsed once at start-up with
`babel.messages.pofile.read_po`, so a translator's edit needs no build step.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, format_skeleton, get_date_format
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

SUPPORTED: tuple[str, ...] = ("en", "ru", "kk")
FALLBACK = "en"
DOMAIN = "newsbot"
_PACKAGE = "bot.telegram"  # the catalogues ship inside it (pyproject package-data)

# The CLDR locale behind each interface language. English is British English: the newsroom's
# site writes "18 November 2022, 17:38", day first, on a 24-hour clock.
_DATE_LOCALES: Mapping[str, str] = {"en": "en_GB", "ru": "ru", "kk": "kk"}

_CLOCK = "HH:mm"


def pick_language(user_language_code: str | None, default: str) -> str:
    """The interface language for a Telegram user's `language_code` (an IETF tag).

    Only the primary subtag matters: "ru-RU" -> "ru", "en-GB" -> "en", "kk" -> "kk";
    anything unsupported or missing -> `default` (the newsroom's configured language).
    """
    if not user_language_code:
        return default
    primary = user_language_code.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED else default


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment` on the newsroom's clock; a naive datetime is taken to be UTC (as stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


class Translator:
    """The interface texts and date formats of one language.

    A key missing from a Kazakh or Russian catalogue falls back to the English text, so a
    half-finished translation still shows something readable; a key missing everywhere shows
    the key itself (and is logged once) rather than failing the reader's request.
    """

    __slots__ = ("_fallback", "_locale", "_messages", "_missing", "language")

    def __init__(
        self,
        language: str,
        messages: Mapping[str, str],
        fallback: Mapping[str, str],
        missing: set[str],
    ) -> None:
        self.language = language
        self._messages = messages
        self._fallback = fallback
        self._missing = missing  # shared by all translators: each missing key is logged once
        self._locale = Locale.parse(_DATE_LOCALES.get(language, _DATE_LOCALES[FALLBACK]))

    def __repr__(self) -> str:
        return f"Translator({self.language!r})"

    def __call__(self, key: str, /, **params: object) -> str:
        """The text for `key` in this language, with `params` filled in by `str.format`."""
        text = self._messages.get(key)
        if text is None:
            text = self._fallback.get(key)
        if text is None:
            self._report_missing(key)
            return key
        if not params:
            return text
        return self._format(key, text, params)

    def _format(self, key: str, text: str, params: Mapping[str, object]) -> str:
        """Fill in the placeholders; a broken translation falls back to English, not a crash."""
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError) as exc:
            log.warning("i18n: %s text for %r does not format: %r", self.language, key, exc)
        english = self._fallback.get(key, key)
        try:
            return english.format(**params)
        except (KeyError, IndexError, ValueError):
            return english

    def _report_missing(self, key: str) -> None:
        if key not in self._missing:
            self._missing.add(key)
            log.warning("i18n: no text for key %r in any catalogue", key)

    def date(self, moment: datetime, zone: ZoneInfo) -> str:
        """Date and time on the newsroom's clock: "18 November 2022, 17:38",
        "18 ноября 2022 г., 17:38", "2022 ж. 18 қараша, 17:38" (CLDR's long date per language)."""
        pattern = f"{get_date_format('long', locale=self._locale).pattern}, {_CLOCK}"
        return format_datetime(_local(moment, zone), pattern, tzinfo=zone, locale=self._locale)

    def time(self, moment: datetime, zone: ZoneInfo) -> str:
        """The time on the newsroom's 24-hour clock: "17:38"."""
        return format_datetime(_local(moment, zone), _CLOCK, tzinfo=zone, locale=self._locale)

    def day(self, moment: datetime, zone: ZoneInfo) -> str:
        """Day and month on the newsroom's calendar: "18 November", "18 ноября", "18 қараша"."""
        return format_skeleton("MMMMd", _local(moment, zone), tzinfo=zone, locale=self._locale)


def _read_catalogue(language: str) -> dict[str, str]:
    """The translated messages of one .po file; fuzzy and empty entries are not translations."""
    path = resources.files(_PACKAGE) / "locales" / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN, abort_invalid=True)
    return {
        message.id: message.string
        for message in catalog
        if isinstance(message.id, str)
        and message.id
        and isinstance(message.string, str)
        and message.string
        and not message.fuzzy
    }


class Catalogues:
    """All interface languages, loaded once; hands out a `Translator` per language."""

    def __init__(self, messages: Mapping[str, Mapping[str, str]]) -> None:
        if FALLBACK not in messages:
            raise ValueError(f"the {FALLBACK!r} catalogue is required (it is the fallback)")
        self._messages = {language: dict(texts) for language, texts in messages.items()}
        self._missing: set[str] = set()
        self._translators: dict[str, Translator] = {}

    @classmethod
    def load(cls) -> Catalogues:
        """Read the three .po files shipped in the package (raises if one is missing/invalid)."""
        return cls({language: _read_catalogue(language) for language in SUPPORTED})

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._messages)

    def keys(self, language: str = FALLBACK) -> frozenset[str]:
        """The keys one catalogue translates (the English one is the reference)."""
        return frozenset(self._messages.get(language, {}))

    def translator(self, language: str | None) -> Translator:
        """The translator for `language` ("ru", "ru-RU", ...); unknown or None -> English."""
        code = pick_language(language, FALLBACK)
        if code not in self._messages:
            code = FALLBACK
        if code not in self._translators:
            self._translators[code] = Translator(
                code, self._messages[code], self._messages[FALLBACK], self._missing
            )
        return self._translators[code]
