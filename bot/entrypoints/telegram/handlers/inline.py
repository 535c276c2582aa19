"""Inline mode: `@bot words` in any chat offers matching stories as shareable articles.

An empty query offers today's popular stories. A pick (`chosen_inline_result`, which needs
inline feedback switched on with @BotFather's /setinlinefeedback) counts as engagement of
kind "inline". Result ids are `s<story_id>`, so a pick names its story without any lookup.
"""

from __future__ import annotations

import logging

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.entrypoints.telegram.handlers.common import MAX_ARGUMENT_CHARS, user_language
from bot.entrypoints.telegram.handlers.services import BotServices
from bot.outbound.render import inline_description, render_story
from bot.outbound.send import keyboard
from storage.models import Story

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
RESULT_PREFIX = "s"
INLINE_RESULTS = 20
# Telegram caches answers per query this long; news moves, so keep it short.
CACHE_SECONDS = 30


def result_id(story_id: int) -> str:
    return f"{RESULT_PREFIX}{story_id}"


def story_id_of(result: str) -> int | None:
    """The story behind a result id, or None for anything we did not hand out."""
    digits = result.removeprefix(RESULT_PREFIX)
    if not result.startswith(RESULT_PREFIX) or not digits.isdigit() or len(digits) > 18:
        return None
    return int(digits)


class InlineHandlers:
    def __init__(self, services: BotServices) -> None:
        self.s = services

    async def on_query(self, update: Update, context: Context) -> None:
        """Answer at once: one indexed query, rendered in the asking user's language."""
        query = update.inline_query
        if query is None:
            return
        text = query.query.strip()[:MAX_ARGUMENT_CHARS]
        words = text.split()[:10]
        language = self.s.translator(user_language(update)).language
        # The user's private-chat editions, else their Telegram language's edition.
        settings = self.s.settings
        reading = await self.s.newsdesk.user_reading(
            query.from_user.id, language, settings.editions, settings.edition_of(language)
        )
        if words:
            stories = await self.s.newsdesk.find(words, limit=INLINE_RESULTS, editions=reading)
        else:
            stories = await self.s.newsdesk.popular(editions=reading)
        results = [self._article(story, language) for story in stories]
        await query.answer(results, cache_time=CACHE_SECONDS, is_personal=False)

    def _article(self, story: Story, language: str) -> InlineQueryResultArticle:
        t = self.s.translator(language)
        section = self.s.settings.section(story.section) if story.section else None
        message = render_story(
            story,
            t=t,
            zone=self.s.settings.zone,
            section_title=section.title_in(language) if section else None,
        )
        preview = (
            LinkPreviewOptions(url=message.link_preview_url)
            if message.link_preview_url
            else LinkPreviewOptions(is_disabled=True)
        )
        return InlineQueryResultArticle(
            id=result_id(story.id),
            title=story.title[:256] or "…",
            description=inline_description(story) or None,
            url=message.link_preview_url,
            thumbnail_url=message.photo_url,
            input_message_content=InputTextMessageContent(
                message.text, parse_mode=ParseMode.HTML, link_preview_options=preview
            ),
            reply_markup=keyboard(message.buttons),
        )

    async def on_chosen(self, update: Update, context: Context) -> None:
        """A user shared one of our results: the strongest signal inline mode gives."""
        chosen = update.chosen_inline_result
        story_id = story_id_of(chosen.result_id) if chosen else None
        if story_id is None:
            return
        await self.s.newsdesk.record_pick(story_id)
