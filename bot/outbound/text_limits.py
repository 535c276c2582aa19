"""Telegram's length limits, measured the way Telegram measures them.

Telegram counts message and caption lengths in UTF-16 code units, the unit of every
`MessageEntity` offset and length (https://core.telegram.org/bots/api#messageentity). A Python
`len()` counts code points, so an emoji or any other character outside the Basic Multilingual
Plane (U+10000 and up) is 1 for Python but 2 for Telegram: a text that `len()` says fits can
still be refused with "message is too long". Every limit check in newsbot goes through here.
"""

from __future__ import annotations

# sendMessage: "Text of the message to be sent, 1-4096 characters after entities parsing".
# https://core.telegram.org/bots/api#sendmessage
MESSAGE_LIMIT = 4096

# sendPhoto: "Photo caption ..., 0-1024 characters after entities parsing".
# https://core.telegram.org/bots/api#sendphoto
CAPTION_LIMIT = 1024

# InlineKeyboardButton: "callback_data ... Data to be sent in a callback query to the bot when
# the button is pressed, 1-64 bytes". https://core.telegram.org/bots/api#inlinekeyboardbutton
CALLBACK_DATA_LIMIT = 64

# How far back from the hard cut a word boundary is looked for: cutting inside a word is
# better than throwing away more than ~30% of what would fit.
_WORD_WINDOW = 0.3

# Left at the end of a cut before the ellipsis is added ("word, …" reads badly).
_TRAILING_JUNK = " \t\r\n,;:-–—(\u200d"

_HIGH_SURROGATE = range(0xD800, 0xDC00)


def _utf16(text: str) -> bytes:
    # surrogatepass: a lone surrogate (possible in text decoded leniently from a feed) is
    # counted and carried like any other code unit instead of raising.
    return text.encode("utf-16-le", "surrogatepass")


def utf16_len(text: str) -> int:
    """The length of `text` as Telegram counts it: UTF-16 code units."""
    return len(_utf16(text)) // 2


def _prefix_utf16(text: str, limit: int) -> str:
    """The longest prefix of `text` at most `limit` UTF-16 units long, never half a pair."""
    units = _utf16(text)[: max(limit, 0) * 2]
    if units:
        last = int.from_bytes(units[-2:], "little")
        if last in _HIGH_SURROGATE:  # the pair's second half was cut off: drop the first too
            units = units[:-2]
    return units.decode("utf-16-le", "surrogatepass")


def _at_word_boundary(text: str, prefix: str) -> str:
    """`prefix` shortened to its last whole word, if one ends within the last ~30%."""
    if len(prefix) < len(text) and text[len(prefix)].isspace():
        return prefix  # the cut already falls between two words
    earliest = int(len(prefix) * (1 - _WORD_WINDOW))
    for index in range(len(prefix) - 1, earliest - 1, -1):
        if prefix[index].isspace():
            return prefix[:index]
    return prefix


def cut_utf16(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """`text` itself if it fits in `limit` UTF-16 units, else a shorter text ending in `ellipsis`.

    The cut is made at a word boundary when one exists in the last ~30% of what fits, and it
    never splits a surrogate pair (half an emoji is an invalid string for Telegram). Plain text
    only: cut first, escape for HTML afterwards, so an entity like `&amp;` is never cut in two.
    """
    if utf16_len(text) <= limit:
        return text
    room = limit - utf16_len(ellipsis)
    if room <= 0:  # not even the ellipsis fits: a hard cut is all that is possible
        return _prefix_utf16(text, limit)
    cut = _at_word_boundary(text, _prefix_utf16(text, room)).rstrip(_TRAILING_JUNK)
    return cut + ellipsis


def fits_callback_data(data: str) -> bool:
    """Whether `data` is valid callback data: 1-64 bytes of UTF-8 (Telegram refuses the whole
    keyboard, and so the message, when one button's data is longer)."""
    return 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT
