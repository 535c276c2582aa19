"""Words and stems as search, filters and related stories compare them.

Neither SQLite's FTS5 nor PostgreSQL has a Kazakh stemmer, so inflections meet through
prefixes: a word of five letters or more stands for every word that starts with its first
five ("выборы" -> "выбор", "сайлау" -> "сайла").
"""

from __future__ import annotations

import re
import unicodedata

STEM_LENGTH = 5

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_LETTERS = re.compile(r"[^\W\d_]{5,}", re.UNICODE)

# Frequent words that say nothing about the subject (the newsroom's house style), as stems.
STOP_STEMS = frozenset(
    {
        "kazin", "astan", "almat", "kazak", "казин", "астан", "алмат", "казах", "қазақ",
        "about", "their", "there", "which", "after", "would", "could", "other", "these",
        "котор", "также", "этого", "будет", "может", "более", "после", "очень", "между",
        "болып", "бойын", "туралы", "жылдың", "барлық", "арқыл", "сонда",
    }
)  # fmt: skip


def fold(value: str) -> str:
    """Composed, case-folded text: what both engines' tokenizers see, letter for letter."""
    return unicodedata.normalize("NFC", value).casefold()


def words(value: str) -> list[str]:
    """The words of a text as the index splits them (letters and digits), folded."""
    return _WORD.findall(fold(value))


def stems(value: str) -> set[str]:
    """Distinctive five-letter stems of a text: the unit related stories are compared by."""
    return folded_stems(fold(value))


def folded_stems(folded: str) -> set[str]:
    """`stems` of a text already folded, without house-style stop stems."""
    return {word[:STEM_LENGTH] for word in _LETTERS.findall(folded)} - STOP_STEMS


def ordered_stems(value: str) -> list[str]:
    """The text's stems in reading order, each once, without house-style stop stems."""
    ordered: list[str] = []
    for word in _LETTERS.findall(fold(value)):
        stem = word[:STEM_LENGTH]
        if stem not in STOP_STEMS and stem not in ordered:
            ordered.append(stem)
    return ordered
