"""The one parser of callback data: every button's data has an exact shape, checked here.

Callback data comes back from the client, and a modified client sends whatever it likes:
`ap:ok:7:extra`, `ap:ok: 7`, Arabic-Indic digits (which `int()` reads), a 23-digit id that
overflows every BIGINT column. So each action names the exact kinds of its arguments, a
number is ASCII digits only and within the range of the column it is looked up in, and
anything else parses to None: the press is answered "This button is no longer valid" (the
catch-all button handler) and no handler sees it. Buttons the bot builds are checked
against the same grammar when they are built (keyboards.py), so the two cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# The Bot API's limit on callback_data (InlineKeyboardButton), in bytes.
MAX_BYTES = 64
# Every id is a BIGINT (SQLite: a 64-bit INTEGER): what a query can compare without
# OverflowError.
BIGINT_MAX = 2**63 - 1
BIGINT_MIN = -(2**63)
# A page of /today: far more than any day has.
MAX_PAGE = 9_999

_DIGITS = re.compile(r"(?:0|[1-9][0-9]{0,18})", re.ASCII)
_SIGNED = re.compile(r"-?(?:0|[1-9][0-9]{0,18})", re.ASCII)
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}", re.ASCII)  # config.SectionConfig.slug
_CODE = re.compile(r"[a-z]{2,3}", re.ASCII)  # config.Edition, i18n.LANGUAGE_NAMES
_NAME = re.compile(r"[a-z][a-z_]{0,39}", re.ASCII)  # a desk setting's name


def _positive_id(text: str) -> bool:
    """A row id (stories, approvals, alerts) or a message id: 1 .. BIGINT_MAX."""
    return bool(_DIGITS.fullmatch(text)) and 0 < int(text) <= BIGINT_MAX


def _chat_id(text: str) -> bool:
    """A Telegram chat id: non-zero, within BIGINT."""
    if not _SIGNED.fullmatch(text):
        return False
    return int(text) != 0 and BIGINT_MIN <= int(text) <= BIGINT_MAX


def _page(text: str) -> bool:
    return bool(_DIGITS.fullmatch(text)) and int(text) <= MAX_PAGE


def _pattern(regex: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda text: bool(regex.fullmatch(text))


def _one_of(*words: str) -> Callable[[str], bool]:
    return frozenset(words).__contains__


Check = Callable[[str], bool]
SLUG, CODE, NAME = _pattern(_SLUG), _pattern(_CODE), _pattern(_NAME)

# action -> the shapes its arguments may take (most have one; /today's section is optional).
SHAPES: dict[str, tuple[tuple[Check, ...], ...]] = {
    "sub": ((SLUG,),),
    "sec": ((SLUG,),),
    "lang": ((CODE,),),
    "ed": ((CODE,),),
    "today": ((_page,), (_page, SLUG)),
    "rel": ((_positive_id,),),
    "ch": ((_chat_id,),),
    "cs": ((_chat_id, SLUG),),
    "cb": ((_chat_id,),),
    "ce": ((_chat_id, CODE),),
    "st": ((_chat_id,),),
    "sw": ((_chat_id, NAME),),
    "sp": ((_chat_id, NAME),),
    "sx": ((_chat_id, NAME),),
    "sk": ((_one_of("ok", "no"), _positive_id),),
    "bk": ((_one_of("ok", "no"), _positive_id),),
    "ap": ((_one_of("ok", "no", "hl"), _positive_id),),
}


@dataclass(frozen=True, slots=True)
class Callback:
    """Parsed callback data: its action and its arguments, each of the shape SHAPES says
    (so `int_arg` of a numeric argument is always an int in its column's range)."""

    action: str
    args: tuple[str, ...]

    def int_arg(self, index: int) -> int | None:
        text = self.arg(index)
        return int(text) if text is not None and _SIGNED.fullmatch(text) else None

    def arg(self, index: int) -> str | None:
        return self.args[index] if index < len(self.args) else None


def parse_callback(data: str | None) -> Callback | None:
    """`data` as a Callback when it has exactly one of its action's shapes, else None."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    action, *args = data.split(":")
    shapes = SHAPES.get(action, ())
    for shape in shapes:
        if len(shape) != len(args):
            continue
        if all(check(arg) for check, arg in zip(shape, args, strict=True)):
            return Callback(action=action, args=tuple(args))
    return None


def is_action(action: str) -> Callable[[object], bool]:
    """A CallbackQueryHandler pattern: the data parses, and as `action`. Anything else
    falls through to the catch-all button handler ("This button is no longer valid")."""
    if action not in SHAPES:
        raise ValueError(f"no callback action {action!r}")

    def matches(data: object) -> bool:
        parsed = parse_callback(data) if isinstance(data, str) else None
        return parsed is not None and parsed.action == action

    return matches
