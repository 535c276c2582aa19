"""The console in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright) at 360 x 740, opened as Telegram opens it: `window.Telegram.WebApp` is a stub
served in place of telegram-web-app.js, with init data signed for the running bot. Nothing
leaves loopback: every other outside request is refused and counted.

The page loads with no JavaScript errors, calls the API with `tma` init data and gets 2xx,
draws the stats plot (a uPlot canvas), is never wider than the screen, and an editor sends
breaking news through it: Telegram's MainButton, the confirmation, each chat's edition at
the fake Bot API, the progress view until done. In the Approvals tab an editor approves one
held story (it reaches its channel) and skips another after Telegram's confirmation.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, Response, Route, async_playwright

from tests.entrypoints.http.conftest import READER, RunningBot, running_bot
from tests.entrypoints.http.console_helpers import as_user, console_settings
from tests.entrypoints.http.test_console_approvals import APPROVED, SKIPPED, held, in_channel
from tests.entrypoints.http.test_console_approvals import desk as desk
from tests.entrypoints.http.test_console_breaking import audience, got
from tests.entrypoints.telegram.conftest import CHANNEL, EDITOR, ENGLISH_READER
from tests.fakes.bot_api import FakeBotAPI, FakeUser
from tests.fakes.feed_server import FeedServer
from tests.fakes.init_data import sign_init_data

CHROMIUM = "/usr/bin/chromium"
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
WIDTH, HEIGHT = 360, 740

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"no Chromium at {CHROMIUM} (Debian's `chromium` package; .ci/run installs it)",
)

# Telegram.WebApp as the page uses it, recording what the page asks of it. MainButton's
# click is window.__tg.click(); showConfirm answers yes and records its message.
STUB = """
(function () {
  var record = window.__tg = { confirms: [], clicks: [], events: {} };
  var handlers = [];
  var main = {
    text: "", isVisible: false, isActive: true, isProgressVisible: false,
    setText: function (text) { this.text = String(text); return this; },
    show: function () { this.isVisible = true; return this; },
    hide: function () { this.isVisible = false; return this; },
    enable: function () { this.isActive = true; return this; },
    disable: function () { this.isActive = false; return this; },
    showProgress: function () { this.isProgressVisible = true; return this; },
    hideProgress: function () { this.isProgressVisible = false; return this; },
    onClick: function (f) { handlers.push(f); return this; },
    offClick: function (f) {
      handlers = handlers.filter(function (g) { return g !== f; });
      return this;
    }
  };
  record.click = function () {
    if (!main.isVisible || !main.isActive) throw new Error("MainButton is not clickable");
    handlers.slice().forEach(function (f) { f(); });
  };
  record.handlers = function () { return handlers.length; };
  var back = {
    isVisible: false,
    show: function () { this.isVisible = true; }, hide: function () { this.isVisible = false; },
    onClick: function () {}, offClick: function () {}
  };
  var theme = %(theme)s;
  Object.keys(theme).forEach(function (key) {
    document.documentElement.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), theme[key]);
  });
  window.Telegram = { WebApp: {
    initData: %(init_data)s,
    initDataUnsafe: %(unsafe)s,
    version: "8.0", platform: "android", colorScheme: "light", themeParams: theme,
    viewportHeight: %(height)d, viewportStableHeight: %(height)d, isExpanded: true,
    ready: function () {}, expand: function () {}, close: function () {},
    MainButton: main, BackButton: back,
    showConfirm: function (message, callback) {
      record.confirms.push(message);
      setTimeout(function () { callback(true); }, 0);
    },
    showAlert: function (message, callback) { if (callback) setTimeout(callback, 0); },
    HapticFeedback: {
      impactOccurred: function () {}, notificationOccurred: function () {},
      selectionChanged: function () {}
    },
    onEvent: function (name, f) { (record.events[name] = record.events[name] || []).push(f); },
    offEvent: function (name, f) {
      record.events[name] = (record.events[name] || []).filter(function (g) { return g !== f; });
    }
  } };
})();
"""
THEME = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
    "destructive_text_color": "#e53935",
}


@dataclass
class Watch:
    """What the page did: errors, API answers, requests that tried to leave loopback."""

    errors: list[str] = field(default_factory=list)
    api: list[tuple[str, str, int, str]] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


@pytest.fixture
async def console(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    channel = {"chat": CHANNEL.id, "sections": ["parliament"], "editions": ["kk"]}
    settings = console_settings(
        tmp_path, fake_api, feed_urls, editions=["kk", "ru", "en"], channels=[channel]
    )
    async with running_bot(settings, fake_api) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def open_console(
    browser: Browser, bot: RunningBot, user: FakeUser = EDITOR
) -> tuple[Page, Watch]:
    """The console as the user (the editor unless told) opens it in Telegram, watched."""
    init_data = sign_init_data(bot.api.token, auth_date=int(time.time()), user=as_user(user))
    unsafe = {"user": as_user(user), "auth_date": int(time.time())}
    stub = STUB % {
        "theme": json.dumps(THEME),
        "init_data": json.dumps(init_data),
        "unsafe": json.dumps(unsafe),
        "height": HEIGHT,
    }
    context = await browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    watch = Watch()
    loopback = urlsplit(bot.base_url).netloc

    async def anything(route: Route) -> None:
        if urlsplit(route.request.url).netloc == loopback:
            await route.continue_()
        else:
            watch.outside.append(route.request.url)
            await route.abort()

    async def telegram(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/javascript", body=stub)

    await page.route("**/*", anything)
    await page.route(TELEGRAM_SCRIPT, telegram)  # the later route is asked first
    page.on("pageerror", lambda error: watch.errors.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: (
            watch.errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )

    def answered(response: Response) -> None:
        if "/console/api/" in response.url:
            request = response.request
            authorization = request.headers.get("authorization", "")
            watch.api.append(
                (request.method, urlsplit(response.url).path, response.status, authorization)
            )

    page.on("response", answered)
    await page.goto(f"{bot.base_url}/console/")
    return page, watch


async def snapshot(page: Page, name: str) -> None:
    """With NEWSBOT_CONSOLE_SCREENSHOTS=<folder>, a PNG of the page (the README's tour)."""
    folder = os.environ.get("NEWSBOT_CONSOLE_SCREENSHOTS")
    if folder:
        await page.screenshot(path=str(Path(folder) / f"console-{name}.png"), full_page=True)


async def width(page: Page) -> int:
    return int(await page.evaluate("() => document.documentElement.scrollWidth"))


def assert_clean(watch: Watch) -> None:
    assert watch.errors == []
    assert watch.outside == []
    assert watch.api, "the page called no API"
    for method, path, status, authorization in watch.api:
        assert 200 <= status < 300, (method, path, status)
        assert authorization.startswith("tma ") and "hash=" in authorization, path


async def test_every_tab_fits_the_screen_and_stats_draws_its_plot(
    console: RunningBot, browser: Browser
) -> None:
    # The editor added the bot to the newsroom's channel: My channels lists it.
    console.api.add_bot_to_channel(EDITOR, CHANNEL)
    await console.api.wait_for(lambda m: m.chat_id == EDITOR.id and "/channels" in m.text)
    page, watch = await open_console(browser, console)
    await page.wait_for_selector("textarea[data-edition='kk']")
    assert await page.evaluate("() => document.documentElement.lang") == "kk"
    # A long word and link must wrap, not widen the page.
    await page.fill("textarea[data-edition='en']", "Breaking <b>" + "x" * 300 + "</b> news")
    await page.fill("input[type='url']", "https://news.example/" + "long-path/" * 30)
    await page.wait_for_selector("#breaking-preview .bubble")
    # The editor's markup is text: only the renderer's own head is bold.
    bubble = page.locator("#breaking-preview .bubble").first
    assert "<b>xxx" in await bubble.inner_text()
    assert await bubble.locator("b").count() == 1
    assert await width(page) <= WIDTH

    tabs = page.locator("#tabs button")
    # The editor administers the config's channel too (the fake Bot API says so): My channels.
    assert await tabs.count() == 6
    await tabs.nth(2).click()  # Stats
    canvas = page.locator("#stats-chart canvas").first
    await canvas.wait_for()
    box = await canvas.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    assert box["x"] + box["width"] <= WIDTH
    await page.wait_for_selector("#stats-backlog")
    await snapshot(page, "stats")
    assert await width(page) <= WIDTH

    for index in (1, 3):  # Stories, Feeds
        await tabs.nth(index).click()
        await page.wait_for_function("() => !document.querySelector('#view .note')")
        assert await width(page) <= WIDTH
    await tabs.nth(4).click()  # Approvals: nothing waits
    await page.wait_for_selector("#approvals-empty")
    assert await width(page) <= WIDTH
    await tabs.nth(5).click()  # My channels: the list of the chats the editor administers
    await page.wait_for_selector(f"#channels [data-chat='{CHANNEL.id}']")
    assert await width(page) <= WIDTH
    assert_clean(watch)
    paths = {path for _, path, _, _ in watch.api}
    assert {"/console/api/session", "/console/api/breaking/preview"} <= paths
    assert {"/console/api/stats", "/console/api/stories", "/console/api/feeds"} <= paths
    assert "/console/api/approvals" in paths


async def test_an_editor_sends_breaking_news_through_the_page(
    console: RunningBot, browser: Browser
) -> None:
    await audience(console)
    page, watch = await open_console(browser, console)
    versions = {
        "kk": "Алматыда жер сілкінісі",
        "ru": "В Алматы землетрясение",
        "en": "Earthquake in Almaty",
    }
    await page.wait_for_selector("textarea[data-edition='kk']")
    for edition, text in versions.items():
        await page.fill(f"textarea[data-edition='{edition}']", text)
    await page.fill("input[type='url']", "https://news.example/quake")
    await page.wait_for_function(
        "() => Telegram.WebApp.MainButton.isVisible && /3/.test(Telegram.WebApp.MainButton.text)"
    )
    assert len(await page.locator("#breaking-preview .bubble").all()) == 3
    assert "Earthquake in Almaty" in await page.inner_text("#breaking-preview")
    assert not got(console, READER.id)  # the preview sent nothing
    await snapshot(page, "breaking")

    await page.evaluate("() => window.__tg.click()")
    await page.wait_for_selector("#breaking-progress .done, .done", timeout=15_000)
    confirms: Any = await page.evaluate("() => window.__tg.confirms")
    assert len(confirms) == 1 and "3" in confirms[0]
    assert ["В Алматы" in text for text in got(console, READER.id)] == [True]
    assert ["Earthquake" in text for text in got(console, ENGLISH_READER.id)] == [True]
    assert ["Алматыда" in text for text in got(console, CHANNEL.id)] == [True]
    await snapshot(page, "progress")
    progress = await page.inner_text("#breaking-progress")
    for edition in versions:
        row = page.locator(f"#breaking-progress [data-edition='{edition}']")
        assert "1" in await row.inner_text(), progress
    assert not await page.evaluate("() => Telegram.WebApp.MainButton.isVisible")
    assert await width(page) <= WIDTH
    assert_clean(watch)
    sends = [entry for entry in watch.api if entry[:2] == ("POST", "/console/api/breaking")]
    assert [status for _, _, status, _ in sends] == [201]


async def test_an_editor_approves_and_skips_in_the_approvals_tab(
    desk: RunningBot, browser: Browser
) -> None:
    approved = await held(desk, APPROVED)
    skipped = await held(desk, SKIPPED)
    page, watch = await open_console(browser, desk)
    tabs = page.locator("#tabs button")
    await page.wait_for_selector("textarea[data-edition]")
    await tabs.nth(4).click()
    first = page.locator(f"[data-approval='{approved['id']}']")
    await first.locator("button.approve").wait_for()
    assert APPROVED["title"] in await first.inner_text()
    assert "parliament" in await first.inner_text()
    assert await page.locator("#approvals [data-approval]").count() == 2
    await snapshot(page, "approvals")
    assert await width(page) <= WIDTH

    await first.locator("button.approve").click()
    await page.wait_for_selector("#approvals-outcome.good")
    await desk.api.wait_for(
        lambda m: m.chat_id == CHANNEL.id and APPROVED["title"] in m.text, timeout=10
    )
    # The list reloaded: the approved story left it.
    assert await page.locator(f"[data-approval='{approved['id']}']").count() == 0

    second = page.locator(f"[data-approval='{skipped['id']}']")
    await second.locator("button.skip").click()
    await page.wait_for_selector("#approvals-empty")
    confirms: Any = await page.evaluate("() => window.__tg.confirms")
    assert len(confirms) == 1 and SKIPPED["title"] in confirms[0]
    assert not in_channel(desk, SKIPPED["title"])
    assert await width(page) <= WIDTH
    assert_clean(watch)
    decisions = [entry[2] for entry in watch.api if entry[0] == "POST"]
    assert decisions == [200, 200]
