"""Choosing "Related" links for a story: earlier stories on the same subject.

A first version over a recent window: words of the headline and summary, cut to a short
prefix so that inflected Russian and Kazakh forms ("выборы", "выборов"; "сайлау", "сайлауы")
still meet; stories of the same section first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
STEM_LENGTH = 5
MAX_RELATED = 3
# Frequent words that say nothing about the subject (a newsroom's house style).
STOP_STEMS = frozenset(
    {
        "kazin",
        "astan",
        "almat",
        "kazak",
        "казин",
        "астан",
        "алмат",
        "казах",
        "қазақ",
        "about",
        "their",
        "there",
        "which",
        "after",
        "который",
        "котор",
        "также",
        "этого",
        "будет",
    }
)


class StoryLike(Protocol):
    id: int
    title: str
    summary: str
    link: str | None
    section: str | None
    content_hash: str


def stems(text: str) -> set[str]:
    """Word prefixes of a text, lower-cased, without the newsroom's filler words."""
    found = {word.casefold()[:STEM_LENGTH] for word in WORD.findall(text)}
    return found - STOP_STEMS


def pick_related(story: StoryLike, candidates: Sequence[StoryLike]) -> list[StoryLike]:
    """Up to three candidates sharing the most words with `story`, same section first."""
    own = stems(story.title) | stems(story.summary[:400])
    own_title = stems(story.title)
    scored: list[tuple[float, int, StoryLike]] = []
    seen_titles = {story.title.casefold()}
    for candidate in candidates:
        if candidate.id == story.id or candidate.link == story.link or not candidate.link:
            continue
        if candidate.title.casefold() in seen_titles:
            continue  # a duplicate of the story (or of a pick) is not related news
        theirs = stems(candidate.title) | stems(candidate.summary[:400])
        shared = len(own & theirs) + len(own_title & stems(candidate.title))
        if shared < 2:
            continue
        score = shared + (1.5 if candidate.section == story.section else 0.0)
        scored.append((score, candidate.id, candidate))
        seen_titles.add(candidate.title.casefold())
    scored.sort(key=lambda item: (-item[0], -item[1]))
    return [candidate for _, _, candidate in scored[:MAX_RELATED]]
