"""normalize_entry and its helpers: the stories a newsroom would see in Telegram."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import SectionConfig
from bot.domain.identity import content_hash
from bot.feeds.normalize import (
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    FeedContext,
    StoryDraft,
    build_category_map,
    normalize_entry,
    normalize_language,
)
from bot.feeds.parser import ParsedEntry, parse_feed
from bot.feeds.text import html_to_text, shorten

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
EN_FEED_URL = "https://www.inform.kz/en/rss"
NOW = datetime(2022, 11, 19, 6, 0, tzinfo=UTC)
SECTIONS = [
    SectionConfig(
        slug="parliament",
        title={"en": "Parliament", "ru": "Парламент", "kk": "Парламент"},
        categories=["Parliament", "Mazhilis", "Сенат"],
    ),
    SectionConfig(
        slug="politics",
        title={"en": "Politics", "ru": "Политика", "kk": "Саясат"},
        categories=["Elections 2022"],
    ),
    SectionConfig(slug="economy", title="Economy", categories=["Экономика", "Экономика"]),
]
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def context(**overrides: object) -> FeedContext:
    values: dict[str, object] = {
        "feed_url": EN_FEED_URL,
        "section": "news",
        "language": None,
        "categories": build_category_map(SECTIONS),
        "now": NOW,
    }
    values.update(overrides)
    return FeedContext(**values)  # type: ignore[arg-type]


def drafts(name: str, url: str = EN_FEED_URL, **overrides: object) -> list[StoryDraft | None]:
    parsed = parse_feed((FIXTURES / name).read_bytes(), url=url, headers={})
    ctx = context(feed_url=url, **overrides)
    return [normalize_entry(entry, ctx) for entry in parsed.entries]


def entry(**fields: object) -> ParsedEntry:
    values: dict[str, object] = {
        "guid": None,
        "link": "https://www.inform.kz/en/story_a1",
        "title": "A story",
        "summary_html": "<p>Body.</p>",
    }
    values.update(fields)
    return ParsedEntry(**values)  # type: ignore[arg-type]


def draft(**fields: object) -> StoryDraft:
    result = normalize_entry(entry(**fields), context())
    assert result is not None
    return result


@pytest.mark.parametrize(
    "name",
    [
        "en_rss2.xml", "ru_rss2.xml", "kk_rss2.xml", "atom.xml", "rss1.rdf", "rss091.xml",
        "jsonfeed.json", "jsonfeed_v1.json", "jsonfeed_hostile.json", "cp1251.xml",
        "broken.xml", "hostile.xml",
    ],
)  # fmt: skip
def test_every_fixture_normalizes_to_plain_text_stories(name: str) -> None:
    stories = drafts(name)

    assert stories
    for story in stories:
        assert story is not None
        assert story.title and not TAG.search(story.title)
        assert not TAG.search(story.summary)
        assert "&amp;" not in story.title + story.summary
        assert len(story.title) <= TITLE_LIMIT
        assert len(story.summary) <= SUMMARY_LIMIT
        assert len(story.identity) <= 255
        assert story.published_at.tzinfo is not None
        assert story.published_at.utcoffset() == timedelta(0)
        assert story.published_at <= NOW + timedelta(minutes=5)
        assert re.fullmatch(r"[0-9a-f]{64}", story.content_hash)
        assert story.link is None or story.link.startswith(("https://", "http://"))


def test_relative_links_resolve_against_feed_url() -> None:
    stories = drafts("en_rss2.xml")

    assert stories[1] is not None
    assert stories[1].link == (
        "https://www.inform.kz/en/nov-19-is-day-of-silence-in-kazakhstan_a4003002"
    )


def test_fixture_links_lose_tracking_but_keep_real_parameters() -> None:
    stories = drafts("en_rss2.xml")

    assert [story.link for story in stories if story] == [
        "https://www.inform.kz/en/kazakh-senate-speaker-maulen-ashimbayev-meets-election-observers-of-turkpa_a4003001",
        "https://www.inform.kz/en/nov-19-is-day-of-silence-in-kazakhstan_a4003002",
        "https://www.inform.kz/en/foreign-minister-tleuberdi-meets-sco-sec-gen-zhang-ming_a4003003?page=2",
        "https://www.inform.kz/en/mets-predict-unsteady-weather-nov-19_a4003004",
        "https://www.inform.kz/en/over-170-cis-observers-to-monitor-presidential-elections-in-kazakhstan_a4003005",
        "https://www.inform.kz/en/kazakhstan-s-gdp-grows-3-1-in-january-october_a4003006?id=6",
    ]  # fmt: skip


def test_image_url_keeps_params_but_drops_utm() -> None:
    first = drafts("en_rss2.xml")[0]

    assert first is not None
    assert first.image_url == (
        "https://static.inform.kz/photos/2022/11/18/ashimbayev_turkpa.jpg?w=800"
    )


def test_missing_guid_and_link_item_still_gets_a_stable_identity() -> None:
    last = drafts("hostile.xml")[-1]
    again = drafts("hostile.xml")[-1]

    assert last is not None and again is not None
    assert last.identity.startswith("hash:")
    assert last.identity == again.identity
    assert last.link is None


def test_credentials_are_never_stored_for_publishing_but_identity_keeps_them() -> None:
    secret = "https://editor:hunter2@www.inform.kz/en/a_1?utm_source=rss"
    story = draft(link=secret, title="", summary_html="", image_url=secret + "&w=800")

    assert story.link == "https://www.inform.kz/en/a_1"
    assert story.image_url == "https://www.inform.kz/en/a_1?w=800"
    assert "hunter2" not in story.title  # a story without text is titled by its link
    # Stories stored before keep being recognised: the identity is what it always was.
    assert story.identity == "link:https://editor:hunter2@www.inform.kz/en/a_1"


def test_summary_keeps_paragraphs_and_cuts_at_sentence() -> None:
    story = drafts("en_rss2.xml")[4]

    assert story is not None
    first, second = story.summary.split("\n\n")
    assert first.startswith("ASTANA. KAZINFORM – Over 170 observers")
    assert first.endswith("at a news conference on November 21.")
    assert second.endswith("presidential elections in Kazakhstan.")  # a whole sentence
    assert len(story.summary) <= SUMMARY_LIMIT


def test_summary_drops_scripts_and_keeps_line_breaks() -> None:
    story = drafts("en_rss2.xml")[0]

    assert story is not None
    assert story.summary.split("\n\n")[1] == (
        "During the meeting, the Kazakh Senate Speaker stressed that all necessary measures "
        "are in place to hold the elections in keeping with the legislation of Kazakhstan & "
        "international standards.\nAshimbayev drew attention to the significance of the "
        "upcoming elections."
    )
    assert story.summary.endswith("on November 20.")  # &nbsp; became a plain space
    assert "document.write" not in story.summary


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>One.</p><p>Two.</p>", "One.\n\nTwo."),
        ("One.<br>Two.", "One.\nTwo."),
        ("One.<br><br>Two.", "One.\n\nTwo."),
        ("One.<br/>\n<br />Two.", "One.\n\nTwo."),
        ("<div><p>  One   &amp;\n  two </p></div>", "One & two"),
        ("<ul><li>First</li><li>Second</li></ul>", "First\nSecond"),
        ("A<script>alert('<p>x</p>')</script>B<style>p{}</style>C", "ABC"),
        ("<b>Bold</b> and <i>italic</i>", "Bold and italic"),
        ("3 &lt; 5 &amp;&amp; 7 &gt; 2 &quot;q&quot; &#8212; &mdash;", '3 < 5 && 7 > 2 "q" — —'),
        ("Plain text\n\n\n\nwith   gaps", "Plain text\n\nwith gaps"),
        ("Astana\u00a0news", "Astana news"),
    ],
)
def test_html_becomes_plain_text_with_paragraphs(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


@pytest.mark.parametrize(
    "markup",
    [
        "<", "<<<<>>>>", "</p></p></div>", "<p", "<a href='x", "<!--", "<![CDATA[x", "<!DOCTYPE",
        "<script>never closed", "&#xD800;&#0;&#x110000;&bogus;", "<" * 10_000,
        "<a " + "x=1 " * 5_000, "<p>" * 5_000, "\x00\x01<p>\x7f</p>",
        "<svg><p>inside svg</p></svg>visible", "<?php echo 1 ?>text",
    ],
)  # fmt: skip
def test_html_to_text_never_raises_on_hostile_html(markup: str) -> None:
    text = html_to_text(markup)

    assert isinstance(text, str)
    assert "\x00" not in text
    assert "\ud800" not in text


def test_hostile_markup_becomes_plain_text() -> None:
    stories = drafts("hostile.xml", url="https://hostile.example/rss")

    titles = [story.title for story in stories if story]
    assert titles[0] == "Bold claim: click here"
    assert stories[0] is not None
    assert stories[0].summary == "Stray closing tags\n\njavascript link"


def test_telegram_breaking_characters_survive_as_text() -> None:
    story = drafts("hostile.xml", url="https://hostile.example/rss")[1]

    assert story is not None
    assert story.title == 'Tariffs < 5% & prices > 10%: "Quotes" & ampersands'
    assert story.summary == 'Compare: 3 < 5 && 7 > 2 — "quoted" text'


def test_invisible_direction_characters_are_removed() -> None:
    story = drafts("hostile.xml", url="https://hostile.example/rss")[2]

    assert story is not None
    assert story.title == "Reversed text with zerowidth and RTL marks"
    assert story.summary == "Invisible characters should not survive."


def test_huge_description_is_cut_quickly() -> None:
    started = time.perf_counter()
    story = drafts("hostile.xml", url="https://hostile.example/rss")[3]

    assert story is not None
    assert len(story.summary) <= SUMMARY_LIMIT
    assert story.summary.endswith("under control.")
    assert time.perf_counter() - started < 2.0


def test_long_summary_without_sentences_cuts_at_word_with_ellipsis() -> None:
    story = draft(summary_html="<p>" + "word " * 400 + "</p>")

    assert story.summary.endswith("word…")
    assert len(story.summary) <= SUMMARY_LIMIT


def test_sentence_cut_only_happens_late_in_the_limit() -> None:
    text = "Short opener. " + "x" * 20 + " " + "longword " * 80

    cut = shorten(text, 200, at_sentence=True)

    assert cut.endswith("…")  # the only sentence end is too early to cut at
    assert len(cut) <= 200


def test_long_title_is_cut_at_word_boundary() -> None:
    story = draft(title="Kazakhstan " * 60)

    assert len(story.title) <= TITLE_LIMIT
    assert story.title.endswith("Kazakhstan…")


def test_title_falls_back_to_first_sentence_of_summary() -> None:
    story = draft(title="  ", summary_html="<p>Senate passes budget. Details follow.</p>")

    assert story.title == "Senate passes budget."


def test_title_fallback_skips_the_agency_dateline() -> None:
    story = draft(
        title="",
        summary_html="<p>ASTANA. KAZINFORM – The Senate passed the budget. Details follow.</p>",
    )

    assert story.title == "ASTANA. KAZINFORM – The Senate passed the budget."


def test_link_only_entry_uses_link_as_title() -> None:
    story = draft(title="", summary_html="", link="/en/a_9?utm_source=x")

    assert story.title == "https://www.inform.kz/en/a_9"


def test_entry_without_title_summary_or_link_is_dropped() -> None:
    empty = entry(title="<b> </b>", summary_html="<p>&nbsp;</p>", link=None, guid="g-1")

    assert normalize_entry(empty, context()) is None


def test_future_date_is_clamped() -> None:
    story = drafts("hostile.xml", url="https://hostile.example/rss")[0]

    assert story is not None
    assert story.published_at == NOW


@pytest.mark.parametrize(
    ("published", "updated", "expected"),
    [
        (NOW + timedelta(minutes=4), None, NOW + timedelta(minutes=4)),  # clock skew is fine
        (NOW + timedelta(minutes=6), None, NOW),
        (None, NOW - timedelta(hours=2), NOW - timedelta(hours=2)),
        (None, None, NOW),  # first seen
        (datetime(2022, 11, 18, 17, 38), None, datetime(2022, 11, 18, 17, 38, tzinfo=UTC)),
    ],
)
def test_published_at_policy(
    published: datetime | None, updated: datetime | None, expected: datetime
) -> None:
    assert draft(published=published, updated=updated).published_at == expected


def test_missing_now_defaults_to_current_time() -> None:
    before = datetime.now(UTC)

    story = normalize_entry(entry(), context(now=None))

    assert story is not None
    assert before <= story.published_at <= datetime.now(UTC)


def test_kazakh_categories_map_to_section() -> None:
    stories = drafts("kk_rss2.xml", url="https://www.inform.kz/kz/rss")

    assert [story.section for story in stories if story] == ["parliament", "politics", "news"]


def test_russian_categories_map_case_insensitively() -> None:
    stories = drafts("ru_rss2.xml", url="https://www.inform.kz/ru/rss")

    # "Парламент", "Экономика", then "ПАРЛАМЕНТ" listed before "Экономика": first match wins.
    assert [story.section for story in stories if story] == ["parliament", "economy", "parliament"]


def test_english_categories_map_and_unmapped_fall_back_to_feed_section() -> None:
    stories = drafts("en_rss2.xml")

    assert [story.section for story in stories if story] == [
        "parliament", "politics", "politics", "news", "politics", "economy",
    ]  # fmt: skip


def test_category_map_keys_are_casefolded_defensively() -> None:
    story = normalize_entry(
        entry(categories=("ПАРЛАМЕНТ",)), context(categories={"Парламент": "parliament"})
    )

    assert story is not None
    assert story.section == "parliament"


def test_build_category_map_covers_categories_slugs_and_titles() -> None:
    mapping = build_category_map(SECTIONS)

    assert mapping["parliament"] == "parliament"
    assert mapping["mazhilis"] == "parliament"
    assert mapping["сенат"] == "parliament"
    assert mapping["парламент"] == "parliament"
    assert mapping["саясат"] == "politics"
    assert mapping["elections 2022"] == "politics"
    assert mapping["экономика"] == "economy"
    assert all(key == key.casefold() for key in mapping)


def test_listed_category_beats_another_sections_title() -> None:
    sections = [
        SectionConfig(slug="world", title="Politics"),
        SectionConfig(slug="politics", title="Home politics", categories=["Politics"]),
    ]

    assert build_category_map(sections)["politics"] == "politics"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ru-RU", "ru"), ("kk-KZ", "kk"), ("en-us", "en"), ("EN", "en"), ("kk_KZ", "kk"),
        ("kz", "kk"), (" ru ", "ru"), (None, None), ("", None), ("x1", None), ("english", None),
    ],
)  # fmt: skip
def test_language_is_normalised(raw: str | None, expected: str | None) -> None:
    assert normalize_language(raw) == expected


def test_configured_language_beats_entry_language() -> None:
    ctx = context(language="kk")

    assert normalize_entry(entry(language="ru-RU"), ctx).language == "kk"  # type: ignore[union-attr]
    assert draft(language="ru-RU").language == "ru"


def test_author_is_plain_and_short() -> None:
    story = draft(author="<b>Aigerim</b> &amp; " + "Seitkali " * 30)

    assert story.author is not None
    assert story.author.startswith("Aigerim & Seitkali")
    assert len(story.author) <= 100


def test_content_hash_changes_when_headline_is_corrected() -> None:
    original = draft(title="Senate pases budget")
    corrected = draft(title="Senate passes budget")

    assert original.identity == corrected.identity
    assert original.content_hash != corrected.content_hash
    assert corrected.content_hash == content_hash("Senate passes budget", "Body.")


def test_cyrillic_stories_keep_their_text() -> None:
    story = drafts("kk_rss2.xml", url="https://www.inform.kz/kz/rss", language="kk-KZ")[0]

    assert story is not None
    assert story.title == "Сенат төрағасы Мәулен Әшімбаев ТүркПА байқаушыларымен кездесті"
    assert story.language == "kk"
    assert story.summary.count("\n\n") == 1
    assert story.link == (
        "https://www.inform.kz/kz/senat-toragasy-maulen-ashimbaev-turkpa-baikaushylarymen-kezdesti_a4003201"
    )


@pytest.mark.parametrize(
    ("published", "unreadable", "note"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), None, "0001-01-01 00:00+00:00 is before 1990"),
        (datetime(1400, 1, 1, 1, tzinfo=UTC), None, "1400-01-01 01:00+00:00 is before 1990"),
        (datetime(1989, 12, 31, 23, 59, tzinfo=UTC), None, "1989-12-31 23:59+00:00 is before 1990"),
        (NOW + timedelta(days=3650), None, "2032-11-16 06:00+00:00 is in the future"),
        (None, "Mon, 01 Jan 0001 00:00:00 +1400",
         "'Mon, 01 Jan 0001 00:00:00 +1400' is not a readable date"),
    ],
)  # fmt: skip
def test_implausible_dates_become_first_seen_with_a_reason(
    published: datetime | None, unreadable: str | None, note: str
) -> None:
    story = draft(published=published, unreadable_date=unreadable)

    assert story.published_at == NOW
    assert story.date_note == note


@pytest.mark.parametrize(
    "published",
    [datetime(1990, 1, 1, tzinfo=UTC), NOW - timedelta(days=1), NOW + timedelta(minutes=4), None],
)
def test_plausible_or_missing_dates_carry_no_note(published: datetime | None) -> None:
    assert draft(published=published).date_note is None


def test_implausible_published_falls_back_to_a_plausible_updated() -> None:
    story = draft(published=datetime(1, 1, 1, tzinfo=UTC), updated=NOW - timedelta(hours=1))

    assert story.published_at == NOW - timedelta(hours=1)
