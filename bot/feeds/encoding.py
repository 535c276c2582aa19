"""An XML feed's bytes made safe and readable before feedparser sees them.

feedparser guesses a document's encoding on its own and, for bytes that do not decode as
declared, picks one that merely succeeds (mojibake); its fallback parser expands entities
and crashes on UTF-16 surrogate references. So bot/feeds/parser.py hands it the body after
these steps: the encoding settled (UTF-8 repaired, UTF-16/32 with a BOM converted, undeclared
Cyrillic declared windows-1251), entity declarations screened, surrogate references joined.
Pure and synchronous, like the parser.
"""

from __future__ import annotations

import codecs
import re

from bot.feeds.parsed import decode_repairing, repair_note

# --- encodings -------------------------------------------------------------------------------
_XML_DECLARED_ENCODING = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=", re.I)
_XML_ENCODING_VALUE = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})", re.I
)
_XML_ENCODING_ATTRIBUTE = re.compile(r"\A(\s*<\?xml[^>]*?\bencoding\s*=\s*)([\"'])[^\"']*\2", re.I)
_CHARSET_PARAMETER = re.compile(r";\s*charset\s*=\s*[\"']?([^\s;\"']+)", re.I)
# A byte-order mark says how the text is encoded whatever the headers claim (RFC 7303 §3.2);
# UTF-32 first: its little-endian mark starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Undeclared bytes count as UTF-8 when the characters they decode to outnumber the broken
# sequences this many times: windows-1251 or -1252 text hardly ever forms valid UTF-8.
_MOSTLY_UTF8_RATIO = 4
_CP1251_LETTER_RUN = re.compile(rb"[\xa8\xb8\xc0-\xff]{2,}")
_CHARSET_SNIFF_BYTES = 64 * 1024
_ASCII_BYTES = bytes(range(0x80))

# --- entity-expansion screening -------------------------------------------------------------
# feedparser strips most DOCTYPE entities itself and expat (>= 2.4) limits amplification, but
# feedparser's fallback "loose" parser still expands the entities it keeps, and a large entity
# referenced many times costs seconds of CPU. Real feeds almost never declare entities, so
# only short literal ones (like <!ENTITY nbsp "&#160;">) are let through.
_MAX_ENTITY_DECLARATIONS = 32
_SAFE_ENTITY = re.compile(
    rb"<!ENTITY\s+[A-Za-z_][\w.-]*\s+"
    rb"(?:\"(?:[^\"&%<]|&#[0-9]{1,7};|&#x[0-9A-Fa-f]{1,6};){0,64}\""
    rb"|'(?:[^'&%<]|&#[0-9]{1,7};|&#x[0-9A-Fa-f]{1,6};){0,64}')\s*>"
)

# --- surrogate character references ---------------------------------------------------------
# Some CMSs write emoji as UTF-16 halves ("&#55357;&#56832;"). Expat rejects them and
# feedparser's fallback parser crashes on them, losing the whole feed; so pairs are joined
# into one reference and lone halves become U+FFFD before parsing.
_SURROGATE_REF = (
    rb"&#(?:[xX]0*([dD][89a-fA-F][0-9a-fA-F]{2})"
    rb"|0*(5529[6-9]|55[3-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}|573[0-3][0-9]|5734[0-3]));"
)
_SURROGATE_REFS = re.compile(_SURROGATE_REF + rb"(?:" + _SURROGATE_REF + rb")?")
_REPLACEMENT_REF = b"&#xFFFD;"


def as_utf8(content: bytes, headers: dict[str, str]) -> tuple[bytes, str | None]:
    """The document as clean UTF-8 when it is UTF-8 or UTF-16/32 with a BOM; else as given.

    Given bytes that do not decode as the declared UTF-8, feedparser tries windows-1252 and
    iso-8859-2 next and decodes the whole document with whichever succeeds: one stray byte
    turned every Cyrillic headline into mojibake. So a document that declares UTF-8 (BOM,
    HTTP charset or XML declaration, in that order), or declares nothing and is mostly valid
    UTF-8, is decoded here with the bad sequences replaced, and handed on as UTF-8 with its
    declaration and `headers` (feedparser's copy) saying so. A UTF-16 or UTF-32 document
    with a BOM is converted the same way (feedparser does not read it without a declaration).
    Other encodings are left to feedparser. Returns the bytes and the repair note, if any.
    """
    bom = next((name for mark, name in _BOMS if content.startswith(mark)), None)
    if bom in ("utf-16", "utf-32"):
        text, repairs = decode_repairing(content, bom)  # the codec reads and drops the BOM
        return _utf8_document(text, headers), repair_note(repairs, bom.upper())
    try:
        content.decode("utf-8")
        return content, None  # valid UTF-8 (or ASCII): feedparser reads it as declared
    except UnicodeDecodeError:
        pass
    if not _repairableas_utf8(content, bom, headers):
        return content, None
    text, repairs = decode_repairing(content.removeprefix(codecs.BOM_UTF8), "utf-8")
    return _utf8_document(text, headers), repair_note(repairs, "UTF-8")


def _repairableas_utf8(content: bytes, bom: str | None, headers: dict[str, str]) -> bool:
    """True when these invalid UTF-8 bytes are meant as UTF-8 (see `as_utf8`).

    A later declaration of another encoding that fits the bytes wins over an earlier UTF-8
    one (a server labelling everything UTF-8 in front of a windows-1251 feed), as it does in
    feedparser's own fallback.
    """
    charset = _CHARSET_PARAMETER.search(headers.get("content-type", ""))
    xml_encoding = _XML_ENCODING_VALUE.match(content)
    declared = [
        name
        for name in (
            bom,
            charset.group(1) if charset else None,
            xml_encoding.group(1).decode("ascii") if xml_encoding else None,
        )
        if name
    ]
    if not declared:
        return _mostly_utf8(content)
    if not _is_utf8(declared[0]):
        return False
    return not any(not _is_utf8(name) and _decodes(content, name) for name in declared[1:])


def _mostly_utf8(content: bytes) -> bool:
    """The whole body, not a sample: an ASCII head says nothing about the letters after it."""
    text, repairs = decode_repairing(content, "utf-8")
    characters = len(text) - len(text.encode("ascii", errors="ignore")) - repairs
    return characters >= _MOSTLY_UTF8_RATIO * repairs


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _decodes(content: bytes, encoding: str) -> bool:
    try:
        content.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return False
    return True


def _utf8_document(text: str, headers: dict[str, str]) -> bytes:
    """`text` as UTF-8 bytes whose XML declaration and Content-Type charset both say so."""
    text = _XML_ENCODING_ATTRIBUTE.sub(r"\1\2utf-8\2", text.removeprefix("\ufeff"), count=1)
    base_type = headers.get("content-type", "").split(";", 1)[0].strip() or "application/xml"
    headers["content-type"] = f"{base_type}; charset=utf-8"
    return text.encode("utf-8")


def declares_unsafe_entities(content: bytes) -> bool:
    """True when the document declares entities other than a few short literals."""
    declared = content.count(b"<!ENTITY")
    if not declared:
        return False
    return declared > _MAX_ENTITY_DECLARATIONS or len(_SAFE_ENTITY.findall(content)) != declared


def join_surrogate_references(content: bytes) -> bytes:
    """Replace UTF-16 surrogate character references by ones XML parsers accept."""
    if b"&#" not in content:
        return content
    return _SURROGATE_REFS.sub(_surrogate_replacement, content)


def _surrogate_replacement(match: re.Match[bytes]) -> bytes:
    high_hex, high_dec, low_hex, low_dec = match.groups()
    high = int(high_hex, 16) if high_hex else int(high_dec)
    if low_hex is None and low_dec is None:
        return _REPLACEMENT_REF
    low = int(low_hex, 16) if low_hex else int(low_dec)
    if 0xD800 <= high <= 0xDBFF and 0xDC00 <= low <= 0xDFFF:
        return b"&#%d;" % (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    return _REPLACEMENT_REF * 2


def guess_cyrillic_charset(content: bytes, headers: dict[str, str]) -> str | None:
    """Declare windows-1251 for undeclared, non-UTF-8 bodies whose letters look Cyrillic.

    Old Russian-language CMSs serve windows-1251 with no charset anywhere; feedparser would
    then fall back to windows-1252 and every headline would be mojibake. Cyrillic in
    windows-1251 is runs of bytes in 0xC0-0xFF; Western text has isolated accented letters.
    Mutates `headers` (feedparser's copy); returns a note for the feed's warning.
    """
    content_type = headers.get("content-type", "")
    if "charset=" in content_type.lower() or _XML_DECLARED_ENCODING.match(content):
        return None
    sample = content[:_CHARSET_SNIFF_BYTES]
    try:
        sample.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:  # a character cut by the sample boundary
            return None
    high_bytes = len(sample.translate(None, _ASCII_BYTES))
    run_bytes = sum(len(run) for run in _CP1251_LETTER_RUN.findall(sample))
    if high_bytes < 8 or run_bytes < 0.8 * high_bytes:
        return None
    base_type = content_type.split(";", 1)[0].strip() or "application/xml"
    headers["content-type"] = f"{base_type}; charset=windows-1251"
    return "no charset declared; decoded as windows-1251 (Cyrillic detected)"
