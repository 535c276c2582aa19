"""A chat's editions in its order of preference: the one rule every list, digest and
breaking-news version picks by."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def reading_order(
    editions: Iterable[str], language: str | None, newsroom: Sequence[str]
) -> tuple[str, ...]:
    """The chat's editions in the order a group's version is picked by: the edition of its
    interface language when it reads it, then the others in the newsroom's `editions` order
    (an edition no longer configured last)."""
    reads = set(editions)
    order = [edition for edition in newsroom if edition in reads]
    order += sorted(reads - set(order))
    if language in reads:
        order.remove(language)
        order.insert(0, language)
    return tuple(order)


# A chat's lists' filter: its editions in preference order, or None for "every story".
Reading = Sequence[str] | None


def reading(editions: Iterable[str], language: str | None, newsroom: Sequence[str]) -> Reading:
    """What a chat's lists filter by: its editions in preference order (reading_order), or
    None in a newsroom of one edition, where every story is in it (start-up puts stories
    in other languages there) and lists need no filter."""
    reads = set(editions)
    if len(newsroom) < 2 or not reads:
        return None
    return reading_order(reads, language, newsroom)
