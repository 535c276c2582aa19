"""Telegram's HTML parse mode, re-implemented strictly enough to catch our formatting bugs.

The tokenizer mirrors TDLib's ``parse_html`` (the code behind the Bot API's
``parse_mode=HTML``): the same accepted tags and attributes, the same notion of "space",
the same error texts with UTF-8 *byte* offsets, the same entity semantics (a tag that wraps
no text produces no entity, ``<pre><code class="language-x">`` becomes one ``pre`` entity
with a language).  Offsets and lengths of the produced entities are in UTF-16 code units,
as Telegram counts them, so the fake can answer ``message is too long`` exactly when
Telegram would.

One deliberate difference: real Telegram keeps an unescaped ``&`` that does not start a
known entity as a literal character, but its documentation requires every ``&`` to be
escaped, and an unescaped one is a latent bug (``&lt`` inside a URL or ``&nbsp;`` in a
title silently renders wrong).  With ``strict_ampersand=True`` (the default) such input is
rejected.  Pass ``strict_ampersand=False`` for Telegram's exact leniency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALLOWED_TAGS",
    "HTMLParseError",
    "ParsedText",
    "parse_html",
    "plain_text",
    "utf16_len",
]

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = frozenset(" \t\r\n\0\v")  # TDLib's is_space(); NUL doubles as end of input
_END = "\0"


class HTMLParseError(ValueError):
    """The text Telegram would put after ``Bad Request: can't parse entities: ``."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True)
class ParsedText:
    """What a message looks like to its reader: the visible text and its entities."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def utf16_length(self) -> int:
        """Length the way Telegram limits it (4096 for text, 1024 for captions)."""
        return utf16_len(self.text)


def utf16_len(text: str) -> int:
    """Number of UTF-16 code units: characters outside the BMP (most emoji) count twice."""
    return sum(2 if ord(character) > 0xFFFF else 1 for character in text)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode the HTML entity starting at ``text[pos] == '&'`` like TDLib does.

    Returns ``(character, position after the entity)`` or ``(None, pos)`` when the ``&``
    starts no entity Telegram knows (only &lt; &gt; &amp; &quot; and numeric references;
    the trailing ``;`` is optional, as in TDLib).
    """
    end = pos + 1
    if text[end] == "#":
        end += 1
        value = 0
        digits = 0
        if text[end] == "x":
            end += 1
            while text[end] in "0123456789abcdefABCDEF" and text[end] != _END:
                value = value * 16 + int(text[end], 16)
                end += 1
                digits += 1
                if value >= 0x10FFFF:
                    return None, pos
        else:
            while text[end].isdigit() and text[end].isascii():
                value = value * 10 + int(text[end])
                end += 1
                digits += 1
                if value >= 0x10FFFF:
                    return None, pos
        if digits == 0 or value == 0 or 0xD800 <= value <= 0xDFFF:
            return None, pos
        character = chr(value)
    else:
        while text[end].isascii() and text[end].isalpha():
            end += 1
        character_or_none = NAMED_ENTITIES.get(text[pos + 1 : end])
        if character_or_none is None:
            return None, pos
        character = character_or_none
    if text[end] == ";":
        end += 1
    return character, end


def _ampersand_error(source: str, pos: int) -> HTMLParseError:
    end = pos + 1
    while end < len(source) and (source[end].isalnum() or source[end] == "#"):
        end += 1
    if end < len(source) and source[end] == ";" and end > pos + 1:
        return HTMLParseError(
            f'Unsupported HTML entity "{source[pos : end + 1]}" at byte offset '
            f"{_byte_offset(source, pos)}; only &lt; &gt; &amp; &quot; and &#N; are known"
        )
    return HTMLParseError(
        f'Unescaped "&" at byte offset {_byte_offset(source, pos)}; write &amp; instead'
    )


@dataclass
class _Open:
    tag: str
    argument: str
    utf16_offset: int
    text_offset: int
    byte_offset: int


def parse_html(source: str, *, strict_ampersand: bool = True) -> ParsedText:
    """Parse ``source`` as Telegram's ``parse_mode=HTML`` or raise :class:`HTMLParseError`.

    The returned text is trimmed of leading/trailing whitespace like Telegram trims message
    text; entity offsets are adjusted accordingly.
    """
    text = source + _END
    size = len(source)
    out: list[str] = []
    utf16 = 0
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < size:
        character = text[i]
        if character == "&":
            decoded, after = _decode_entity(text, i)
            if decoded is not None:
                out.append(decoded)
                utf16 += utf16_len(decoded)
                i = after
                continue
            if strict_ampersand:
                raise _ampersand_error(source, i)
        if character != "<":
            out.append(character)
            utf16 += utf16_len(character)
            i += 1
            continue

        begin = i
        begin_bytes = _byte_offset(source, begin)
        i += 1
        if text[i] != "/":
            while text[i] not in _SPACES and text[i] != ">":
                i += 1
            if text[i] == _END and i >= size:
                raise HTMLParseError(f"Unclosed start tag at byte offset {begin_bytes}")
            tag = text[begin + 1 : i].lower()
            if tag not in ALLOWED_TAGS:
                raise HTMLParseError(f'Unsupported start tag "{tag}" at byte offset {begin_bytes}')
            argument = ""
            while text[i] != ">":
                while i < size and text[i] in _SPACES:
                    i += 1
                if text[i] == ">":
                    break
                attribute_begin = i
                while text[i] not in _SPACES and text[i] not in "=>":
                    i += 1
                attribute = text[attribute_begin:i]
                if not attribute:
                    raise HTMLParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin_bytes}'
                    )
                while i < size and text[i] in _SPACES:
                    i += 1
                if text[i] != "=":
                    if tag == "blockquote" and attribute == "expandable":
                        argument = "1"
                        continue
                    raise HTMLParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {begin_bytes}'
                    )
                i += 1
                while i < size and text[i] in _SPACES:
                    i += 1
                if i >= size:
                    raise HTMLParseError(f'Unclosed start tag "{tag}" at byte offset {begin_bytes}')
                if text[i] not in "'\"":
                    token_begin = i
                    while text[i].isascii() and (text[i].isalnum() or text[i] in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if text[i] not in _SPACES and text[i] != ">":
                        raise HTMLParseError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(source, token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    chars: list[str] = []
                    while i < size and text[i] != quote:
                        if text[i] == "&":
                            decoded, after = _decode_entity(text, i)
                            if decoded is not None:
                                chars.append(decoded)
                                i = after
                                continue
                            if strict_ampersand:
                                raise _ampersand_error(source, i)
                        chars.append(text[i])
                        i += 1
                    if text[i] == quote and i < size:
                        i += 1
                    value = "".join(chars)
                if i >= size:
                    raise HTMLParseError(f"Unclosed start tag at byte offset {begin_bytes}")
                if tag == "a" and attribute == "href":
                    argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attribute == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attribute == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise HTMLParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin_bytes}'
                )
            stack.append(_Open(tag, argument, utf16, len(out), begin_bytes))
            i += 1  # past ">"
            continue

        # An end tag.
        if not stack:
            raise HTMLParseError(f"Unexpected end tag at byte offset {begin_bytes}")
        while text[i] not in _SPACES and text[i] != ">":
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while i < size and text[i] in _SPACES:
            i += 1
        if text[i] != ">" or i >= size:
            raise HTMLParseError(f"Unclosed end tag at byte offset {begin_bytes}")
        opened = stack.pop()
        if end_tag and end_tag != opened.tag:
            raise HTMLParseError(
                f'Unmatched end tag at byte offset {begin_bytes}, expected "</{opened.tag}>", '
                f'found "</{end_tag}>"'
            )
        i += 1
        length = utf16 - opened.utf16_offset
        if length > 0:
            entity = _entity_for(opened, length, "".join(out[opened.text_offset :]), stack)
            if entity is not None:
                if (
                    opened.tag == "pre"
                    and entities
                    and entities[-1]["type"] == "code"
                    and entities[-1]["offset"] == opened.utf16_offset
                    and entities[-1]["length"] == length
                    and entities[-1].get("language")
                ):
                    entities[-1]["type"] = "pre"
                else:
                    entities.append(entity)
    if stack:
        raise HTMLParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return _trimmed("".join(out), entities)


def _entity_for(
    opened: _Open, length: int, inner_text: str, stack: list[_Open]
) -> dict[str, Any] | None:
    simple = {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
    }
    entity: dict[str, Any] = {"offset": opened.utf16_offset, "length": length}
    tag = opened.tag
    if tag in simple:
        entity["type"] = simple[tag]
    elif tag == "tg-emoji":
        if not opened.argument.isdigit() or int(opened.argument) == 0:
            raise HTMLParseError("Invalid custom emoji identifier specified")
        entity.update(type="custom_emoji", custom_emoji_id=opened.argument)
    elif tag == "a":
        url = opened.argument or inner_text
        if not url:
            return None
        if "://" not in url and not url.startswith(("tg:", "mailto:")):
            url = "http://" + url
        entity.update(type="text_link", url=url)
    elif tag == "pre":
        entity["type"] = "pre"
    elif tag == "code":
        parent = stack[-1] if stack else None
        if (
            parent is not None
            and parent.tag == "pre"
            and parent.utf16_offset == opened.utf16_offset
            and opened.argument
        ):
            entity.update(type="code", language=opened.argument)
        else:
            entity["type"] = "code"
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if opened.argument == "1" else "blockquote"
    else:  # pragma: no cover - ALLOWED_TAGS and this table are kept in sync
        return None
    return entity


def _trimmed(text: str, entities: list[dict[str, Any]]) -> ParsedText:
    """Trim surrounding whitespace like Telegram does and move the entities with the text."""
    stripped = text.strip()
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    adjusted: list[dict[str, Any]] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            adjusted.append({**entity, "offset": start, "length": end - start})
    adjusted.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return ParsedText(stripped, adjusted)


def plain_text(source: str) -> str:
    """The visible text of valid Telegram HTML (raises :class:`HTMLParseError` otherwise)."""
    return parse_html(source).text
