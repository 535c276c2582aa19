"""What a /start argument (a deep link's payload) asks for: an edition, a section, or both.

`start=<edition>` reads that edition, `start=sub_<slug>` subscribes to that section,
`start=<edition>-sub_<slug>` does both (a site's "Subscribe in Telegram" button). The whole
argument must name real things: `ru-sub_politics'--` (no such section) is refused as a
whole, so the reader's edition is not changed by half a link. Pure: the caller says what is
real.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DEEP_LINK_PREFIX = "sub_"
# `start=<edition>-sub_<slug>`: an edition code never holds "-", a slug may.
DEEP_LINK_EDITION_SEPARATOR = "-"
# What an error message quotes of the argument (Telegram's payloads are at most 64).
QUOTED = 64


@dataclass(frozen=True, slots=True)
class DeepLink:
    """The edition and section a link names; `unknown_edition`/`unknown_section` is the
    part that names nothing real (then nothing is to be changed)."""

    edition: str | None = None
    section: str | None = None
    unknown_edition: str | None = None
    unknown_section: str | None = None

    @property
    def valid(self) -> bool:
        return self.unknown_edition is None and self.unknown_section is None


def parse_deep_link(
    argument: str, is_edition: Callable[[str], bool], is_section: Callable[[str], bool]
) -> DeepLink:
    """The link in `argument` ("" for a plain /start: nothing asked, nothing wrong)."""
    if not argument:
        return DeepLink()
    if argument.startswith(DEEP_LINK_PREFIX):
        return _section(argument, is_section)
    head, separator, tail = argument.partition(DEEP_LINK_EDITION_SEPARATOR)
    if not is_edition(head):
        return DeepLink(unknown_edition=head[:QUOTED])
    if not separator:
        return DeepLink(edition=head)
    section = _section(tail, is_section)
    if not section.valid:
        return section
    return DeepLink(edition=head, section=section.section)


def _section(text: str, is_section: Callable[[str], bool]) -> DeepLink:
    """`sub_<slug>` naming a real section, or the unknown section it names."""
    slug = text.removeprefix(DEEP_LINK_PREFIX) if text.startswith(DEEP_LINK_PREFIX) else ""
    if slug and is_section(slug):
        return DeepLink(section=slug)
    return DeepLink(unknown_section=(slug or text)[:QUOTED])
