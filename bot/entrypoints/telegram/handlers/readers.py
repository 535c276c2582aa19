"""Reader commands: /start /help /latest /sections /section /today /popular /search,
/subscribe /unsubscribe /subscriptions /language /editions, and the buttons behind them."""

from __future__ import annotations

from datetime import datetime, time

from telegram import Chat, Update
from telegram.ext import ContextTypes

from bot.domain.editions import Reading, reading
from bot.entrypoints.telegram import keyboards
from bot.entrypoints.telegram.handlers.common import (
    MAX_ARGUMENT_CHARS,
    edit_html,
    plain,
    reply_html,
    reply_plain,
    user_language,
)
from bot.entrypoints.telegram.handlers.deep_links import DeepLink, parse_deep_link
from bot.entrypoints.telegram.handlers.presses import Press, Presses, press_of
from bot.entrypoints.telegram.handlers.services import BotServices
from bot.outbound.i18n import SUPPORTED, Translator, language_name
from bot.outbound.lists import render_story_list
from bot.services.readers import ChatState, EditionToggle

Context = ContextTypes.DEFAULT_TYPE


class ReaderHandlers:
    """Each method is one command or button; the logic lives in the services."""

    def __init__(self, services: BotServices) -> None:
        self.s = services
        self.presses = Presses(services)

    async def _state(self, update: Update) -> tuple[ChatState, Translator]:
        chat = update.effective_chat
        assert chat is not None
        state = await self.s.readers.state(
            chat.id, chat.type, chat.title or chat.full_name, user_language(update)
        )
        return state, self.s.translator(state.language)

    async def _may_change(self, update: Update) -> bool:
        """A command changes a group's settings only when an administrator sent it.

        Buttons never come here: a press is judged by its presser (handlers/presses.py).
        """
        chat, user, message = update.effective_chat, update.effective_user, update.message
        if chat is None:
            return False
        if chat.type == Chat.PRIVATE:
            return True
        if message is not None and message.sender_chat and message.sender_chat.id == chat.id:
            # Sent as the group itself: Telegram lets only its anonymous administrators do
            # that. (This holds for a message someone sent, never for the bot's own posts.)
            return True
        return user is not None and await self.s.admins.user_manages(chat.id, chat.type, user.id)

    def _reading(self, state: ChatState) -> Reading:
        """The chat's editions in preference order (None: every story, see `reading`)."""
        return reading(state.editions, state.language, self.s.settings.editions)

    async def _presser_reading(self, press: Press, t: Translator) -> Reading:
        presser = press.presser
        fallback = self.s.settings.edition_of(presser.language_code)
        return await self.s.newsdesk.user_reading(
            presser.id, t.language, self.s.settings.editions, fallback
        )

    def _list_text(self, t: Translator, title: str, stories: list) -> str:
        """A titled list of stories as Telegram HTML (or the title and "nothing yet")."""
        if not stories:
            return plain(f"{title}\n\n{t('no_stories')}")
        return render_story_list(
            title,
            stories,
            t=t,
            zone=self.s.settings.zone,
            section_titles=self.s.section_titles(t.language),
        )

    async def _list(self, update: Update, t: Translator, title: str, stories: list) -> None:
        await reply_html(update, self._list_text(t, title, stories))

    def _no_arguments(self, context: Context) -> bool:
        return not context.args

    async def _refuse_arguments(self, update: Update, t: Translator, usage: str) -> None:
        await reply_plain(update, t("too_many_arguments", usage=usage))

    async def start(self, update: Update, context: Context) -> None:
        """Welcome, with the sections as buttons. Deep links: `start=sub_<slug>` subscribes
        at once, `start=<edition>` makes the chat read that edition, `start=<edition>-sub_<slug>`
        does both (a site's "Subscribe in Telegram" button, whatever the reader's interface)."""
        state, t = await self._state(update)
        link = parse_deep_link(
            context.args[0] if context.args else "",
            self.s.readers.is_edition,
            self.s.readers.is_section,
        )
        if not link.valid:
            await self._refuse_deep_link(update, t, link)
        elif (link.edition or link.section) and await self._may_change(update):
            if link.edition:
                await self.s.readers.read_only(state, link.edition)
                await reply_plain(update, t("editions_set", edition=language_name(link.edition)))
            if link.section:
                await self.s.readers.subscribe(state, link.section)
                title = self.s.section_titles(t.language)[link.section]
                await reply_plain(update, t("subscribe_via_deep_link", section=title))
            state, t = await self._state(update)
        await reply_plain(
            update,
            t("welcome", bot_name=context.bot.first_name),
            keyboards.section_toggles(self.s.settings.sections, state.sections, t.language),
        )

    async def _refuse_deep_link(self, update: Update, t: Translator, link: DeepLink) -> None:
        """A link naming an edition or section that does not exist: say which; no change."""
        if link.unknown_edition is not None:
            text = t("unknown_edition", code=link.unknown_edition, codes=self._edition_codes())
        else:
            text = t("unknown_section", slug=link.unknown_section, slugs=self.s.slugs())
        await reply_plain(update, text)

    async def help(self, update: Update, context: Context) -> None:
        """The commands, one line each."""
        _, t = await self._state(update)
        await reply_plain(update, t("help"))

    async def latest(self, update: Update, context: Context) -> None:
        """The newest stories."""
        state, t = await self._state(update)
        if not self._no_arguments(context):
            await self._refuse_arguments(update, t, "/latest")
            return
        stories = await self.s.newsdesk.latest(editions=self._reading(state))
        await self._list(update, t, t("latest_title"), stories)

    async def sections(self, update: Update, context: Context) -> None:
        """The sections as buttons that open them."""
        _, t = await self._state(update)
        await reply_plain(
            update,
            t("sections_title"),
            keyboards.sections_to_open(self.s.settings.sections, t.language),
        )

    async def _slug_argument(
        self, update: Update, context: Context, t: Translator, *, required: bool
    ) -> tuple[bool, str | None]:
        """(ok, slug): answers the user itself when the argument is missing or unknown."""
        args = context.args or []
        if len(args) > 1:
            await reply_plain(
                update, t("unknown_section", slug=" ".join(args)[:64], slugs=self.s.slugs())
            )
            return False, None
        if not args:
            if required:
                await reply_plain(update, t("section_needed", slugs=self.s.slugs()))
            return not required, None
        slug = args[0].lower().lstrip("#")
        if not self.s.readers.is_section(slug):
            await reply_plain(update, t("unknown_section", slug=args[0][:64], slugs=self.s.slugs()))
            return False, None
        return True, slug

    async def section(self, update: Update, context: Context) -> None:
        """The newest stories of one section."""
        state, t = await self._state(update)
        ok, slug = await self._slug_argument(update, context, t, required=True)
        if ok and slug:
            await self._show_section(update, t, slug, self._reading(state))

    async def _show_section(
        self, update: Update, t: Translator, slug: str, editions: Reading
    ) -> None:
        title = t("section_title", section=self.s.section_titles(t.language)[slug])
        await self._list(update, t, title, await self.s.newsdesk.latest(slug, editions))

    async def today(self, update: Update, context: Context) -> None:
        """Today's timeline in the newsroom's time zone, paged."""
        state, t = await self._state(update)
        ok, slug = await self._slug_argument(update, context, t, required=False)
        if ok:
            text, markup = await self._timeline(t, 0, slug, self._reading(state))
            await reply_html(update, text, markup)

    async def _timeline(self, t: Translator, page: int, slug: str | None, editions: Reading):  # type: ignore[no-untyped-def]
        result = await self.s.newsdesk.timeline(page, slug, editions)
        zone = self.s.settings.zone
        title = t("today_title", date=t.day(datetime.combine(result.day, time(12), zone), zone))
        if slug:
            title = f"{title} · {self.s.section_titles(t.language)[slug]}"
        if not result.stories:
            return plain(f"{title}\n\n{t('no_stories')}"), None
        text = render_story_list(
            title,
            result.stories,
            t=t,
            zone=self.s.settings.zone,
            section_titles=self.s.section_titles(t.language),
            group_by_hour=True,
        )
        return text, keyboards.timeline_pages(result.page, result.pages, t, slug)

    async def popular(self, update: Update, context: Context) -> None:
        """The most engaging stories of today (of the week when today is quiet)."""
        state, t = await self._state(update)
        ok, slug = await self._slug_argument(update, context, t, required=False)
        if ok:
            stories = await self.s.newsdesk.popular(slug, self._reading(state))
            await self._list(update, t, t("popular_title"), stories)

    async def search(self, update: Update, context: Context) -> None:
        """Stories matching the words: in the chat's editions, else in the others, each
        then marked with its language."""
        state, t = await self._state(update)
        words = context.args or []
        query = " ".join(words)
        if not words:
            await reply_plain(update, t("search_needs_words"))
            return
        if len(query) > MAX_ARGUMENT_CHARS:
            await reply_plain(update, t("query_too_long", limit=MAX_ARGUMENT_CHARS))
            return
        found = await self.s.newsdesk.search(
            words[:10], self._reading(state), self.s.settings.editions
        )
        if not found.stories:
            await reply_plain(update, t("nothing_found", query=query))
            return
        text = render_story_list(
            t("search_title", query=query),
            found.stories,
            t=t,
            zone=self.s.settings.zone,
            section_titles=self.s.section_titles(t.language),
            show_language=found.elsewhere,
        )
        await reply_html(update, text)

    async def digest(self, update: Update, context: Context) -> None:
        """Turn the daily "Timeline of major events" on or off for this chat."""
        state, t = await self._state(update)
        if not await self._may_change(update):
            await reply_plain(update, t("group_admins_only"))
            return
        if await self.s.newsdesk.toggle_digest(state.destination_id):
            times = ", ".join(self.s.settings.digest_times) or "—"
            await reply_plain(update, t("digest_on", times=times))
        else:
            await reply_plain(update, t("digest_off"))

    async def subscribe(self, update: Update, context: Context) -> None:
        """Subscribe to a section, or show the sections as toggles."""
        await self._change_subscription(update, context, subscribe=True)

    async def unsubscribe(self, update: Update, context: Context) -> None:
        """Unsubscribe from a section, or show the sections as toggles."""
        await self._change_subscription(update, context, subscribe=False)

    async def _change_subscription(
        self, update: Update, context: Context, *, subscribe: bool
    ) -> None:
        state, t = await self._state(update)
        if not await self._may_change(update):
            await reply_plain(update, t("group_admins_only"))
            return
        ok, slug = await self._slug_argument(update, context, t, required=False)
        if not ok:
            return
        if slug is None:
            await self._show_toggles(update, state, t)
            return
        title = self.s.section_titles(t.language)[slug]
        if subscribe:
            changed = await self.s.readers.subscribe(state, slug)
            await reply_plain(
                update, t("subscribed" if changed else "already_subscribed", section=title)
            )
        else:
            changed = await self.s.readers.unsubscribe(state, slug)
            await reply_plain(
                update, t("unsubscribed" if changed else "not_subscribed", section=title)
            )

    async def subscriptions(self, update: Update, context: Context) -> None:
        """What this chat receives, with toggles to change it."""
        state, t = await self._state(update)
        await self._show_toggles(update, state, t)

    async def _show_toggles(self, update: Update, state: ChatState, t: Translator) -> None:
        titles = self.s.section_titles(t.language)
        taken = [titles[slug] for slug in titles if slug in state.sections]
        heading = (
            t("subscriptions_title") + "\n" + "\n".join(f"• {title}" for title in taken)
            if taken
            else t("no_subscriptions")
        )
        await reply_plain(
            update,
            heading + "\n\n" + t("subscriptions_keyboard_title"),
            keyboards.section_toggles(self.s.settings.sections, state.sections, t.language),
        )

    async def language(self, update: Update, context: Context) -> None:
        """Choose en, ru or kk."""
        state, t = await self._state(update)
        await reply_plain(update, t("language_title"), keyboards.languages(state.language))

    async def editions(self, update: Update, context: Context) -> None:
        """The editions (languages of the news) as toggles; `/editions ru` reads only that one."""
        state, t = await self._state(update)
        if not await self._may_change(update):
            await reply_plain(update, t("group_admins_only"))
            return
        args = context.args or []
        if not args:
            await reply_plain(
                update,
                t("editions_title"),
                keyboards.edition_toggles(self.s.readers.editions, state.editions),
            )
            return
        code = args[0].lower()
        if len(args) > 1 or not self.s.readers.is_edition(code):
            typed = " ".join(args)[:64]
            await reply_plain(update, t("unknown_edition", code=typed, codes=self._edition_codes()))
            return
        await self.s.readers.read_only(state, code)
        await reply_plain(update, t("editions_set", edition=language_name(code)))

    def _edition_codes(self) -> str:
        """`kk (Қазақша), ru (Русский), en (English)`: what `/editions <code>` takes."""
        return ", ".join(f"{code} ({language_name(code)})" for code in self.s.readers.editions)

    async def unknown_command(self, update: Update, context: Context) -> None:
        """Anything that is not one of our commands."""
        _, t = await self._state(update)
        await reply_plain(update, t("unknown_command"))

    async def plain_text(self, update: Update, context: Context) -> None:
        """Text that is not a command, in a private chat: point to /help."""
        _, t = await self._state(update)
        await reply_plain(update, t("unknown_command"))

    # Buttons ---------------------------------------------------------------------------
    # Each press is judged by its presser, never by the message it sits on (presses.py).

    async def _refuse(self, press: Press, key: str) -> None:
        t = await self.presses.presser_translator(press)
        await press.query.answer(t(key), show_alert=True)

    async def on_toggle(self, update: Update, context: Context) -> None:
        """sub:<slug> - toggle a section for the chat the keyboard is in."""
        press = press_of(update)
        slug = press.callback.arg(0) if press.callback else None
        if not slug or not self.s.readers.is_section(slug):
            await self._refuse(press, "stale_button")
            return
        if not await self.presses.may_change_chat(press):
            await self._refuse(press, "group_admins_only")
            return
        state, t = await self._state(update)
        now_on = await self.s.readers.toggle(state, slug)
        title = self.s.section_titles(t.language)[slug]
        await press.query.answer(t("subscribed" if now_on else "unsubscribed", section=title))
        state, _ = await self._state(update)
        await press.query.edit_message_reply_markup(
            keyboards.section_toggles(self.s.settings.sections, state.sections, t.language)
        )

    async def on_language(self, update: Update, context: Context) -> None:
        """lang:<code> - set the chat's language and answer in it."""
        press = press_of(update)
        code = press.callback.arg(0) if press.callback else None
        if code not in SUPPORTED:
            await self._refuse(press, "stale_button")
            return
        if not await self.presses.may_change_chat(press):
            await self._refuse(press, "group_admins_only")
            return
        state, _ = await self._state(update)
        await self.s.readers.set_language(state, code)
        t = self.s.translator(code)
        await press.query.answer(t("language_set"))
        await edit_html(update, plain(t("language_set")), keyboards.languages(code))

    async def on_edition(self, update: Update, context: Context) -> None:
        """ed:<code> - toggle an edition for the chat the keyboard is in (never the last)."""
        press = press_of(update)
        code = press.callback.arg(0) if press.callback else None
        if not self.s.readers.is_edition(code):
            await self._refuse(press, "stale_button")
            return
        if not await self.presses.may_change_chat(press):
            await self._refuse(press, "group_admins_only")
            return
        assert code is not None
        state, t = await self._state(update)
        outcome = await self.s.readers.toggle_edition(state, code)
        name = language_name(code)
        if outcome is EditionToggle.LAST:
            await press.query.answer(t("edition_last", edition=name), show_alert=True)
            return
        await press.query.answer(
            t("edition_on" if outcome is EditionToggle.ON else "edition_off", edition=name)
        )
        state, _ = await self._state(update)
        await press.query.edit_message_reply_markup(
            keyboards.edition_toggles(self.s.readers.editions, state.editions)
        )

    async def on_section(self, update: Update, context: Context) -> None:
        """sec:<slug> - the newest stories of a section, as a new message."""
        press = press_of(update)
        slug = press.callback.arg(0) if press.callback else None
        if not slug or not self.s.readers.is_section(slug):
            await self._refuse(press, "stale_button")
            return
        if await self.presses.may_show_here(press):
            state, t = await self._state(update)
            await press.query.answer()
            await self._show_section(update, t, slug, self._reading(state))
            return
        t = await self.presses.presser_translator(press)
        title = t("section_title", section=self.s.section_titles(t.language)[slug])
        stories = await self.s.newsdesk.latest(slug, await self._presser_reading(press, t))
        await self.presses.show_privately(
            press, context, self._list_text(t, title, stories), alert=_titles(stories)
        )

    async def on_related(self, update: Update, context: Context) -> None:
        """rel:<story_id> - the story's related stories: in place in the presser's own chat,
        else privately (on a channel post a reply would be a post to every subscriber)."""
        press = press_of(update)
        story_id = press.callback.int_arg(0) if press.callback else None
        story, related = await self.s.newsdesk.related(story_id) if story_id else (None, [])
        if story is None:
            await self._refuse(press, "stale_button")
            return
        if not related:
            await self._refuse(press, "no_related")
            return
        if await self.presses.may_show_here(press):
            _, t = await self._state(update)
            await press.query.answer()
            await self._list(update, t, t("related_title", title=story.title[:100]), related)
            return
        t = await self.presses.presser_translator(press)
        text = self._list_text(t, t("related_title", title=story.title[:100]), related)
        await self.presses.show_privately(press, context, text, alert=_titles(related))

    async def on_today_page(self, update: Update, context: Context) -> None:
        """today:<page>[:<slug>] - another page of today's timeline."""
        press = press_of(update)
        page = press.callback.int_arg(0) if press.callback else None
        slug = press.callback.arg(1) if press.callback else None
        if page is None or (slug is not None and not self.s.readers.is_section(slug)):
            await self._refuse(press, "stale_button")
            return
        if await self.presses.may_show_here(press):
            state, t = await self._state(update)
            await press.query.answer()
            text, markup = await self._timeline(t, page, slug, self._reading(state))
            await edit_html(update, text, markup)
            return
        t = await self.presses.presser_translator(press)
        reading = await self._presser_reading(press, t)
        text, markup = await self._timeline(t, page, slug, reading)
        await self.presses.show_privately(press, context, text, markup, alert="")


def _titles(stories: list) -> str:
    """Headlines one per line, for an alert when a list cannot be sent as a message."""
    return "\n".join(f"• {story.title}" for story in stories)
