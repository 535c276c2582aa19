"""parse_feed on real-shaped feeds: what a newsroom notices when a feed is read wrong."""

from __future__ import annotations

import html
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.feeds.parser import ParsedFeed, ParseError, parse_feed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
EN_FEED_URL = "https://www.inform.kz/en/rss"
RU_FEED_URL = "https://www.inform.kz/ru/rss"
ATOM_FEED_URL = "https://qazaqtv.com/en/news/atom.xml"
JSON_FEED_URL = "https://www.inform.kz/en/feed.json"
RSS_TYPE = {"Content-Type": "application/rss+xml"}


def parse_fixture(
    name: str, *, url: str = EN_FEED_URL, headers: dict[str, str] | None = None
) -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), url=url, headers=headers or {})


@pytest.mark.parametrize(
    ("name", "headers", "entry_count"),
    [
        ("en_rss2.xml", RSS_TYPE, 6),
        ("ru_rss2.xml", RSS_TYPE, 3),
        ("kk_rss2.xml", RSS_TYPE, 3),
        ("atom.xml", {"Content-Type": "application/atom+xml"}, 2),
        ("rss1.rdf", {"Content-Type": "application/rdf+xml"}, 2),
        ("rss091.xml", {}, 2),
        ("jsonfeed.json", {"Content-Type": "application/feed+json"}, 3),
        ("jsonfeed_v1.json", {"Content-Type": "application/json"}, 2),
        ("cp1251.xml", {"Content-Type": "text/xml"}, 2),
        ("cp1251_noprolog.xml", {"Content-Type": "application/rss+xml; charset=windows-1251"}, 2),
        ("hostile.xml", RSS_TYPE, 5),
        ("empty_channel.xml", RSS_TYPE, 0),
    ],
)
def test_every_readable_fixture_parses_without_error(
    name: str, headers: dict[str, str], entry_count: int
) -> None:
    parsed = parse_fixture(name, headers=headers)

    assert parsed.error is None, parsed.detail
    assert len(parsed.entries) == entry_count
    assert parsed.title
    for entry in parsed.entries:
        assert entry.title or entry.summary_html


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("cp1251.xml", {}),
        ("cp1251_noprolog.xml", {"Content-Type": "application/rss+xml; charset=windows-1251"}),
        ("cp1251_noprolog.xml", {"content-type": "text/xml; charset=Windows-1251"}),
        ("cp1251_noprolog.xml", {}),  # nothing declared anywhere: detected as Cyrillic
        ("cp1251_noprolog.xml", {"Content-Type": "text/xml"}),
    ],
)
def test_windows_1251_feed_decodes_cyrillic_titles(name: str, headers: dict[str, str]) -> None:
    parsed = parse_fixture(name, url=RU_FEED_URL, headers=headers)

    assert parsed.title == "Казинформ (архивная лента)"
    assert [entry.title for entry in parsed.entries] == [
        "Сенат принял закон о республиканском бюджете",
        "Ёлка в Астане: главную ель страны установят 1 декабря",
    ]
    assert parsed.entries[0].categories == ("Парламент",)


def test_undeclared_windows_1252_text_is_not_mistaken_for_cyrillic() -> None:
    body = (
        "<rss version='2.0'><channel><title>Café news</title><item>"
        "<title>Déjà vu at the Hôtel de Ville: résumé of the année</title>"
        "<description>Crème brûlée, naïve façade, Zürich and Málaga.</description>"
        "</item></channel></rss>"
    ).encode("cp1252")

    parsed = parse_feed(body, url=EN_FEED_URL, headers={})

    assert parsed.entries[0].title == "Déjà vu at the Hôtel de Ville: résumé of the année"


def test_kazakh_letters_survive_parsing() -> None:
    parsed = parse_fixture("kk_rss2.xml", headers=RSS_TYPE)

    text = " ".join(entry.title + entry.summary_html for entry in parsed.entries)
    for letter in "әғқңөұүһі":
        assert letter in text.lower()
    assert parsed.entries[0].categories == ("Парламент", "Саясат")


def test_broken_xml_still_yields_readable_items() -> None:
    parsed = parse_fixture("broken.xml", headers=RSS_TYPE)

    assert parsed.error is None
    assert parsed.warning and "well-formed" in parsed.warning
    # feedparser's fallback parser re-escapes the bare "&"; normalise unescapes it.
    assert [html.unescape(entry.title) for entry in parsed.entries[:2]] == [
        "Kazakhstan & Uzbekistan sign water-sharing agreement",
        "Astana hosts Central Asian media forum",
    ]
    assert parsed.entries[0].guid == "inform-kz-en-4003601"


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "text/html; charset=utf-8"}])
def test_html_page_is_not_a_feed(headers: dict[str, str]) -> None:
    parsed = parse_fixture("html_page.html", headers=headers)

    assert parsed.error is ParseError.NOT_A_FEED
    assert parsed.entries == []


def test_billion_laughs_is_refused_quickly() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        parsed = parse_fixture("billion_laughs.xml", headers=RSS_TYPE)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert parsed.error is ParseError.MALFORMED
    assert parsed.entries == []
    assert elapsed < 1.0
    assert peak < 20 * 1024 * 1024


def test_quadratic_entity_blowup_is_refused_quickly() -> None:
    # One 20 KB entity referenced 50,000 times: 1 GB if expanded, seconds in feedparser's
    # loose parser even when not.
    body = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "' + "A" * 20_000 + '">]>\n'
        "<rss version='2.0'><channel><title>x</title><item><title>t</title>"
        "<description>" + "&a;" * 50_000 + "</description></item></channel></rss>"
    ).encode()

    started = time.perf_counter()
    parsed = parse_feed(body, url=EN_FEED_URL, headers=RSS_TYPE)

    assert parsed.error is ParseError.MALFORMED
    assert time.perf_counter() - started < 1.0


def test_short_literal_entities_are_still_allowed() -> None:
    body = (
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE rss [\n  <!ENTITY nbsp "&#160;">\n  <!ENTITY agency "Kazinform">\n]>\n'
        b"<rss version='2.0'><channel><title>&agency;</title><item>"
        b"<title>Astana&nbsp;news</title><link>https://www.inform.kz/en/a_1</link></item>"
        b"</channel></rss>"
    )

    parsed = parse_feed(body, url=EN_FEED_URL, headers=RSS_TYPE)

    assert parsed.error is None
    assert parsed.title == "Kazinform"
    assert parsed.entries[0].title == "Astana\xa0news"


@pytest.mark.parametrize("body", [b"", b"   \r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n\n"])
def test_empty_body_is_empty(body: bytes) -> None:
    assert parse_feed(body, url=EN_FEED_URL, headers=RSS_TYPE).error is ParseError.EMPTY


def test_valid_feed_with_no_items_is_not_an_error() -> None:
    parsed = parse_fixture("empty_channel.xml", headers=RSS_TYPE)

    assert parsed.error is None
    assert parsed.warning is None
    assert parsed.entries == []
    assert parsed.title == "Kazinform — Sport"
    assert parsed.language == "en"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<rss version='2.0'><channel><title>Kazinform</tit", ParseError.MALFORMED),
        (b"\x00\x01\x02 garbage \xff\xfe", ParseError.MALFORMED),
        (b"<?xml version='1.0'?><urlset><url><loc>https://x/</loc></url></urlset>",
         ParseError.NOT_A_FEED),
        (b'{"items": [1, 2, 3]', ParseError.MALFORMED),
        (b'{"error": "rate limited"}', ParseError.NOT_A_FEED),
        (b"[1, 2, 3]", ParseError.NOT_A_FEED),
        (b"[" * 100_000, ParseError.MALFORMED),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": "none"}',
         ParseError.MALFORMED),
    ],
)  # fmt: skip
def test_unreadable_bodies_get_a_stable_error(body: bytes, expected: ParseError) -> None:
    parsed = parse_feed(body, url=EN_FEED_URL, headers={})

    assert parsed.error is expected
    assert parsed.entries == []
    assert parsed.detail


@pytest.mark.parametrize(
    "body",
    [b"/etc/passwd", b"/etc/hostname", b"https://example.com/feed.xml", b"file:///etc/passwd"],
)
def test_body_that_looks_like_a_path_or_url_is_never_opened(body: bytes) -> None:
    # feedparser.parse(bytes) would open a local file or fetch a URL of that name.
    parsed = parse_feed(body, url=EN_FEED_URL, headers={})

    assert parsed.entries == []
    assert parsed.error is not None


def test_header_names_are_case_insensitive() -> None:
    body = (FIXTURES / "cp1251_noprolog.xml").read_bytes()

    upper = parse_feed(body, url=RU_FEED_URL, headers={"CONTENT-TYPE": "text/xml; charset=cp1251"})

    assert upper.entries[0].title == "Сенат принял закон о республиканском бюджете"


def test_rss_fields_are_read() -> None:
    first = parse_fixture("en_rss2.xml", headers=RSS_TYPE).entries[0]

    assert first.guid == "inform-kz-en-4003001"
    assert (
        first.title == "Kazakh Senate Speaker Maulen Ashimbayev meets election observers of TurkPA"
    )
    assert first.categories == ("Parliament", "Elections 2022")
    assert first.author == "Kazinform"
    assert first.published == datetime(2022, 11, 18, 11, 38, tzinfo=UTC)
    assert "utm_source=rss" in (first.link or "")  # raw as stated; normalise cleans it


def test_script_is_removed_from_descriptions() -> None:
    first = parse_fixture("en_rss2.xml", headers=RSS_TYPE).entries[0]

    assert "<script" not in first.summary_html
    assert "document.write" not in first.summary_html


def test_rss_ttl_becomes_seconds() -> None:
    assert parse_fixture("en_rss2.xml", headers=RSS_TYPE).ttl_seconds == 15 * 60
    assert parse_fixture("ru_rss2.xml", headers=RSS_TYPE).ttl_seconds is None


@pytest.mark.parametrize("ttl", ["0", "-5", "abc", "99999999", "²"])
def test_nonsense_ttl_is_ignored(ttl: str) -> None:
    body = f"<rss version='2.0'><channel><title>x</title><ttl>{ttl}</ttl></channel></rss>"

    assert parse_feed(body.encode(), url=EN_FEED_URL, headers={}).ttl_seconds is None


@pytest.mark.parametrize(
    ("index", "image"),
    [
        (
            0,
            "https://static.inform.kz/photos/2022/11/18/ashimbayev_turkpa.jpg?w=800&utm_source=rss",
        ),
        (1, "https://static.inform.kz/photos/2022/11/18/day_of_silence.jpg"),  # enclosure
        (2, "https://static.inform.kz/photos/2022/11/18/tleuberdi_sco.jpg"),  # <img> in HTML
        (3, "https://static.inform.kz/photos/2022/11/18/weather_thumb.jpg"),  # media:thumbnail
        (4, None),
        (5, "https://static.inform.kz/photos/2022/11/18/gdp.png"),  # the video is skipped
    ],
)
def test_images_come_from_media_enclosures_or_html(index: int, image: str | None) -> None:
    entry = parse_fixture("en_rss2.xml", headers=RSS_TYPE).entries[index]

    assert entry.image_url == image


def test_summary_prefers_the_longer_of_content_and_description() -> None:
    entry = parse_fixture("en_rss2.xml", headers=RSS_TYPE).entries[4]

    assert "More than 300 media representatives" in entry.summary_html  # only in content:encoded


@pytest.mark.parametrize(
    ("name", "url", "index", "link"),
    [
        ("en_rss2.xml", EN_FEED_URL, 1,
         "https://www.inform.kz/en/nov-19-is-day-of-silence-in-kazakhstan_a4003002"),
        ("atom.xml", ATOM_FEED_URL, 0,
         "https://qazaqtv.com/en/news/68501-kazakh-senate-speaker-meets-election-observers-of-turkpa"),
        ("jsonfeed.json", JSON_FEED_URL, 1,
         "https://www.inform.kz/en/mets-predict-unsteady-weather_a4003502"),
    ],
)  # fmt: skip
def test_relative_links_resolve_against_feed_url(
    name: str, url: str, index: int, link: str
) -> None:
    assert parse_fixture(name, url=url).entries[index].link == link


def test_atom_entry_fields() -> None:
    parsed = parse_fixture("atom.xml", url=ATOM_FEED_URL)
    first, second = parsed.entries

    assert first.guid == "tag:qazaqtv.com,2022:/en/news/68501"
    assert first.image_url == "https://qazaqtv.com/uploads/2022/11/18/turkpa.jpg"
    assert first.author == "Qazaq TV"
    assert first.categories == ("Parliament",)
    assert first.language == "en"
    assert first.published == datetime(2022, 11, 18, 11, 38, tzinfo=UTC)
    assert first.updated == datetime(2022, 11, 18, 11, 50, tzinfo=UTC)
    assert "https://qazaqtv.com/en/news/68400" in first.summary_html  # content's own link
    assert second.published == second.updated == datetime(2022, 11, 18, 9, 15, tzinfo=UTC)


def test_rss1_and_rss091_items_are_read() -> None:
    rdf = parse_fixture("rss1.rdf").entries[0]
    old = parse_fixture("rss091.xml").entries[1]

    assert rdf.published == datetime(2022, 11, 18, 6, 30, tzinfo=UTC)
    assert rdf.categories == ("Elections 2022",)
    assert rdf.author == "Kazinform"
    assert old.title == "November 19. Today's Birthdays"
    assert old.published is None
    assert old.guid is None


def test_hostile_dates_are_kept_or_dropped_but_never_crash() -> None:
    entries = parse_fixture("hostile.xml", headers=RSS_TYPE).entries

    assert entries[0].published == datetime(2999, 1, 1, tzinfo=UTC)  # normalise clamps it
    assert entries[1].published is None
    assert entries[3].published is None  # "not a real date"
    assert entries[4].guid is None
    assert entries[4].link is None


def test_hostile_javascript_links_are_neutralised() -> None:
    first = parse_fixture("hostile.xml", headers=RSS_TYPE).entries[0]

    assert "javascript:" not in first.title
    assert "javascript:" not in first.summary_html
    assert "onclick" not in first.summary_html


def test_jsonfeed_items_have_dates_and_images() -> None:
    parsed = parse_fixture("jsonfeed.json", url=JSON_FEED_URL)
    first, second, third = parsed.entries

    assert parsed.title == "Kazinform — JSON Feed"
    assert parsed.link == "https://www.inform.kz/en"
    assert parsed.language == "en"
    assert first.published == datetime(2022, 11, 18, 11, 38, tzinfo=UTC)
    assert first.updated == datetime(2022, 11, 18, 12, 0, tzinfo=UTC)
    assert first.image_url == "https://static.inform.kz/photos/2022/11/18/turkpa_json.jpg"
    assert first.author == "Aigerim Seitkali"
    assert first.categories == ("Parliament", "Elections 2022")
    assert first.language == "en"
    assert second.guid == "4003502"  # numeric id
    assert second.image_url == "https://static.inform.kz/photos/2022/11/18/weather_banner.jpg"
    assert second.author == "Kazinform"  # the feed's author
    assert "&lt; 5 km" in second.summary_html  # content_text is escaped into HTML
    assert third.link == "https://www.gov.kz/memleket/entities/mfa/press/news/details/123"
    assert third.published is None  # "not a date"


def test_jsonfeed_v1_author_object_is_read() -> None:
    first, second = parse_fixture(
        "jsonfeed_v1.json", url="https://qazaqtv.com/en/feed.json"
    ).entries

    assert first.author == "Dana Nurlanovna"
    assert second.author == "Qazaq TV newsroom"
    assert second.published is None
    assert second.updated == datetime(2022, 11, 17, 9, 0, tzinfo=UTC)


def test_hostile_jsonfeed_skips_bad_items() -> None:
    parsed = parse_fixture("jsonfeed_hostile.json", url=JSON_FEED_URL)

    assert parsed.error is None
    assert parsed.warning == "skipped 5 malformed JSON Feed item(s)"
    assert parsed.title is None
    assert parsed.link is None
    valid, odd = parsed.entries
    assert valid.title == "A valid item among broken ones"
    assert valid.categories == ("Parliament",)
    assert valid.author == "Kazinform"
    assert "\ud800" not in odd.title
    assert odd.guid is None


def test_json_body_is_detected_without_a_json_content_type() -> None:
    body = (FIXTURES / "jsonfeed.json").read_bytes()

    parsed = parse_feed(body, url=JSON_FEED_URL, headers={"Content-Type": "text/plain"})

    assert len(parsed.entries) == 3


def test_xml_served_as_json_is_still_parsed() -> None:
    parsed = parse_fixture("en_rss2.xml", headers={"Content-Type": "application/json"})

    assert len(parsed.entries) == 6


def test_emoji_written_as_utf16_references_survive() -> None:
    body = (
        b"<rss version='2.0'><channel><title>x</title><item>"
        b"<title>Nauryz greetings &#55357;&#56832; &#xD83C;&#xDF89; broken &#xD800;</title>"
        b"</item></channel></rss>"
    )

    parsed = parse_feed(body, url=EN_FEED_URL, headers=RSS_TYPE)

    assert parsed.entries[0].title == "Nauryz greetings 😀 🎉 broken \ufffd"


def test_undeclared_cyrillic_guess_is_reported_as_a_warning() -> None:
    parsed = parse_fixture("cp1251_noprolog.xml", url=RU_FEED_URL)

    assert parsed.warning == "no charset declared; decoded as windows-1251 (Cyrillic detected)"


def test_a_crash_inside_feedparser_becomes_malformed(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise KeyError("links")

    monkeypatch.setattr("bot.feeds.parser.feedparser.parse", explode)

    parsed = parse_fixture("en_rss2.xml", headers=RSS_TYPE)

    assert parsed.error is ParseError.MALFORMED
    assert parsed.detail == "KeyError: 'links'"


# --- one bad byte must not garble a UTF-8 feed ----------------------------------------------
RU_BAD_BYTE = (FIXTURES / "ru_invalid_byte.xml").read_bytes()
RU_BAD_BYTE_UNDECLARED = RU_BAD_BYTE.split(b"?>", 1)[1].lstrip()  # no XML declaration
RU_BAD_BYTE_TITLES = [
    "Выборы в сенат",
    "Сенат одобрил закон о бюджете",
    "Ёлку в Астане установят 1 декабря",
]


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (RU_BAD_BYTE, RSS_TYPE),  # the XML declaration says UTF-8
        (RU_BAD_BYTE, {"Content-Type": "application/rss+xml; charset=UTF-8"}),  # and HTTP too
        (RU_BAD_BYTE_UNDECLARED, {"Content-Type": "text/xml; charset=utf-8"}),  # HTTP only
        (b"\xef\xbb\xbf" + RU_BAD_BYTE_UNDECLARED, {}),  # a UTF-8 BOM only
        (RU_BAD_BYTE_UNDECLARED, {}),  # nothing declared: the bytes are mostly UTF-8
    ],
)
def test_one_invalid_byte_does_not_garble_a_utf8_feed(body: bytes, headers: dict[str, str]) -> None:
    parsed = parse_feed(body, url=RU_FEED_URL, headers=headers)

    assert parsed.error is None, parsed.detail
    assert parsed.title == "Казинформ — Политика"
    assert [entry.title for entry in parsed.entries] == RU_BAD_BYTE_TITLES
    assert "приняли закон \ufffd о республиканском" in parsed.entries[1].summary_html
    assert parsed.warning == "replaced 1 invalid UTF-8 byte sequence(s) with U+FFFD"


def test_a_clean_utf8_feed_gets_no_repair_warning() -> None:
    parsed = parse_fixture("ru_rss2.xml", url=RU_FEED_URL, headers=RSS_TYPE)

    assert parsed.warning is None


def test_utf8_header_does_not_override_a_declared_windows_1251_body() -> None:
    """A server that labels every response UTF-8 serves an old windows-1251 feed: the XML
    declaration is the truth, as feedparser's fallback already finds, so nothing is replaced."""
    parsed = parse_fixture(
        "cp1251.xml", url=RU_FEED_URL, headers={"Content-Type": "application/xml; charset=utf-8"}
    )

    assert parsed.entries[0].title == "Сенат принял закон о республиканском бюджете"
    assert "U+FFFD" not in (parsed.warning or "")


KK_UTF16 = (FIXTURES / "kk_utf16_bom.xml").read_bytes()


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (KK_UTF16, RSS_TYPE),  # BOM, little-endian, no XML declaration
        (KK_UTF16, {"Content-Type": "application/rss+xml; charset=utf-8"}),  # BOM wins
        (b"\xfe\xff" + KK_UTF16.decode("utf-16").encode("utf-16-be"), {}),  # big-endian
        (
            b"\xff\xfe"
            + ('<?xml version="1.0" encoding="utf-16"?>\n' + KK_UTF16.decode("utf-16")).encode(
                "utf-16-le"
            ),
            {},
        ),
    ],
)
def test_utf16_feed_with_a_bom_is_read(body: bytes, headers: dict[str, str]) -> None:
    parsed = parse_feed(body, url="https://www.inform.kz/kz/rss", headers=headers)

    assert parsed.error is None, parsed.detail
    assert parsed.title == "Қазақпарат — Саясат"
    assert [entry.title for entry in parsed.entries] == [
        "Сенат депутаттарының сайлауы өтті",
        "Астанада шырша 1 желтоқсанда орнатылады",
    ]
    assert parsed.warning is None


def test_utf16_feed_declaring_entities_is_still_screened() -> None:
    body = (
        '<?xml version="1.0" encoding="utf-16"?>\n<!DOCTYPE rss [<!ENTITY a "'
        + "A" * 20_000
        + '">]>\n<rss version="2.0"><channel><title>x</title><item><title>t</title>'
        "<description>" + "&a;" * 50_000 + "</description></item></channel></rss>"
    ).encode("utf-16")

    assert parse_feed(body, url=EN_FEED_URL, headers=RSS_TYPE).error is ParseError.MALFORMED


def test_invalid_utf8_in_a_json_feed_is_replaced_not_fatal() -> None:
    body = (FIXTURES / "jsonfeed.json").read_bytes().replace(b"TurkPA ", b"Turk\xffPA ", 1)
    assert body.count(b"\xff") == 1

    parsed = parse_feed(body, url=JSON_FEED_URL, headers={"Content-Type": "application/json"})

    assert parsed.error is None, parsed.detail
    assert [entry.title for entry in parsed.entries][:2] == [
        "Senate Speaker meets Turk\ufffdPA observers",
        "Mets predict unsteady weather Nov 19",
    ]
    assert len(parsed.entries) == 3
    assert parsed.warning == "replaced 1 invalid UTF-8 byte sequence(s) with U+FFFD"


# --- dates ------------------------------------------------------------------------------------
def rss_dated(pub_date: str) -> bytes:
    return (
        "<rss version='2.0'><channel><title>x</title><item><title>t</title>"
        f"<link>https://www.inform.kz/en/a_1</link><pubDate>{pub_date}</pubDate>"
        "</item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("pub_date", "published"),
    [
        # feedparser's RFC 822 reader rejects this (it is before year 1 in UTC) and its asctime
        # reader then takes the words in asctime order: the zone "+1400" became the year 1400.
        ("Mon, 01 Jan 0001 00:00:00 +1400", None),
        ("Mon, 01 Jan 0001 00:00:00 +0000", datetime(1, 1, 1, tzinfo=UTC)),  # normalise drops it
        ("Fri, 18 Nov 2022 10:00:00 +0300", datetime(2022, 11, 18, 7, 0, tzinfo=UTC)),
        ("18 Nov 2022 10:00 +0600", datetime(2022, 11, 18, 4, 0, tzinfo=UTC)),
        ("Sun Nov  6 08:49:37 1994", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),  # asctime
        ("2022-11-18T10:00:00+06:00", datetime(2022, 11, 18, 4, 0, tzinfo=UTC)),
        ("not a real date", None),
    ],
)
def test_stated_dates_are_read_as_written(pub_date: str, published: datetime | None) -> None:
    (entry,) = parse_feed(rss_dated(pub_date), url=EN_FEED_URL, headers=RSS_TYPE).entries

    assert entry.published == published
    assert entry.unreadable_date == (pub_date if published is None else None)


def test_impossible_dates_in_a_fixture_are_not_read_as_the_year_1400() -> None:
    entries = parse_fixture("implausible_dates.xml", headers=RSS_TYPE).entries

    assert [entry.published for entry in entries] == [
        datetime(2022, 11, 19, 2, 30, tzinfo=UTC),
        None,
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(2032, 11, 19, 2, 30, tzinfo=UTC),
    ]
    assert entries[1].unreadable_date == "Mon, 01 Jan 0001 00:00:00 +1400"


# --- language versions: an item's own link is never another language's -------------------
_RSS_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"'
    ' xmlns:atom="http://www.w3.org/2005/Atom" xmlns:xhtml="http://www.w3.org/1999/xhtml">'
    "<channel><title>Kazinform</title><link>https://www.inform.kz/ru/</link>"
    "<language>ru</language><item><title>Парламент принял закон</title><guid>1</guid>"
)
_ATOM_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"'
    ' xml:lang="{lang}"><title>Kazinform</title><id>urn:kazinform</id>'
    "<updated>2024-11-05T10:00:00Z</updated><entry><title>Parliament passes the law</title>"
    "<id>urn:kazinform:1</id><updated>2024-11-05T10:00:00Z</updated>"
)
RU = "https://www.inform.kz/ru/law"
KK = "https://www.inform.kz/kk/law"
EN = "https://www.inform.kz/en/law"


def _rss_item(links: str) -> bytes:
    return (_RSS_HEAD + links + "</item></channel></rss>").encode()


def _atom_entry(links: str, lang: str = "en") -> bytes:
    return (_ATOM_HEAD.format(lang=lang) + links + "</entry></feed>").encode()


@pytest.mark.parametrize(
    ("body", "link", "alternates"),
    [
        pytest.param(
            _rss_item(
                f"<link>{RU}</link>"
                f'<atom:link rel="alternate" hreflang="kk" href="{KK}"/>'
                f'<atom:link rel="alternate" hreflang="en" href="{EN}"/>'
            ),
            RU,
            (("kk", KK), ("en", EN)),
            id="rss-atom-link",
        ),
        pytest.param(
            _rss_item(
                f'<xhtml:link rel="alternate" hreflang="kk" href="{KK}"/>'
                f"<link>{RU}</link>"
                f'<xhtml:link rel="alternate" hreflang="en" href="{EN}"/>'
            ),
            RU,
            (("kk", KK), ("en", EN)),
            id="rss-xhtml-link",
        ),
        pytest.param(
            _rss_item(
                f'<atom:link rel="alternate" hreflang="ru" href="{RU}"/>'
                f'<atom:link rel="alternate" hreflang="kk" href="{KK}"/>'
            ),
            RU,
            (("kk", KK),),
            id="rss-only-hreflang-own-language",
        ),
        pytest.param(
            _rss_item(
                f'<atom:link rel="alternate" href="{RU}"/>'
                f'<atom:link rel="alternate" hreflang="en" href="{EN}"/>'
            ),
            RU,
            (("en", EN),),
            id="rss-alternate-without-hreflang",
        ),
        pytest.param(
            _rss_item(f'<link>{RU}</link><atom:link rel="self" href="https://www.inform.kz/rss"/>'),
            RU,
            (),
            id="rss-no-alternates",
        ),
        pytest.param(
            _atom_entry(
                f'<link rel="alternate" hreflang="ru" href="{RU}"/>'
                f'<link rel="alternate" href="{EN}"/>'
                f'<link rel="alternate" hreflang="kk" href="{KK}"/>'
            ),
            EN,
            (("ru", RU), ("kk", KK)),
            id="atom-plain-link",
        ),
        pytest.param(
            _atom_entry(
                f'<link rel="alternate" hreflang="ru" href="{RU}"/>'
                f'<link rel="alternate" hreflang="en-GB" href="{EN}"/>'
                f'<link rel="alternate" hreflang="kk" href="{KK}"/>'
            ),
            EN,
            (("ru", RU), ("kk", KK)),
            id="atom-hreflang-of-own-language",
        ),
    ],
)
def test_an_item_keeps_its_own_link_and_names_its_other_versions(
    body: bytes, link: str, alternates: tuple[tuple[str, str], ...]
) -> None:
    """feedparser's `link` is the last alternate: the Russian item's Read button opened the
    English page, and the English item then "updated" the Russian story."""
    parsed = parse_feed(body, url=RU_FEED_URL, headers=RSS_TYPE)

    assert parsed.error is None, parsed.detail
    (entry,) = parsed.entries
    assert entry.link == link
    assert entry.alternates == alternates
