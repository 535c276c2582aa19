"""Canonical links, story identities and content hashes, with plain values: the rules every
story (a feed's item, the CMS's story) is recognised by."""

from __future__ import annotations

import re

import pytest

from bot.domain.identity import canonical_link, content_hash, story_identity

EN_FEED_URL = "https://www.inform.kz/en/rss"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.inform.kz/en/a_1?utm_source=rss&utm_medium=feed#comments",
         "https://www.inform.kz/en/a_1"),
        ("https://www.inform.kz/en/a_1?utm_source=telegram&page=2&UTM_Campaign=x",
         "https://www.inform.kz/en/a_1?page=2"),
        ("https://www.inform.kz/en/a_1?gclid=1&id=6&yclid=2&fbclid=3&b=&a=1",
         "https://www.inform.kz/en/a_1?id=6&b=&a=1"),
        ("HTTPS://WWW.Inform.KZ/En/Story_A1", "https://www.inform.kz/En/Story_A1"),
        ("https://www.inform.kz:443/en/a_1", "https://www.inform.kz/en/a_1"),
        ("http://www.inform.kz:8080/en/a_1", "http://www.inform.kz:8080/en/a_1"),
        ("https://www.inform.kz", "https://www.inform.kz/"),
        ("/en/a_2?utm_source=x", "https://www.inform.kz/en/a_2"),
        ("a_3", "https://www.inform.kz/en/a_3"),
        ("//cdn.inform.kz/x.jpg", "https://cdn.inform.kz/x.jpg"),
        ("https://www.inform.kz/ru/новости?q=%D0%B0+b", "https://www.inform.kz/ru/новости?q=%D0%B0+b"),
    ],
)  # fmt: skip
def test_utm_and_fragment_are_removed_from_links(url: str, expected: str) -> None:
    assert canonical_link(url, EN_FEED_URL) == expected


@pytest.mark.parametrize(
    "url",
    [None, "", "   ", "javascript:alert(1)", "mailto:news@inform.kz", "data:image/png;base64,xx",
     "ftp://ftp.inform.kz/x", "http://[::1", "https://"],
)  # fmt: skip
def test_unusable_links_are_dropped(url: str | None) -> None:
    assert canonical_link(url, EN_FEED_URL) is None


@pytest.mark.parametrize(
    ("guid", "link", "expected"),
    [
        ("inform-kz-en-1", "https://www.inform.kz/en/a_1", f"guid:{EN_FEED_URL} inform-kz-en-1"),
        ("  inform-kz-en-1\n", None, f"guid:{EN_FEED_URL} inform-kz-en-1"),
        ("HTTPS://WWW.INFORM.KZ/en/a_1?utm_source=rss#x", None, "guid:https://www.inform.kz/en/a_1"),
        ("tag:qazaqtv.com,2022:/en/news/1", None, "guid:tag:qazaqtv.com,2022:/en/news/1"),
        (None, "https://www.inform.kz/en/a_1", "link:https://www.inform.kz/en/a_1"),
        ("   ", "https://www.inform.kz/en/a_1", "link:https://www.inform.kz/en/a_1"),
    ],
)  # fmt: skip
def test_identity_prefers_guid_then_link(guid: str | None, link: str | None, expected: str) -> None:
    assert story_identity(guid, link, "Title", "Summary", base=EN_FEED_URL) == expected


def test_same_plain_guid_in_two_feeds_is_two_stories() -> None:
    first = story_identity("12345", None, "A", "a", base="https://a.kz/rss")
    second = story_identity("12345", None, "B", "b", base="https://b.kz/rss")
    assert first != second


def test_identity_without_guid_or_link_hashes_the_text() -> None:
    first = story_identity(None, None, "Title", "Summary", base=EN_FEED_URL)
    again = story_identity(None, None, "Title", "Summary", base=EN_FEED_URL)
    other = story_identity(None, None, "Title", "Other", base=EN_FEED_URL)

    assert first == again != other
    assert re.fullmatch(r"hash:[0-9a-f]{64}", first)


@pytest.mark.parametrize(
    ("guid", "link", "prefix"),
    [
        ("x" * 300, None, "guid:sha256:"),
        (None, "https://www.inform.kz/" + "a" * 300, "link:sha256:"),
    ],
)
def test_long_identity_is_hashed_within_255(
    guid: str | None, link: str | None, prefix: str
) -> None:
    identity = story_identity(guid, link, "t", "s", base=EN_FEED_URL)

    assert identity.startswith(prefix)
    assert len(identity) == len(prefix) + 64


def test_content_hash_is_of_headline_and_summary() -> None:
    assert content_hash("Senate passes budget", "Body.") == content_hash(
        "Senate passes budget", "Body."
    )
    assert content_hash("Senate pases budget", "Body.") != content_hash(
        "Senate passes budget", "Body."
    )
    assert re.fullmatch(r"[0-9a-f]{64}", content_hash("t", "s"))
