"""Inline keyboards and the callback data behind their buttons.

Callback data is at most 64 bytes (Bot API, InlineKeyboardButton) and comes back from the
client: it is parsed strictly (bot/outbound/callbacks.py, one parser for every button; a
button built here must fit it) and carries no rights. Formats (`:`-separated):
  sub:<slug>                toggle a section for the chat the button is in
  sec:<slug>                show a section's newest stories
  lang:<code>               set the chat's language
  ed:<code>                 toggle an edition for the chat the button is in
  today:<page>[:<slug>]     a page of today's timeline
  rel:<story_id>            a story's related stories (render.related_button)
  ch:<chat_id>              open a channel's or group's settings (re-verified)
  cs:<chat_id>:<slug>       toggle a section for that channel or group (re-verified)
  cb:<chat_id>              toggle breaking news for that channel or group (re-verified)
  ce:<chat_id>:<code>       toggle an edition for that channel or group (re-verified)
  st:<chat_id>              that channel's or group's settings (re-verified)
  sw:<chat_id>:<switch>     flip one of its settings' switches (re-verified)
  sp:<chat_id>:<setting>    ask for one of its text settings, answered by a reply (re-verified)
  sx:<chat_id>:<setting>    clear one of its text settings (re-verified)
  sk:<ok|no>:<message_id>   save or drop the answer to the question asked with that message
                            in the presser's private chat (re-verified)
  bk:<ok|no>:<alert_id>     confirm or cancel a breaking-news draft (editors only)
  ap:<ok|no|hl>:<approval_id>  approve, skip or edit the headline of a story at the desk
A web_app button (`open_console`) carries no callback data: Telegram opens its URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.config import SectionConfig
from bot.outbound.callbacks import parse_callback
from bot.outbound.i18n import LANGUAGE_NAMES, Translator, language_name
from bot.outbound.text_limits import fits_callback_data

CHECK = "✅"
EMPTY = "▫️"


def _button(text: str, data: str) -> InlineKeyboardButton:
    if not fits_callback_data(data):
        raise ValueError(f"callback data over 64 bytes: {data!r}")
    if parse_callback(data) is None:
        raise ValueError(f"callback data outside the grammar (callbacks.py): {data!r}")
    return InlineKeyboardButton(text, callback_data=data)


def _rows(buttons: Sequence[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[start : start + width]) for start in range(0, len(buttons), width)]


def sections_to_open(sections: Iterable[SectionConfig], language: str) -> InlineKeyboardMarkup:
    buttons = [_button(s.title_in(language), f"sec:{s.slug}") for s in sections]
    return InlineKeyboardMarkup(_rows(buttons, 2))


def section_toggles(
    sections: Iterable[SectionConfig], taken: Iterable[str], language: str, prefix: str = "sub"
) -> InlineKeyboardMarkup:
    """One button per section, checked when taken; `prefix` addresses whose sections."""
    chosen = set(taken)
    buttons = [
        _button(
            f"{CHECK if s.slug in chosen else EMPTY} {s.title_in(language)}", f"{prefix}:{s.slug}"
        )
        for s in sections
    ]
    return InlineKeyboardMarkup(_rows(buttons, 2))


def edition_toggles(
    editions: Sequence[str], reading: Iterable[str], prefix: str = "ed"
) -> InlineKeyboardMarkup:
    """One button per edition, named in its own language, checked when the chat reads it;
    `prefix` addresses whose editions."""
    return InlineKeyboardMarkup(_rows(_edition_buttons(editions, reading, prefix), 3))


def _edition_buttons(
    editions: Sequence[str], reading: Iterable[str], prefix: str
) -> list[InlineKeyboardButton]:
    chosen = set(reading)
    return [
        _button(f"{CHECK if code in chosen else EMPTY} {language_name(code)}", f"{prefix}:{code}")
        for code in editions
    ]


def channel_settings(
    chat_id: int,
    sections: Iterable[SectionConfig],
    taken: Iterable[str],
    breaking: bool,
    t: Translator,
    editions: Sequence[str] = (),
    reading: Iterable[str] = (),
) -> InlineKeyboardMarkup:
    """A channel's sections, its breaking-news switch and (with several) its editions."""
    toggles = section_toggles(sections, taken, t.language, prefix=f"cs:{chat_id}")
    rows = [list(row) for row in toggles.inline_keyboard]
    mark = CHECK if breaking else EMPTY
    rows.append([_button(f"{mark} {t('channel_breaking_toggle')}", f"cb:{chat_id}")])
    if len(editions) > 1:
        rows.extend(_rows(_edition_buttons(editions, reading, f"ce:{chat_id}"), 3))
    rows.append([_button(t("desk_settings_button"), f"st:{chat_id}")])
    return InlineKeyboardMarkup(rows)


def settings_screen(
    chat_id: int,
    switches: Sequence[tuple[str, str, bool]],
    texts: Sequence[tuple[str, str, bool]],
    t: Translator,
) -> InlineKeyboardMarkup:
    """A chat's Settings screen: its switches (name, label, on), two a row; then each text
    setting (name, label, set) as a button that asks for it and, when set, one that clears
    it; then back to the chat's sections."""
    toggles = [
        _button(f"{CHECK if on else EMPTY} {label}", f"sw:{chat_id}:{name}")
        for name, label, on in switches
    ]
    rows = _rows(toggles, 2)
    for name, label, is_set in texts:
        row = [_button(f"✏️ {label}", f"sp:{chat_id}:{name}")]
        if is_set:
            row.append(_button(f"✖ {t('desk_clear')}", f"sx:{chat_id}:{name}"))
        rows.append(row)
    rows.append([_button(f"« {t('desk_back')}", f"ch:{chat_id}")])
    return InlineKeyboardMarkup(rows)


def confirm_setting(message_id: int, t: Translator) -> InlineKeyboardMarkup:
    """Save or drop the answer to the question asked with `message_id`."""
    return InlineKeyboardMarkup(
        [
            [
                _button(t("confirm"), f"sk:ok:{message_id}"),
                _button(t("cancel"), f"sk:no:{message_id}"),
            ]
        ]
    )


def channel_list(chats: Iterable[tuple[int, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(title, f"ch:{chat_id}")] for chat_id, title in chats])


def languages(current: str) -> InlineKeyboardMarkup:
    buttons = [
        _button(f"{CHECK if code == current else EMPTY} {name}", f"lang:{code}")
        for code, name in LANGUAGE_NAMES.items()
    ]
    return InlineKeyboardMarkup([buttons])


def open_console(url: str, t: Translator) -> InlineKeyboardMarkup:
    """/console's answer: the console as a Mini App, opened with signed init data (an inline
    web_app button; one on a reply keyboard would get none). Private chats only."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t("console_button"), web_app=WebAppInfo(url))]]
    )


def confirm_breaking(alert_id: int, t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_button(t("confirm"), f"bk:ok:{alert_id}"), _button(t("cancel"), f"bk:no:{alert_id}")]]
    )


def timeline_pages(
    page: int, pages: int, t: Translator, section: str | None = None
) -> InlineKeyboardMarkup | None:
    if pages <= 1:
        return None
    suffix = f":{section}" if section else ""
    buttons = []
    if page > 0:
        buttons.append(_button(f"« {t('previous')}", f"today:{page - 1}{suffix}"))
    buttons.append(_button(t("page", page=page + 1, pages=pages), f"today:{page}{suffix}"))
    if page < pages - 1:
        buttons.append(_button(f"{t('next')} »", f"today:{page + 1}{suffix}"))
    return InlineKeyboardMarkup([buttons])
