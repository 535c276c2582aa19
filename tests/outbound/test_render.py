"""Rendering stories for Telegram: escaping, Telegram's UTF-16 limits, photo or text, zones."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from bot.outbound.i18n import Catalogues, Translator
from bot.outbound.links import section_hashtag, web_url
from bot.outbound.lists import render_story_list
from bot.outbound.message import Button, OutgoingMessage, RelatedLink, VersionLink
from bot.outbound.render import buttons_as_links, render_breaking, render_story
from bot.outbound.reports import render_breaking_report
from bot.outbound.text_limits import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    cut_utf16,
    fits_callback_data,
    utf16_len,
)
from storage.models import Story

ALMATY = ZoneInfo("Asia/Almaty")
# Kazakhstan has been on UTC+5 since 1 March 2024 (Almaty was UTC+6 before, so the seed
# page's 2022 timestamps would be off by an hour); the tests use dates after the change.
PUBLISHED = datetime(2025, 11, 18, 12, 38, tzinfo=UTC)  # 17:38 in Astana and Almaty
LINK = "https://qazaqtv.com/en/news/kazakh-senate-speaker-meets-observers"
WORDS = ("parliament", "election", "observers", "mission", "senate", "speaker", "reform")


@dataclass(frozen=True)
class FakeStory:
    id: int = 1
    title: str = "Kazakh Senate Speaker Maulen Ashimbayev meets election observers of TurkPA"
    summary: str = (
        "ASTANA. KAZINFORM – Chairman of the Kazakh Senate Maulen Ashimbayev held a meeting "
        "with Kazakh presidential election observers."
    )
    link: str | None = LINK
    image_url: str | None = "https://qazaqtv.com/images/speaker.jpg"
    section: str | None = "parliament"
    published_at: datetime = PUBLISHED
    language: str | None = "en"


RELATED = (
    RelatedLink("Over 170 CIS observers to monitor presidential elections", "https://x.kz/1"),
    RelatedLink("Presidential candidate's supporters meet voters in Mangistau", "https://x.kz/2"),
    RelatedLink("Kazakhstan, Moldova debate interparliamentary coop", "https://x.kz/3"),
    RelatedLink("Senate Speaker meets CIS IPA observers", "https://x.kz/4"),
)


@pytest.fixture(scope="module")
def catalogues() -> Catalogues:
    return Catalogues.load()


@pytest.fixture
def t(catalogues: Catalogues) -> Translator:
    return catalogues.translator("en")


class TelegramHTML(HTMLParser):
    """Checks what Telegram's HTML parse mode accepts from us: only b, i and a href (http/s),
    balanced; only the named entities Telegram knows; no raw <, > or & in text."""

    TAGS: dict[str, set[str]] = {"b": set(), "i": set(), "a": {"href"}}  # noqa: RUF012
    ENTITIES = frozenset({"lt", "gt", "amp", "quot"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.TAGS or {name for name, _ in attrs} - self.TAGS[tag]:
            self.problems.append(f"tag <{tag} {attrs}>")
        if tag == "a":
            href = dict(attrs).get("href") or ""
            self.hrefs.append(href)
            if not href.startswith(("http://", "https://")):
                self.problems.append(f"href {href!r}")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")

    def handle_entityref(self, name: str) -> None:
        if name not in self.ENTITIES:
            self.problems.append(f"entity &{name};")

    def handle_data(self, data: str) -> None:
        if any(character in data for character in "<>&"):
            self.problems.append(f"raw markup character in {data[:40]!r}")

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declaration")


def check_html(text: str) -> TelegramHTML:
    parser = TelegramHTML()
    parser.feed(text)
    parser.close()
    assert parser.problems == []
    assert parser.open == [], "unclosed tags"
    return parser


def visible(text: str) -> str:
    """The text as Telegram shows (and counts) it: tags gone, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def story_of(**changes: object) -> FakeStory:
    return replace(FakeStory(), **changes)


def render(story: FakeStory, t: Translator, **options: object) -> OutgoingMessage:
    defaults: dict[str, object] = {"zone": ALMATY, "section_title": "Parliament"}
    defaults.update(options)
    return render_story(story, t=t, **defaults)  # type: ignore[arg-type]


def words(count: int, *, start: int = 0) -> str:
    return " ".join(WORDS[(start + index) % len(WORDS)] for index in range(count))


# Telegram's UTF-16 lengths ---------------------------------------------------------------


def test_astral_characters_count_as_two_utf16_units() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("Жаңалықтар") == 10
    assert utf16_len("😀") == 2
    assert utf16_len("🇰🇿") == 4  # a flag is two regional-indicator symbols
    assert utf16_len("⚡") == 1  # U+26A1 is in the Basic Multilingual Plane


def test_cut_keeps_text_that_fits_unchanged() -> None:
    assert cut_utf16("short text", 10) == "short text"


def test_cut_counts_the_ellipsis_and_stops_at_a_word_boundary() -> None:
    cut = cut_utf16("the senate speaker met election observers", 24)
    assert cut == "the senate speaker met…"
    assert utf16_len(cut) <= 24


def test_cut_never_splits_a_surrogate_pair() -> None:
    text = "😀" * 10
    for limit in range(1, 20):
        cut = cut_utf16(text, limit)
        cut.encode("utf-8")  # a lone surrogate would raise here
        assert utf16_len(cut) <= limit


def test_cut_without_a_nearby_space_cuts_inside_the_word() -> None:
    cut = cut_utf16("a " + "x" * 50, 20)
    assert cut == "a " + "x" * 17 + "…"


def test_cut_drops_trailing_punctuation_before_the_ellipsis() -> None:
    assert cut_utf16("observers, monitors and staff", 12) == "observers…"


def test_callback_data_is_limited_to_64_bytes_of_utf8() -> None:
    assert fits_callback_data("x" * CALLBACK_DATA_LIMIT)
    assert not fits_callback_data("x" * (CALLBACK_DATA_LIMIT + 1))
    assert fits_callback_data("ж" * 32)  # two bytes each
    assert not fits_callback_data("ж" * 33)
    assert not fits_callback_data("")


# Escaping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "<script>alert(1)</script>",
        "</b><a href='javascript:alert(1)'>win</a>",
        "Tom & Jerry &amp; friends &lt;",
        'He said "yes" <i>',
    ],
)
def test_hostile_titles_come_out_escaped_and_valid(t: Translator, title: str) -> None:
    message = render(story_of(title=title, summary=title), t, section_title=title)
    check_html(message.text)
    assert message.text.startswith(f"<b>{html.escape(title, quote=True)}</b>")
    assert visible(message.text).startswith(title)


def test_quotes_in_urls_cannot_break_out_of_the_href(t: Translator) -> None:
    hostile = 'https://x.kz/a?b="><b>bold</b>&c=1'
    related = [RelatedLink('"><b>x', hostile + "&related=1")]
    message = render(story_of(link=hostile), t, related=related)
    parser = check_html(message.text)
    assert parser.hrefs and all('"' not in href and "<" not in href for href in parser.hrefs)
    assert message.buttons[0][0].url == web_url(hostile)
    assert '"' not in (message.link_preview_url or "")
    listing = render_story_list(
        "Latest", [story_of(link=hostile)], t=t, zone=ALMATY, section_titles={}
    )
    check_html(listing)


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.cookie)",
        " javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "tg://resolve?domain=x",
        "/relative/path",
        "https://",
        "",
        None,
    ],
)
def test_non_web_links_never_become_buttons_or_hrefs(t: Translator, link: str | None) -> None:
    related = [RelatedLink("Related", link or "")]
    message = render(story_of(link=link, image_url=link), t, related=related)
    assert message.buttons == ()
    assert message.photo_url is None
    assert message.link_preview_url is None
    assert "href" not in message.text
    assert render_breaking("Quake", link, t=t).buttons == ()
    listing = render_story_list(
        "Latest", [story_of(link=link)], t=t, zone=ALMATY, section_titles={}
    )
    assert "href" not in listing


def test_story_is_bold_title_summary_hashtag_time_and_read_button(t: Translator) -> None:
    message = render(story_of(summary="First paragraph.\n\n\nSecond   paragraph."), t)
    assert message.text == (
        f"<b>{FakeStory.title}</b>\n\n"
        "First paragraph.\n\nSecond paragraph.\n\n"
        "#parliament · 18 November 2025, 17:38"
    )
    assert message.buttons == ((Button("Read", url=LINK),),)
    assert message.disable_notification is False


def test_section_title_shows_when_it_says_more_than_the_hashtag(catalogues: Catalogues) -> None:
    message = render(story_of(), catalogues.translator("ru"), section_title="Парламент")
    assert "#parliament · Парламент · 18 ноября 2025" in message.text


def test_section_hashtags_cannot_contain_hyphens() -> None:
    assert section_hashtag("parliament") == "#parliament"
    assert section_hashtag("foreign-policy") == "#foreign_policy"


# URLs as Telegram takes them (RFC 3986) ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://x.kz/a\u00a0b", "https://x.kz/a%C2%A0b", id="no-break space in the path"
        ),
        pytest.param(
            "https://x.kz/a?q=\u3000b#c\u3000d",
            "https://x.kz/a?q=%E3%80%80b#c%E3%80%80d",
            id="ideographic space in query and fragment",
        ),
        pytest.param(
            "\u00a0\u3000https://x.kz/a\u3000\n", "https://x.kz/a", id="whitespace at the ends"
        ),
        pytest.param(
            "https://Пример.РФ/путь?q=слово#часть",
            "https://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C?q=%D1%81%D0%BB%D0%BE%D0%B2%D0%BE"
            "#%D1%87%D0%B0%D1%81%D1%82%D1%8C",
            id="IDN host, Cyrillic path, query and fragment",
        ),
        pytest.param(
            "https://пример\u3002рф/", "https://xn--e1afmkfd.xn--p1ai/", id="ideographic full stop"
        ),
        pytest.param(
            "https://x.kz/a%20b%D1%81\u00a0?q=%3D%e2%80%93",
            "https://x.kz/a%20b%D1%81%C2%A0?q=%3D%e2%80%93",
            id="valid escapes kept, not double-encoded",
        ),
        pytest.param(
            "https://x.kz/100%/a%zz?p=5%", "https://x.kz/100%25/a%25zz?p=5%25", id="stray percent"
        ),
        pytest.param(
            "https://x.kz/a;b=c,d/@e:f?x=1&y=a/b?c:d@e!$'()*+#g/h?i#j",
            "https://x.kz/a;b=c,d/@e:f?x=1&y=a/b?c:d@e!$'()*+#g/h?i%23j",
            id="reserved characters kept where RFC 3986 allows them",
        ),
        pytest.param(
            'https://x.kz/a b"c<d>e\\f^g`h{i|j}?k=[l]',
            "https://x.kz/a%20b%22c%3Cd%3Ee%5Cf%5Eg%60h%7Bi%7Cj%7D?k=%5Bl%5D",
            id="unsafe ASCII",
        ),
        pytest.param("https://editor:hunter2@x.kz/a", "https://x.kz/a", id="credentials removed"),
        pytest.param(
            "HTTP://user@WWW.X.KZ:8080/Path",
            "http://www.x.kz:8080/Path",
            id="user removed, port kept, scheme and host in lower case",
        ),
        pytest.param(
            "http://u:p@[2001:DB8::1]:8080/a",
            "http://[2001:db8::1]:8080/a",
            id="IPv6 literal without credentials",
        ),
        pytest.param("https://exa mple.kz/", None, id="space in the host"),
        pytest.param("https://x.kz:99999/", None, id="port out of range"),
        pytest.param("https://x.kz/" + "\u00e9" * 400, None, id="over 2048 once encoded"),
    ],
)
def test_web_url_encodes_what_telegram_refuses(url: str, expected: str | None) -> None:
    assert web_url(url) == expected


@pytest.mark.parametrize("extra", [0, 1, 5, 10, 20, 4_000])
def test_a_refused_button_sent_as_a_link_still_fits_telegrams_limits(
    t: Translator, extra: int
) -> None:
    """Telegram refuses some button URLs (a host without a dot) it takes in an href."""
    story = story_of(link="http://intranet/a", summary="")
    room = CAPTION_LIMIT - utf16_len(visible(render(story, t, related=RELATED).text)) - 2
    summary = "x" * (room - extra) if extra < room else words(extra)  # "\n\n" + summary
    for message in (
        render(replace(story, summary=summary), t, related=RELATED),
        render_breaking(words(extra), "http://intranet/a", t=t),
    ):
        as_links = buttons_as_links(message)
        assert as_links is not None and as_links.buttons == ()
        parser = check_html(as_links.text)
        assert parser.hrefs[-1] == "http://intranet/a"
        assert visible(as_links.text).endswith("\n\nRead")
        limit = CAPTION_LIMIT if as_links.photo_url else MESSAGE_LIMIT
        assert utf16_len(visible(as_links.text)) <= limit


# Limits, photo or text ---------------------------------------------------------------------


def test_short_story_with_image_goes_as_photo_with_caption(t: Translator) -> None:
    message = render(story_of(), t)
    assert message.photo_url == FakeStory.image_url
    assert utf16_len(visible(message.text)) <= CAPTION_LIMIT
    assert message.link_preview_url == LINK  # for the text fallback when a photo is refused


def test_long_story_with_image_goes_as_text_with_link_preview(t: Translator) -> None:
    message = render(story_of(summary=words(300)), t)
    assert message.photo_url is None
    assert message.link_preview_url == LINK
    assert visible(message.text).count("parliament election") > 10  # not cut to a caption


def test_story_without_image_goes_as_text(t: Translator) -> None:
    message = render(story_of(image_url=None), t)
    assert message.photo_url is None
    assert message.link_preview_url == LINK


def test_caption_limit_is_measured_on_visible_text_not_html(t: Translator) -> None:
    summary = "& " * 400  # 800 visible units, 2,400 as HTML
    message = render(story_of(summary=summary.strip()), t)
    assert len(message.text) > CAPTION_LIMIT
    assert message.photo_url is not None


def test_huge_summary_is_cut_at_a_word_boundary_keeping_everything_else(t: Translator) -> None:
    summary = words(15_000)  # about 100 KB
    assert len(summary) > 100_000
    message = render(story_of(summary=summary), t, related=RELATED)
    check_html(message.text)
    shown = visible(message.text)
    assert MESSAGE_LIMIT - 100 < utf16_len(shown) <= MESSAGE_LIMIT
    assert shown.startswith(FakeStory.title)
    assert "#parliament · 18 November 2025, 17:38" in shown
    assert all(link.title in shown for link in RELATED[:3])
    body = shown.split("\n\n")[1]
    assert body.endswith("…")
    assert body[:-1].split(" ")[-1] in WORDS  # whole words only


def test_astral_characters_count_twice_against_the_limit(t: Translator) -> None:
    summary = "😀 новости " * 5_000
    message = render(story_of(summary=summary, image_url=None), t)
    shown = visible(message.text)
    shown.encode("utf-8")  # no half of a surrogate pair
    assert utf16_len(shown) <= MESSAGE_LIMIT
    assert len(shown) < utf16_len(shown)


def test_huge_title_is_shortened_so_the_story_still_fits(t: Translator) -> None:
    message = render(story_of(title=words(20_000), summary=words(20_000)), t, related=RELATED)
    shown = visible(message.text)
    assert utf16_len(shown) <= MESSAGE_LIMIT
    assert "#parliament" in shown and RELATED[0].title in shown


def test_cut_never_falls_inside_an_html_entity(t: Translator) -> None:
    message = render(story_of(summary="&<>" * 5_000, image_url=None), t)
    check_html(message.text)
    assert utf16_len(visible(message.text)) <= MESSAGE_LIMIT


# Time zone, related links, breaking ----------------------------------------------------------


def test_time_is_shown_in_the_newsroom_zone_not_utc(t: Translator) -> None:
    shown = visible(render(story_of(), t).text)
    assert "17:38" in shown
    assert "12:38" not in shown


def test_related_links_are_at_most_three_distinct_and_never_the_story_itself(
    t: Translator,
) -> None:
    related = [
        RelatedLink("Itself", LINK),
        RELATED[0],
        RELATED[0],
        RelatedLink("Script", "javascript:alert(1)"),
        *RELATED[1:],
    ]
    message = render(story_of(), t, related=related)
    parser = check_html(message.text)
    assert parser.hrefs == [link.url for link in RELATED[:3]]
    shown = visible(message.text)
    assert "\n\nRelated news\n• Over 170 CIS observers" in shown
    assert shown.count("• ") == 3


def test_breaking_story_is_labelled_first(catalogues: Catalogues) -> None:
    message = render(story_of(), catalogues.translator("ru"), breaking=True)
    assert message.text.startswith(f"⚡ <b>СРОЧНО</b>\n<b>{FakeStory.title}</b>")


def test_breaking_news_is_escaped_with_sound_and_a_read_button(t: Translator) -> None:
    message = render_breaking("Earthquake in Almaty <b>&", "https://x.kz/quake", t=t)
    assert message.text == "⚡ <b>BREAKING</b>\n\nEarthquake in Almaty &lt;b&gt;&amp;"
    assert message.buttons == ((Button("Read", url="https://x.kz/quake"),),)
    assert message.link_preview_url == "https://x.kz/quake"
    assert message.disable_notification is False
    assert message.photo_url is None


def test_breaking_news_without_a_link_has_no_button(catalogues: Catalogues) -> None:
    message = render_breaking("Жер сілкінісі", None, t=catalogues.translator("kk"))
    assert message.text == "⚡ <b>ШҰҒЫЛ</b>\n\nЖер сілкінісі"
    assert message.buttons == ()
    assert message.link_preview_url is None


def test_long_breaking_news_fits_a_message(t: Translator) -> None:
    message = render_breaking(words(5_000), None, t=t)
    assert utf16_len(visible(message.text)) <= MESSAGE_LIMIT


def test_storage_story_renders(t: Translator) -> None:
    story = Story(
        id=7,
        title="Nov 19 is Day of Silence",
        summary="Campaigning stops.",
        link=LINK,
        image_url=None,
        section="parliament",
        published_at=PUBLISHED,
        language="en",
    )
    assert "17:38" in render_story(story, t=t, zone=ALMATY, section_title="Parliament").text


# Lists ------------------------------------------------------------------------------------------


def test_story_list_is_numbered_with_link_time_and_hashtag(t: Translator) -> None:
    stories = [story_of(), story_of(title="Second & last", link=None, section="economy")]
    text = render_story_list(
        "Latest <news>", stories, t=t, zone=ALMATY, section_titles={"parliament": "Parliament"}
    )
    assert text == (
        "<b>Latest &lt;news&gt;</b>\n\n"
        f'1. <a href="{LINK}">{FakeStory.title}</a> · 17:38 · #parliament\n'
        "2. Second &amp; last · 17:38"
    )


def test_story_list_drops_whole_items_that_do_not_fit(t: Translator) -> None:
    stories = [
        story_of(title=f"{index} {words(60, start=index)}", link=f"{LINK}/{index}")
        for index in range(100)
    ]
    text = render_story_list(
        "Latest", stories, t=t, zone=ALMATY, section_titles={"parliament": "P"}
    )
    check_html(text)
    shown = visible(text)
    assert utf16_len(shown) <= MESSAGE_LIMIT
    lines = shown.split("\n")[2:]
    assert 5 < len(lines) < 100
    assert [line.split(". ", 1)[0] for line in lines] == [str(n) for n in range(1, len(lines) + 1)]
    assert all(line.endswith("#parliament") for line in lines)


def test_story_list_groups_by_hour_on_the_newsroom_clock(t: Translator) -> None:
    stories = [
        story_of(title="A", published_at=PUBLISHED),
        story_of(title="B", published_at=PUBLISHED - timedelta(minutes=20)),
        story_of(title="C", published_at=PUBLISHED - timedelta(hours=1)),
    ]
    text = render_story_list(
        "Today", stories, t=t, zone=ALMATY, section_titles={}, group_by_hour=True
    )
    shown = visible(text)
    assert shown == ("Today\n\n17:00\n1. A · 17:38\n2. B · 17:18\n\n16:00\n3. C · 16:38")


def test_story_list_without_time(t: Translator) -> None:
    text = render_story_list(
        "Popular", [story_of(title="A")], t=t, zone=ALMATY, section_titles={}, show_time=False
    )
    assert visible(text) == "Popular\n\n1. A"


@dataclass(frozen=True)
class _Failure:
    reason: str
    count: int


def test_breaking_report_counts_chats_in_the_editors_grammar(catalogues: Catalogues) -> None:
    russian = render_breaking_report(
        3,
        1,
        5,
        [_Failure("Forbidden: bot was blocked by the user", 21)],
        t=catalogues.translator("ru"),
    )
    assert "доставлено — 3 чата" in russian and "не доставлено — 1 чат," in russian
    assert "в очереди — 5 чатов" in russian
    assert "Forbidden: bot was blocked by the user — 21 чат" in russian
    english = render_breaking_report(1, 0, 2, [], t=catalogues.translator("en"))
    assert "delivered to 1 chat," in english and "still queued for 2 chats" in english


# Versions in other editions ----------------------------------------------------------------

VERSIONS = (
    VersionLink("Қазақша", "https://qazaqtv.com/kk/news/senat-spikeri"),
    VersionLink("Русский", "https://qazaqtv.com/ru/news/spiker-senata"),
    VersionLink("Deutsch", "javascript:alert(1)"),  # never a button
    VersionLink("English", LINK),  # the story itself
    VersionLink("Русский", "https://qazaqtv.com/ru/news/spiker-senata"),  # twice
)


@pytest.mark.parametrize("summary_words", [0, 150, 2_000])
def test_versions_are_url_buttons_named_in_their_languages_within_the_limits(
    t: Translator, summary_words: int
) -> None:
    message = render(story_of(summary=words(summary_words)), t, versions=VERSIONS)
    assert message.buttons == (
        (Button("Read", url=LINK),),
        (
            Button("Қазақша", url="https://qazaqtv.com/kk/news/senat-spikeri"),
            Button("Русский", url="https://qazaqtv.com/ru/news/spiker-senata"),
        ),
    )
    as_links = buttons_as_links(message)  # what goes out if Telegram refuses a button's URL
    assert as_links is not None
    assert check_html(as_links.text).hrefs[-2:] == [
        "https://qazaqtv.com/kk/news/senat-spikeri",
        "https://qazaqtv.com/ru/news/spiker-senata",
    ]
    limit = CAPTION_LIMIT if as_links.photo_url else MESSAGE_LIMIT
    assert utf16_len(visible(as_links.text)) <= limit
