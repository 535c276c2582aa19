"""The My channels tab in headless Chromium at 360 px (issue 24's acceptance), with the
harness of test_console_browser.py: a channel's admin who is no editor sees only My channels,
opens their channel, edits the template and sees the live preview change (a broken template
shows its reason in place), saves through Telegram's MainButton, and the next story the feed
publishes reaches the channel in that layout; then the filter tester, a section ticked and
saved, and the config's channel read-only. Then "Send a test": the channel receives the
story, the page says so (and how long to wait for another), and the delivery history lists
the channel's deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Browser
from sqlalchemy import select

from storage import destinations
from storage.models import Delivery, Story
from storage.states import DeliveryStatus
from tests.entrypoints.http.conftest import RunningBot
from tests.entrypoints.http.test_console_browser import (
    WIDTH,
    open_console,
    pytestmark,
    snapshot,
    width,
)
from tests.entrypoints.http.test_console_browser import browser as browser
from tests.entrypoints.http.test_console_channels import ALMATY, BACKLOG, MANAGED, SENATE
from tests.entrypoints.http.test_console_channels import admins as admins
from tests.entrypoints.http.test_console_channels import feed_urls as feed_urls
from tests.entrypoints.telegram.conftest import ADMIN, CHANNEL
from tests.fakes.feed_server import FeedServer
from tests.fakes.rss import Item, rss

__all__ = ["pytestmark"]  # Chromium or skip, as the harness's tests
TEMPLATE = "<b>MINE: {{ title }}</b>"


async def test_an_admin_changes_the_template_and_the_next_story_follows_it(
    admins: RunningBot, browser: Browser, feed_server: FeedServer
) -> None:
    page, watch = await open_console(browser, admins, ADMIN)
    # No editor: no tab bar, the chats at once.
    item = page.locator(f"#channels [data-chat='{CHANNEL.id}']")
    await item.wait_for()
    assert await page.locator("#tabs button").count() == 0
    await item.click()
    template = page.locator("[data-field='template']")
    await template.wait_for()
    preview = page.locator("#channel-preview .bubble")
    await page.wait_for_function(
        "text => (document.querySelector('#channel-preview .bubble') || {}).textContent"
        " && document.querySelector('#channel-preview .bubble').textContent.includes(text)",
        arg=SENATE,
    )
    assert "MINE:" not in await preview.inner_text()

    await template.fill("<b>{{ title }}")  # unclosed: the reason in place, no preview
    await page.wait_for_selector("#channel-template-error:not([hidden])")
    assert await preview.count() == 0
    await template.fill(TEMPLATE)
    await page.wait_for_selector("#channel-preview .bubble b")
    assert "MINE: " + SENATE in await preview.inner_text()
    assert await page.locator("#channel-template-error").is_hidden()
    await snapshot(page, "channels")
    assert await page.evaluate("() => Telegram.WebApp.MainButton.isVisible")
    assert await width(page) <= WIDTH

    await page.evaluate("() => window.__tg.click()")
    await page.wait_for_selector("#channel-outcome.good")
    assert await page.locator("[data-field='template']").input_value() == TEMPLATE
    assert not await page.evaluate("() => Telegram.WebApp.MainButton.isVisible")

    fresh = Item("new-1", "Astana opens a new bridge", datetime.now(UTC))
    feed_server.add("/rss/en.xml", rss([fresh, *BACKLOG]), etag='"v2"')
    (sent,) = await admins.api.wait_for(
        lambda m: m.chat_id == CHANNEL.id and "Astana opens" in (m.text or ""), timeout=30
    )
    assert "<b>MINE: Astana opens a new bridge</b>" in sent.text

    # The filter tester sorts the newest stories by the boxes' filters, saving nothing.
    await page.fill("[data-field='include']", "Almaty")
    await page.click("#channel-filter-test")
    passed = page.locator("#channel-filter-result [data-outcome='passed']")
    await passed.wait_for()
    assert ALMATY in await passed.inner_text()
    stopped = await page.inner_text("#channel-filter-result [data-outcome='stopped']")
    assert SENATE in stopped and "Astana opens" in stopped
    assert await width(page) <= WIDTH

    # Sections are ticked in the form and saved with the rest (here: alone).
    await page.fill("[data-field='include']", "")
    economy = page.locator("[data-field='sections'] [data-value='economy']")
    assert not await economy.is_checked()
    await economy.check()
    assert await page.evaluate("() => Telegram.WebApp.MainButton.isVisible")
    await page.evaluate("() => window.__tg.click()")
    await page.wait_for_function(
        "() => document.querySelector('#channel-outcome.good').textContent !== ''"
    )
    assert await page.locator("[data-field='sections'] [data-value='economy']").is_checked()
    async with admins.database.sessions() as session:
        chat = await destinations.get_by_chat(session, CHANNEL.id)
        assert chat is not None
        assert await destinations.sections_of(session, chat.id) == {"parliament", "economy"}
    assert await width(page) <= WIDTH

    # The config's channel opens read-only, saying so, with no Save.
    await page.click("#view button.back")
    await page.click(f"#channels [data-chat='{MANAGED.id}']")
    await page.wait_for_selector("[data-field='template'][disabled]")
    assert "config" in await page.inner_text("#view")
    assert not await page.evaluate("() => Telegram.WebApp.MainButton.isVisible")
    # Chromium logs the refused preview's status; any other console error or page error fails.
    expected = "console: Failed to load resource: the server responded with a status of 422"
    assert [error for error in watch.errors if not error.startswith(expected)] == []
    assert watch.outside == []
    refused = [entry for entry in watch.api if not 200 <= entry[2] < 300]
    # Only the broken template's preview was refused (422); nothing else failed.
    assert {(method, status) for method, path, status, _ in refused} <= {("POST", 422)}
    puts = [entry[2] for entry in watch.api if entry[0] == "PUT"]
    assert puts == [200, 200]


async def test_an_admin_sends_a_test_and_sees_the_delivery_history(
    admins: RunningBot, browser: Browser
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    async with admins.database.writing(), admins.database.sessions.begin() as session:
        chat = await destinations.get_by_chat(session, CHANNEL.id)
        assert chat is not None
        ids = {story.title: story.id for story in (await session.scalars(select(Story))).all()}
        session.add(
            Delivery(
                destination_id=chat.id,
                story_id=ids[ALMATY],
                status=DeliveryStatus.SENT,
                next_attempt_at=now,
                created_at=now - timedelta(minutes=5),
                sent_at=now - timedelta(minutes=4),
                chat_id=CHANNEL.id,
                message_id=9001,
            )
        )
        await session.flush()
        session.add(
            Delivery(
                destination_id=chat.id,
                story_id=ids[SENATE],
                status=DeliveryStatus.FAILED,
                attempts=1,
                next_attempt_at=now,
                created_at=now - timedelta(minutes=2),
                last_error="Bad Request: message is too long",
            )
        )
    page, watch = await open_console(browser, admins, ADMIN)
    await page.click(f"#channels [data-chat='{CHANNEL.id}']")
    history = page.locator("#channel-history [data-outcome]")
    await history.first.wait_for()
    assert await history.count() == 2
    failed, sent = await history.all_inner_texts()
    assert SENATE in failed and "Failed" in failed and "message is too long" in failed
    assert ALMATY in sent and "Sent" in sent

    await page.click("#channel-test")
    await page.wait_for_selector("#channel-test-outcome.good")
    (message,) = await admins.api.wait_for(lambda m: m.chat_id == CHANNEL.id, timeout=30)
    assert SENATE in (message.text or "")
    confirms: Any = await page.evaluate("() => window.__tg.confirms")
    assert len(confirms) == 1
    assert await history.count() == 2  # a test is no delivery
    # Again within the minute: the page says how long to wait.
    await page.click("#channel-test")
    await page.wait_for_selector("#channel-test-outcome.bad")
    assert " s" in await page.inner_text("#channel-test-outcome")
    await snapshot(page, "channels-test")
    assert await width(page) <= WIDTH
    expected = "console: Failed to load resource: the server responded with a status of 429"
    assert [error for error in watch.errors if not error.startswith(expected)] == []
    assert watch.outside == []
    refused = [entry for entry in watch.api if not 200 <= entry[2] < 300]
    assert [(method, status) for method, path, status, _ in refused] == [("POST", 429)]
