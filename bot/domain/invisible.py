"""Characters that reorder or hide text, removed wherever outside text comes in: feeds, the
CMS, editors' breaking news and headlines. Pure: the domain's identity rules and the feeds'
plain text both use it."""

from __future__ import annotations

import re

# Bidi overrides/embeddings/isolates, zero-width spaces, BOM, soft hyphen and C0/C1 controls:
# they reorder or hide text in a chat client and never carry news. ZWJ/ZWNJ stay (emoji).
# Lone surrogates (from hostile character references) cannot even be stored as UTF-8.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u061c\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u2069\ud800-\udfff\ufeff\ufff9-\ufffb]+"
)


def strip_invisible(text: str) -> str:
    """Remove characters that reorder or hide text (RTL overrides, zero-width spaces)."""
    return _INVISIBLE.sub("", text)
