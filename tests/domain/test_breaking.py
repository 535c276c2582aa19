"""An editor's /breaking text becomes a draft: its link split off, nothing invisible kept."""

from __future__ import annotations

from itertools import combinations

from bot.domain.breaking import (
    MAX_TABLE_EDITIONS,
    count_by_version,
    delivered_by_version,
    first_and_versions,
    split_link,
    version_for,
    version_table,
)
from bot.domain.editions import reading_order


def test_control_and_invisible_characters_never_reach_the_draft() -> None:
    draft = split_link("Quake\x00 in Almaty\x07\u202e felt\u200b widely https://www.inform.kz/q")
    assert draft.text == "Quake in Almaty felt widely"
    assert draft.link == "https://www.inform.kz/q"


def test_a_text_of_only_control_characters_is_empty() -> None:
    assert split_link("\x00\x01\x1f").text == ""


def test_versions_per_edition_are_split_and_the_link_goes_under_all() -> None:
    draft = split_link("kk: Жер сілкінісі\nru: Землетрясение https://www.inform.kz/q", ["kk", "ru"])
    assert draft.texts == {"kk": "Жер сілкінісі", "ru": "Землетрясение"}
    assert draft.text == "Жер сілкінісі"
    assert draft.link == "https://www.inform.kz/q"
    assert split_link("UPDATE: quake", ["kk", "ru"]).texts is None


def test_a_chat_gets_its_first_edition_then_the_newsrooms_then_the_first() -> None:
    texts = {"kk": "kk text", "ru": "ru text"}
    assert version_for(texts, ("ru", "kk"), "kk") == "ru"
    assert version_for(texts, ("en",), "kk") == "kk"
    assert version_for(texts, ("en",), "en") == "kk"
    assert version_for(None, ("ru",), "kk") is None


def test_the_cms_text_is_one_for_all_or_one_per_edition() -> None:
    assert first_and_versions("Quake") == ("Quake", None)
    assert first_and_versions({"ru": "Землетрясение", "kk": "Жер"}) == (
        "Землетрясение",
        {"ru": "Землетрясение", "kk": "Жер"},
    )


def test_versions_delivered_are_counted_in_the_order_given() -> None:
    texts = {"kk": "kk text", "ru": "ru text", "en": "en text"}
    readings = [("ru",), ("ru", "kk"), ("kk",), ("de",)]
    assert delivered_by_version(texts, readings, "kk") == [("kk", 2), ("ru", 2), ("en", 0)]


def test_chats_counted_in_groups_add_up_per_version() -> None:
    texts = {"kk": "kk text", "ru": "ru text"}
    groups = [(("ru", "kk"), 40), (("kk",), 2), (("en",), 7), ((), 1)]
    assert count_by_version(texts, groups, "kk") == [("kk", 10), ("ru", 40)]
    assert count_by_version(texts, [], "kk") == [("kk", 0), ("ru", 0)]


def test_the_version_table_agrees_with_version_for_for_every_chat() -> None:
    """Each chat's version looked up in the table (the first rule of its reading set whose
    language is its own, else the set's "any") is version_for's, for every reading set, each
    language among the newsroom's and one outside them."""
    newsroom = ["kk", "ru", "en"]
    for texts in ({"kk": "a", "ru": "b"}, {"en": "c"}, {"ru": "b", "en": "c", "kk": "a"}):
        table = version_table(texts, newsroom, "kk")
        for size in range(4):
            for reads in combinations(newsroom, size):
                for language in (*newsroom, "de", None):
                    rule = next(
                        rule
                        for rule in table
                        if rule.editions == frozenset(reads) and rule.language in (language, None)
                    )
                    order = reading_order(reads, language, newsroom)
                    assert rule.version == version_for(texts, order, "kk"), (texts, reads, language)
    assert version_table({}, newsroom, "kk") == []
    assert version_table({"a": "x"}, [f"e{n}" for n in range(MAX_TABLE_EDITIONS + 1)], "a") == []
