"""The bot's interface language (en, ru, kk): gettext catalogues read with Babel, CLDR dates.

The catalogues are ordinary gettext .po files, one per language, under
`bot/outbound/locales/<lang>/LC_MESSAGES/newsbot.po`. Their msgids are message KEYS
("welcome", "breaking_report"), not English sentences, so rewording the English text never
orphans a translation; the English catalogue holds the English texts. Placeholders are
`str.format` fields ("{section}"). Catalogue texts are plain text: callers escape them for
Telegram's HTML mode.

Nothing is compiled ahead: the .po files are parsed once at start-up with Babel and compiled
in memory into gettext `Translations` (with fallbacks and plural forms), so a translator's
edit needs no build step.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from gettext import NullTranslations
from importlib import resources
from io import BytesIO
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_skeleton, get_date_format
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from babel.units import format_unit

from bot.domain.feed_alerts import duration_parts

log = logging.getLogger(__name__)

SUPPORTED: tuple[str, ...] = ("en", "ru", "kk")
FALLBACK = "en"
DOMAIN = "newsbot"
_PACKAGE = "bot.outbound"  # the catalogues ship inside it (pyproject package-data)

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

    Texts come from Babel's `Translations` (gettext), with the English catalogue added as
    the fallback: a key missing from a Kazakh or Russian catalogue shows the English text, so
    a half-finished translation still shows something readable; a key missing everywhere
    shows the key itself (and is logged once) rather than failing the reader's request.
    Counted phrases use gettext's plural forms (`plural`), so Russian reads "1 чат, 3 чата,
    5 чатов" by the catalogue's own Plural-Forms rule.
    """

    __slots__ = ("_english", "_known", "_locale", "_missing", "_translations", "language")

    def __init__(
        self,
        language: str,
        translations: NullTranslations,
        english: NullTranslations,
        known: frozenset[str],
        missing: set[str],
    ) -> None:
        self.language = language
        self._translations = translations
        self._english = english
        self._known = known  # keys that some catalogue (this one or English) translates
        self._missing = missing  # shared by all translators: each missing key is logged once
        self._locale = Locale.parse(_DATE_LOCALES.get(language, _DATE_LOCALES[FALLBACK]))

    def __repr__(self) -> str:
        return f"Translator({self.language!r})"

    def __call__(self, key: str, /, **params: object) -> str:
        """The text for `key` in this language, with `params` filled in by `str.format`."""
        if key not in self._known:
            self._report_missing(key)
            return key
        text = self._translations.gettext(key)
        if not params:
            return text
        return self._format(key, text, params, self._english.gettext(key))

    def plural(self, key: str, count: int, /, **params: object) -> str:
        """The counted phrase `key` for `count` ("{count} chats"), in this language's plural
        form for that number; `{count}` and `params` are filled in."""
        if key not in self._known:
            self._report_missing(key)
            return f"{key} {count}"
        text = self._translations.ngettext(key, plural_id(key), count)
        english = self._english.ngettext(key, plural_id(key), count)
        return self._format(key, text, {"count": count, **params}, english)

    def _format(self, key: str, text: str, params: Mapping[str, object], english: str) -> str:
        """Fill in the placeholders; a broken translation falls back to English, not a crash."""
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError) as exc:
            log.warning("i18n: %s text for %r does not format: %r", self.language, key, exc)
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

    def duration(self, length: timedelta) -> str:
        """A length of time in words, its largest unit and the next (bot/domain/feed_alerts.py
        duration_parts): "1 hour 35 minutes", "1 час 35 минут", "1 сағат 35 минут" (CLDR's
        unit names, with each language's plural forms)."""
        return " ".join(
            format_unit(count, f"duration-{unit}", length="long", locale=self._locale)
            for unit, count in duration_parts(length)
        )


def plural_id(key: str) -> str:
    """The msgid_plural of a counted phrase: its key with "_plural" (keys, not English)."""
    return f"{key}_plural"


def _read_catalogue(language: str) -> Catalog:
    """One shipped .po file as a Babel catalogue (invalid syntax raises at start-up)."""
    path = resources.files(_PACKAGE) / "locales" / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN, abort_invalid=True)


def _translated(catalog: Catalog) -> frozenset[str]:
    """The keys a catalogue really translates: fuzzy and empty entries are not translations."""
    keys: set[str] = set()
    for message in catalog:
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if key and not message.fuzzy and all(strings):
            keys.add(key)
    return frozenset(keys)


def _compiled(catalog: Catalog) -> Translations:
    """The catalogue as gettext `Translations`, compiled in memory (nothing to build)."""
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def catalogue_of(language: str, texts: Mapping[str, str | Sequence[str]]) -> Catalog:
    """A catalogue from key -> text (or key -> plural forms), for tests and tools."""
    catalog = Catalog(locale=language, domain=DOMAIN)
    for key, text in texts.items():
        if isinstance(text, str):
            catalog.add(key, text)
        else:
            catalog.add((key, plural_id(key)), tuple(text))
    return catalog


class Catalogues:
    """All interface languages, loaded once; hands out a `Translator` per language."""

    def __init__(self, catalogs: Mapping[str, Catalog]) -> None:
        if FALLBACK not in catalogs:
            raise ValueError(f"the {FALLBACK!r} catalogue is required (it is the fallback)")
        self._keys = {language: _translated(catalog) for language, catalog in catalogs.items()}
        self._compiled = {language: _compiled(catalog) for language, catalog in catalogs.items()}
        self._missing: set[str] = set()
        self._translators: dict[str, Translator] = {}

    @classmethod
    def load(cls) -> Catalogues:
        """Read the three .po files shipped in the package (raises if one is missing/invalid)."""
        return cls({language: _read_catalogue(language) for language in SUPPORTED})

    @classmethod
    def from_texts(cls, texts: Mapping[str, Mapping[str, str | Sequence[str]]]) -> Catalogues:
        return cls({language: catalogue_of(language, t) for language, t in texts.items()})

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._compiled)

    def keys(self, language: str = FALLBACK) -> frozenset[str]:
        """The keys one catalogue translates (the English one is the reference)."""
        return self._keys.get(language, frozenset())

    def translator(self, language: str | None) -> Translator:
        """The translator for `language` ("ru", "ru-RU", ...); unknown or None -> English."""
        code = pick_language(language, FALLBACK)
        if code not in self._compiled:
            code = FALLBACK
        if code not in self._translators:
            english = self._compiled[FALLBACK]
            translations = self._compiled[code]
            if code != FALLBACK:
                translations = _with_fallback(translations, english)
            known = self._keys[code] | self._keys[FALLBACK]
            self._translators[code] = Translator(code, translations, english, known, self._missing)
        return self._translators[code]


def _with_fallback(translations: Translations, fallback: Translations) -> Translations:
    """A copy of `translations` that falls back to `fallback` (English) for missing keys.

    Each language gets its own object: `add_fallback` changes the object it is called on.
    """
    own = copy.copy(translations)
    own.add_fallback(fallback)
    return own


# Each interface language as its readers call it (the language switch and edition toggles).
LANGUAGE_NAMES: Mapping[str, str] = {"en": "English", "ru": "Русский", "kk": "Қазақша"}


def language_name(code: str) -> str:
    """A language's name in that language ("Қазақша", "Deutsch"), for buttons that lead to
    it: ours for the interface languages, else CLDR's (Babel), capitalised; the code itself
    when CLDR does not know it."""
    if code in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[code]
    try:
        name = Locale.parse(code).get_display_name(code)
    except (ValueError, UnknownLocaleError):
        name = None
    return name[:1].upper() + name[1:] if name else code
