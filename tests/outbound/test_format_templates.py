"""A chat's template and switches, rendered as Telegram will read them: refusals with their
reason and line, hostile fields escaped, utm on the newsroom's links, Telegram's limits after
templating, and the feed's categories kept for the filters."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, load_settings
from bot.domain.channel_rules import DEFAULT_FORMAT, DeskFormat, DeskRules, StoryText
from bot.domain.filters import admits
from bot.feeds.normalize import FeedContext, normalize_entry
from bot.feeds.parser import parse_feed
from bot.outbound.i18n import Catalogues
from bot.outbound.markup import MarkupRefused, check_markup
from bot.outbound.message import RelatedLink, VersionLink
from bot.outbound.render import for_chat, render_story
from bot.outbound.templates import TemplateRefused, check_template
from bot.outbound.text_limits import CAPTION_LIMIT, MESSAGE_LIMIT, utf16_len
from tests.fakes.telegram_html import parse_html

ZONE = ZoneInfo("Asia/Almaty")
CATALOGUES = Catalogues.load()
TEMPLATE = "<b>{{ title }}</b>\n\n{{ summary }}\n\n{{ hashtags }} · {{ date }}"


@dataclass(frozen=True)
class FakeStory:
    id: int = 1
    title: str = "Senate passes the media law"
    summary: str = "Deputies adopted the bill in the second reading."
    link: str | None = "https://www.inform.kz/ru/senat-1?id=7"
    image_url: str | None = None
    section: str | None = "parliament"
    published_at: datetime = datetime(2025, 11, 18, 12, 38, tzinfo=UTC)
    language: str | None = "ru"
    edition: str | None = "ru"
    author: str | None = "Aigerim N."


def _render(story: FakeStory, look: DeskFormat = DEFAULT_FORMAT, language: str = "ru", **extra):  # type: ignore[no-untyped-def]
    return render_story(
        story,
        t=CATALOGUES.translator(language),
        zone=ZONE,
        section_title="Парламент",
        look=look,
        **extra,
    )


def _telegram(text: str) -> str:
    """What Telegram shows of `text` (the fake's strict parser: raises where Telegram would)."""
    return parse_html(text).text


# Refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<b>{{ title }}</b>\n{% if summary %}\n{{ summary }\n", r"unexpected '}' \(line 3\)"),
        ("{{ title }}\n\n<b>{{ summary }}", r"<b> is never closed \(line 3\)"),
        (
            "{{ title }}\n<script>alert(1)</script>",
            r"<script> is not a tag Telegram knows \(line 2\)",
        ),
        ("{{ title }}\n<i>{{ summary }}</b>", r"</b> closes <i> \(line 2\)"),
        ("{{ title }}\n{{ title.__class__.__mro__ }}", r"unsafe.*\(line 2\)"),
        ("{{ title }}\n{{ headline }}", r"'headline' is undefined \(line 2\)"),
        ("{{ title }} & {{ summary }}", r'bare "&".*\(line 1\)'),
        ('<a href="javascript:alert(1)">{{ title }}</a>', r"http\(s\) or tg:// link \(line 1\)"),
        ("{{ summary|safe }}", r"\(line 1\)"),  # the hostile sample's markup comes through
        ("{{ 'x' * 10**8 }}", r"\(line 1\)"),
        ("{% for i in range(10**6) %}.{% endfor %}", r"range\(\) longer than 100 \(line 1\)"),
        ("{% if summary %}{% endif %}", r"renders no text \(line 1\)"),
    ],
)
def test_an_invalid_template_is_refused_with_the_reason_and_its_line(
    source: str, reason: str
) -> None:
    with pytest.raises(TemplateRefused, match=reason) as refused:
        check_template(source)
    assert isinstance(refused.value, ValueError)
    assert "\n" not in str(refused.value)


def test_telegram_html_is_accepted() -> None:
    check_template(
        "<b>{{ title }}</b> <i>{{ section }}</i> <u>u</u> <s>s</s> <tg-spoiler>x</tg-spoiler>\n"
        '<span class="tg-spoiler">{{ author }}</span> <a href="{{ link }}">→</a>\n'
        "<blockquote expandable>{{ summary }}</blockquote>\n"
        '<pre><code class="language-python">{{ time }}</code></pre> &lt;&#8470;&quot;\n'
        '{% for item in related %}• <a href="{{ item.url }}">{{ item.title }}</a>\n{% endfor %}'
        "{% for item in other_editions %}{{ item.title }} {% endfor %}{{ edition }} {{ image }}"
    )


@pytest.mark.parametrize(
    "html",
    [
        "<b><i>x</b></i>",
        "<a href='https://a.kz'><a href='https://b.kz'>x</a></a>",
        "<br>",
        "<code><b>x</b></code>",
        "&nbsp;",
        "<b>x",
        "x</b>",
        '<span class="x">y</span>',
        "<blockquote><blockquote>x</blockquote></blockquote>",
        "<b/>",
        "<!-- x -->",
    ],
)
def test_the_validator_refuses_what_telegram_refuses(html: str) -> None:
    with pytest.raises(MarkupRefused):
        check_markup(html)


def test_a_template_telegram_refuses_stops_start_up_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "newsbot.toml"
    path.write_text(
        '[[sections]]\nslug = "parliament"\ntitle = "Parliament"\n\n'
        '[[channels]]\nchat = "@kazinform_ru"\nsections = ["parliament"]\n'
        'template = "<b>{{ title }}\\n{{ summary }}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_settings(path)
    message = str(refused.value)
    assert "channels.0.template" in message and "<b> is never closed (line 1)" in message
    assert len(message.strip().splitlines()) <= 2  # the file, then the one line


# Rendering ------------------------------------------------------------------------------


def test_default_format_renders_the_standard_layout() -> None:
    story = FakeStory()
    assert _render(story) == _render(story, DeskFormat())


def test_hostile_feed_fields_are_escaped_inside_a_template() -> None:
    hostile = '</b><script>alert("x")</script> & <a href="javascript:x">'
    story = FakeStory(title=hostile, summary=hostile, author=hostile)
    look = DeskFormat(template="<b>{{ title }}</b>\n{{ summary }}\n<i>{{ author }}</i>")
    message = _render(story, look)
    assert _telegram(message.text) == f"{hostile}\n{hostile}\n{hostile}"
    assert "<script>" not in message.text


def test_template_fields_follow_the_chat_language() -> None:
    look = DeskFormat(template="{{ section }} · {{ date }} · {{ time }}\n<b>{{ title }}</b>")
    russian = _telegram(_render(FakeStory(), look, "ru").text)
    kazakh = _telegram(_render(FakeStory(), look, "kk").text)
    assert russian.startswith("Парламент · 18 ноября · 17:38")
    assert kazakh.startswith("Парламент · 18 қараша · 17:38")


def test_switches_without_a_template() -> None:
    story = FakeStory(image_url="https://www.inform.kz/i/1.jpg")
    related = [RelatedLink("Mazhilis adopts the amendments", "https://www.inform.kz/ru/m-2")]
    standard = _render(story, related=related)
    assert standard.photo_url and "#parliament" in standard.text and "Mazhilis" in standard.text
    look = DeskFormat(
        summary=False,
        related=False,
        image=False,
        link_preview=False,
        hashtags=False,
        read_button="Читать",
        signature="@kazinform_ru <b>",
    )
    message = _render(story, look, related=related)
    shown = _telegram(message.text)
    assert message.photo_url is None and message.link_preview_url is None
    assert story.summary not in shown and "Mazhilis" not in shown and "#parliament" not in shown
    assert "Парламент" in shown  # the section's title stands in for the hashtag
    assert shown.endswith("@kazinform_ru <b>")
    assert message.buttons[0][0].text == "Читать"


def test_utm_goes_on_the_newsrooms_links_keeping_their_query() -> None:
    look = DeskFormat(utm="utm_source=telegram&utm_medium=channel&utm_campaign={chat}")
    related = [RelatedLink("Earlier", "https://www.inform.kz/ru/earlier")]
    versions = [VersionLink("Қазақша", "https://www.inform.kz/kz/senat-1")]
    message = for_chat(
        _render(FakeStory(), look, related=related, versions=versions), "@kazinform_ru"
    )
    utm = "utm_source=telegram&utm_medium=channel&utm_campaign=%40kazinform_ru"
    read, version = message.buttons[0][0], message.buttons[1][0]
    assert read.url == f"https://www.inform.kz/ru/senat-1?id=7&{utm}"
    assert version.url == f"https://www.inform.kz/kz/senat-1?{utm}"
    assert f'href="https://www.inform.kz/ru/earlier?{utm.replace("&", "&amp;")}"' in message.text
    assert message.link_preview_url == "https://www.inform.kz/ru/senat-1?id=7"  # the article
    templated = for_chat(
        _render(FakeStory(), replace(look, template='<a href="{{ link }}">{{ title }}</a>')),
        "-1001234",
    )
    assert "utm_campaign=-1001234" in templated.text and "id=7&amp;utm_source" in templated.text
    assert "utm_" not in _render(FakeStory()).buttons[0][0].url  # off by default


def test_a_long_summary_is_cut_at_a_word_boundary_after_templating() -> None:
    words = " ".join(f"слово{n}😀" for n in range(2000))  # emoji: two UTF-16 units each
    look = DeskFormat(template=TEMPLATE + "\n<i>{{ summary }}</i>")  # the summary twice
    message = _render(FakeStory(summary=words), look)
    shown = _telegram(message.text)
    assert message.photo_url is None
    assert utf16_len(shown) <= MESSAGE_LIMIT - utf16_len("\n\n" + "Read")  # room for the link
    kept = shown.split("\n\n")[1]
    assert kept.endswith("…") and kept[:-1] in words and words.startswith(kept[:-1])
    assert words[len(kept) - 1] == " "  # cut between two words
    assert shown.count(kept) == 2


def test_a_templated_photo_caption_fits_1024_or_goes_out_as_text() -> None:
    look = DeskFormat(template=TEMPLATE)
    photo = "https://www.inform.kz/i/1.jpg"
    short = _render(FakeStory(image_url=photo), look)
    assert short.photo_url == photo and utf16_len(_telegram(short.text)) <= CAPTION_LIMIT
    long = _render(FakeStory(image_url=photo, summary="word " * 400), look)
    assert long.photo_url is None and "word word" in long.text  # as text, whole: it fits 4096
    assert long.link_preview_url == "https://www.inform.kz/ru/senat-1?id=7"


def test_a_template_failing_for_a_story_falls_back_to_the_standard_layout() -> None:
    look = DeskFormat(template='<a href="{{ link }}">{{ title }}</a>')  # no link: no href
    message = _render(FakeStory(link=None), look)
    assert message == _render(FakeStory(link=None))


def test_any_error_a_template_raises_for_one_story_falls_back_to_the_standard_layout() -> None:
    """Not only Jinja's own errors: a filter misused on a value ({{ 1|wordwrap(3) }} raises
    AttributeError) fails that story's template, and the story still goes out."""
    look = DeskFormat(
        template="<b>{{ title }}</b>{% if 'quake' in title %}{{ 1|wordwrap(3) }}{% endif %}"
    )
    quake = FakeStory(title="Earthquake in Almaty")
    assert _render(quake, look) == _render(quake)
    assert _render(FakeStory(title="Senate meets"), look).text.startswith("<b>Senate meets</b>")
    with pytest.raises(TemplateRefused, match=r"line 1"):
        check_template("{{ 1|wordwrap(3) }}")


# Categories -----------------------------------------------------------------------------

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>K</title><id>urn:k</id>
<updated>2025-11-18T12:00:00Z</updated>
<entry><title>Metro gets three stations</title><id>urn:1</id>
<link href="https://www.inform.kz/en/metro"/><updated>2025-11-18T12:00:00Z</updated>
<category term="almaty" label="Almaty"/><category term="Transport &amp; roads"/>
<summary>New stations open.</summary></entry></feed>"""

JSON_FEED = """{"version": "https://jsonfeed.org/version/1.1", "title": "K", "items": [
{"id": "1", "url": "https://www.inform.kz/ru/metro", "title": "Metro",
 "content_text": "Stations.", "date_published": "2025-11-18T12:00:00Z",
 "tags": ["<b>Алматы</b>", "Транспорт", "алматы"]}]}""".encode()


def _categories(body: bytes, url: str) -> tuple[str, ...]:
    entry = parse_feed(body, url=url, headers={}).entries[0]
    context = FeedContext(feed_url=url, section="parliament", language=None)
    draft = normalize_entry(entry, context)
    assert draft is not None
    return draft.categories


def test_feed_categories_are_kept_as_plain_text() -> None:
    assert _categories(ATOM, "https://www.inform.kz/atom.xml") == ("almaty", "Transport & roads")
    assert _categories(JSON_FEED, "https://www.inform.kz/feed.json") == ("Алматы", "Транспорт")


def test_filters_match_the_categories() -> None:
    rules = DeskRules(1, 1, include=("Алматы",))
    story = StoryText(1, "Метро получит три станции", "Новые станции.", ("Алматы", "Транспорт"))
    assert admits(rules, story)
    assert not admits(rules, replace(story, categories=("Астана",)))
    assert admits(DeskRules(1, 1, include_regex=("(?i)транспорт",)), replace(story, title="x"))
