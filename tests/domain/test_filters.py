"""Desk filters on their own: whole words with search's stems, phrases, re2 and its limits."""

from __future__ import annotations

import pytest

from bot.domain.channel_rules import DeskRules, StoryText
from bot.domain.filters import (
    MAX_PATTERN_LENGTH,
    MAX_PATTERNS,
    MAX_TERMS,
    DeskFilters,
    FilterError,
    admits,
    check_patterns,
    check_terms,
)


def _rules(version: int = 1, **lists: list[str]) -> DeskRules:
    return DeskRules(destination_id=1, version=version, **{k: tuple(v) for k, v in lists.items()})


def _story(title: str, summary: str = "", story_id: int = 1) -> StoryText:
    return StoryText(story_id, title, summary)


def test_russian_stem_finds_inflected_forms() -> None:
    rules = _rules(include=["Алматы"])
    assert admits(rules, _story("В Алматыде открылся новый парк"))
    assert admits(rules, _story("Новости", "Аким Алматы провёл встречу"))
    assert not admits(rules, _story("В Астане открылся новый парк"))


def test_kazakh_stem_and_exclude() -> None:
    rules = _rules(include=["сайлау"], exclude=["футбол"])
    assert admits(rules, _story("Мәслихат сайлауы өтті"))
    assert not admits(rules, _story("Сайлау күні футболдан жарыс өтті"))
    assert not admits(rules, _story("Жаңа мектеп ашылды"))


def test_english_is_case_insensitive_and_whole_words() -> None:
    rules = _rules(include=["Almaty", "tax"])
    assert admits(rules, _story("ALMATY's mayor speaks"))
    assert admits(rules, _story("New TAX rules"))
    assert not admits(rules, _story("Taxi drivers strike"))  # short words match only whole
    assert not admits(rules, _story("Astana news"))


def test_phrase_matches_its_words_in_a_row_within_one_field() -> None:
    rules = _rules(include=["Национальный совет"])
    assert admits(rules, _story("Заседание Национального совета"))
    assert not admits(rules, _story("Совет и национальный фонд"))
    assert not admits(rules, _story("Национальный", "совет"))


def test_no_include_means_everything_but_the_excludes() -> None:
    rules = _rules(exclude=["реклама"])
    assert admits(rules, _story("Парламент принял закон"))
    assert not admits(rules, _story("Парламент", "На правах рекламы"))


def test_regular_expressions_include_and_exclude() -> None:
    rules = _rules(include_regex=[r"(?i)almaty|алмат"], exclude_regex=[r"\d{2}\+"])
    assert admits(rules, _story("Almaty metro extended"))
    assert not admits(rules, _story("Almaty: a film 18+"))
    assert not admits(rules, _story("Astana metro"))


def test_re2_refusal_comes_back_with_its_message() -> None:
    with pytest.raises(FilterError, match=r"re2 refuses '\(\?<=a\)b': invalid perl operator"):
        check_patterns([r"(?<=a)b"])
    with pytest.raises(FilterError, match="missing \\)"):
        check_patterns(["(unclosed"])


def test_limits_on_count_and_length() -> None:
    with pytest.raises(FilterError, match=f"at most {MAX_PATTERNS}"):
        check_patterns(["a"] * (MAX_PATTERNS + 1))
    with pytest.raises(FilterError, match=f"longer than {MAX_PATTERN_LENGTH}"):
        check_patterns(["a" * (MAX_PATTERN_LENGTH + 1)])
    with pytest.raises(FilterError, match=f"at most {MAX_TERMS}"):
        check_terms(["слово"] * (MAX_TERMS + 1))
    with pytest.raises(FilterError, match="no letters or digits"):
        check_terms(["!!!"])


def test_compiled_once_per_version() -> None:
    judge = DeskFilters()
    assert judge.admits(_rules(include=["Алматы"]), _story("Алматыда жаңбыр", story_id=1))
    # Same version: the cached filter is used (a changed list needs a new version).
    assert judge.admits(_rules(include=["Астана"]), _story("Алматыда жаңбыр", story_id=2))
    assert not judge.admits(
        _rules(version=2, include=["Астана"]), _story("Алматыда жаңбыр", story_id=3)
    )
