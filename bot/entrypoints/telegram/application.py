"""The python-telegram-bot Application: built, given its handlers, and its command menus.

All handlers are registered in `register_handlers`, in one place, in the order they match.
"""

from __future__ import annotations

import logging
import math
import os

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    MessageReactionHandler,
    TypeHandler,
    filters,
)

from bot.config import Settings
from bot.entrypoints.telegram.handlers.channel_settings import ChannelSettingsHandlers
from bot.entrypoints.telegram.handlers.channels import ChannelHandlers
from bot.entrypoints.telegram.handlers.common import reply_plain, user_language
from bot.entrypoints.telegram.handlers.desk import DeskHandlers
from bot.entrypoints.telegram.handlers.editors import EditorHandlers
from bot.entrypoints.telegram.handlers.inline import InlineHandlers
from bot.entrypoints.telegram.handlers.readers import ReaderHandlers
from bot.entrypoints.telegram.handlers.services import BotServices
from bot.entrypoints.telegram.handlers.topics import TopicHandlers
from bot.entrypoints.telegram.lanes import UserLanes
from bot.entrypoints.telegram.request import ObservedRequest, RequestObserver
from bot.outbound.callbacks import is_action
from bot.outbound.flood_guard import TELEGRAM_OVERALL, FloodGuard
from bot.outbound.i18n import SUPPORTED
from bot.outbound.retry import RetryReplies

log = logging.getLogger(__name__)

# Reactions on channel posts arrive only when asked for explicitly (Bot API, getUpdates).
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
    Update.MESSAGE_REACTION_COUNT,
    Update.INLINE_QUERY,
    Update.CHOSEN_INLINE_RESULT,
]

READER_COMMANDS = (
    "start",
    "help",
    "latest",
    "sections",
    "section",
    "today",
    "popular",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "language",
    "editions",
    "search",
    "digest",
    "channels",
)
EDITOR_COMMANDS = ("breaking", "failures")
# With `console_url`, editors also get /console (and only then is it a command at all).
CONSOLE_COMMAND = "console"
# The handler group of replies to the desk's headline prompts (see register_handlers).
DESK_REPLIES = 1
# The handler group of admins' answers to a chat setting's question (before group 0).
SETTING_ANSWERS = -2
# The handler group that notes whether a supergroup is a forum, before every other.
FORUM_WATCH = -3
# The handler group that makes whoever sends a command in a private chat reachable there.
PRIVATE_CONTACT = -1
# The handler group that gives an editor's /start the console's menu button, after the welcome.
CONSOLE_MENU = 2


# PTB 22 warns on every RetryAfter (even at its construction) that `retry_after` becomes a
# timedelta in its next major version, unless this opts in to that now. The code reading it
# takes both forms (`retry_after_seconds`), so an operator's explicit "false" still works.
PTB_TIMEDELTA = "PTB_TIMEDELTA"


# What PTB's builder gives the general request when it builds one itself.
CONNECTION_POOL_SIZE = 256


def build_application(
    settings: Settings, token: str, request_observer: RequestObserver | None = None
) -> Application:
    """An Application talking to the Bot API root in the settings (Telegram or a stand-in)."""
    os.environ.setdefault(PTB_TIMEDELTA, "true")
    root = settings.bot_api_url.rstrip("/")
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        # Updates from different users are handled concurrently, each user's in order, and
        # one user's burst is held to a short backlog of their own
        # (bot/entrypoints/telegram/lanes.py),
        # so neither a slow query nor a flood in one chat holds up another.
        .concurrent_updates(UserLanes())
        .rate_limiter(RetryReplies(flood_guard(settings)))
        # Every call but getUpdates, timed for metrics and readiness
        # (bot/entrypoints/telegram/request.py).
        .request(ObservedRequest(request_observer, connection_pool_size=CONNECTION_POOL_SIZE))
        .build()
    )


def flood_guard(settings: Settings) -> FloodGuard:
    """Telegram's counters, as this deployment paces to them (bot/outbound/flood_guard.py).

    Overall: Telegram's 30 a second, or the configured `send_rate` if set above it (a test
    bed, or a bot Telegram allows more); per chat: the configured intervals.
    """
    return FloodGuard(
        overall=max(TELEGRAM_OVERALL[0], math.ceil(settings.send_rate)),
        private_interval=settings.private_chat_interval,
        group_per_minute=settings.group_messages_per_minute,
    )


def register_handlers(application: Application, services: BotServices) -> None:
    readers = ReaderHandlers(services)
    channels = ChannelHandlers(services)
    settings = ChannelSettingsHandlers(services)
    editors = EditorHandlers(services)
    desk = DeskHandlers(services)
    topics = TopicHandlers(services)
    commands = {
        "start": readers.start,
        "help": readers.help,
        "latest": readers.latest,
        "sections": readers.sections,
        "section": readers.section,
        "today": readers.today,
        "popular": readers.popular,
        "search": readers.search,
        "subscribe": readers.subscribe,
        "unsubscribe": readers.unsubscribe,
        "subscriptions": readers.subscriptions,
        "language": readers.language,
        "editions": readers.editions,
        "digest": readers.digest,
        "channels": channels.channels,
        "topic": topics.pick,
        "breaking": editors.breaking,
        "failures": editors.failures,
    }
    console = services.settings.console_url is not None
    if console:
        commands[CONSOLE_COMMAND] = editors.console
    # Group FORUM_WATCH, first of all: every supergroup update says whether it is a forum.
    application.add_handler(TypeHandler(Update, topics.observe), group=FORUM_WATCH)
    # Group SETTING_ANSWERS, next: a reply in a private chat is looked up by the message it
    # answers (desk_prompts); the answer to a setting's question is taken there and stops
    # (ApplicationHandlerStop), any other reply goes on to the groups below.
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.REPLY & filters.TEXT & ~filters.COMMAND,
            settings.on_reply,
        ),
        group=SETTING_ANSWERS,
    )
    # Group PRIVATE_CONTACT: a command in a private chat registers it (one read when known),
    # so notices about the sender's chats can reach them (bot/delivery/topics.py).
    application.add_handler(
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, channels.note_contact),
        group=PRIVATE_CONTACT,
    )
    # Group 0: the first handler that matches an update takes it, so the catch-alls for
    # unknown commands, stray text and stale buttons come last.
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback))
    buttons = {
        "sub": readers.on_toggle,
        "sec": readers.on_section,
        "lang": readers.on_language,
        "ed": readers.on_edition,
        "today": readers.on_today_page,
        "rel": readers.on_related,
        "ch": channels.on_open,
        "cs": channels.on_section,
        "cb": channels.on_breaking,
        "ce": channels.on_edition,
        "st": settings.on_settings,
        "sw": settings.on_switch,
        "sp": settings.on_ask,
        "sx": settings.on_clear,
        "sk": settings.on_decision,
        "bk": editors.on_decision,
        "ap": desk.on_press,
    }
    # A press reaches its handler only when its data has exactly its action's shape
    # (bot/outbound/callbacks.py); any other falls through to the catch-all below.
    for action, callback in buttons.items():
        application.add_handler(CallbackQueryHandler(callback, pattern=is_action(action)))
    application.add_handler(
        ChatMemberHandler(channels.on_membership, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(MessageReactionHandler(channels.on_reaction_count))
    inline = InlineHandlers(services)
    application.add_handler(InlineQueryHandler(inline.on_query))
    application.add_handler(ChosenInlineResultHandler(inline.on_chosen))
    application.add_handler(
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, readers.unknown_command)
    )
    application.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE, readers.plain_text
        )
    )
    application.add_handler(CallbackQueryHandler(_stale_button(services)))
    # Replies in groups, in a group of their own (DESK_REPLIES): a reply is the desk's only
    # when it answers a headline prompt (desk_prompts), so another reply handler (the admin
    # screens' "setting" prompts) still sees every reply in its own group.
    application.add_handler(
        MessageHandler(
            filters.REPLY & filters.TEXT & ~filters.COMMAND & filters.ChatType.GROUPS,
            desk.on_reply,
        ),
        group=DESK_REPLIES,
    )
    # Group CONSOLE_MENU: an editor's /start (welcomed in group 0) also sets the console's
    # menu button, which start-up could not set before they had started the bot.
    if console:
        application.add_handler(
            CommandHandler("start", editors.console_menu, filters=filters.ChatType.PRIVATE),
            group=CONSOLE_MENU,
        )
    application.add_error_handler(_error_handler(services))
    lanes = application.update_processor
    if isinstance(lanes, UserLanes):
        lanes.on_slow_down = _slow_down(services)


def _stale_button(services: BotServices):  # type: ignore[no-untyped-def]
    async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button from an old keyboard or a forged callback: a short answer, no change."""
        query = update.callback_query
        if query is None:
            return
        t = services.translator(await _language(services, update))
        await query.answer(t("stale_button"), show_alert=True)

    return stale_button


def _slow_down(services: BotServices):  # type: ignore[no-untyped-def]
    async def slow_down(update: Update) -> None:
        """A user whose burst is being dropped (lanes.py), told once: a press's answer, or
        one message in their private chat (never in a group: the others would see it)."""
        t = services.translator(await _language(services, update))
        if update.callback_query is not None:
            await update.callback_query.answer(t("slow_down"), show_alert=True)
            return
        chat = update.effective_chat
        if update.effective_message is not None and chat is not None and chat.type == "private":
            await reply_plain(update, t("slow_down"))

    return slow_down


def _error_handler(services: BotServices):  # type: ignore[no-untyped-def]
    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log it (the token is redacted by the log filter) and give the user a short answer."""
        log.error("handler failed", exc_info=context.error)
        if not isinstance(update, Update):
            return
        try:
            t = services.translator(await _language(services, update))
            if update.callback_query is not None:
                await update.callback_query.answer(t("error_generic"), show_alert=True)
            elif update.effective_message is not None and update.effective_chat is not None:
                await reply_plain(update, t("error_generic"))
        except Exception:  # the error reply itself failed: nothing more to do
            log.warning("could not tell the user about the error", exc_info=True)

    return on_error


async def _language(services: BotServices, update: Update) -> str:
    chat = update.effective_chat
    if chat is None:
        return services.settings.language
    return await services.readers.language_of(chat.id, user_language(update))


async def publish_commands(application: Application, services: BotServices) -> None:
    """The command menu in each language; editors also see /breaking and /failures, and
    /console with `console_url`."""
    bot = application.bot
    editor_commands = (
        (*EDITOR_COMMANDS, CONSOLE_COMMAND)
        if services.settings.console_url is not None
        else EDITOR_COMMANDS
    )

    def menu(language: str, *, editor: bool) -> list[BotCommand]:
        t = services.translator(language)
        names = [*READER_COMMANDS, *editor_commands] if editor else list(READER_COMMANDS)
        return [BotCommand(name, t(f"cmd_{name}")) for name in names]

    try:
        scope = BotCommandScopeAllPrivateChats()
        await bot.set_my_commands(menu(services.settings.language, editor=False), scope=scope)
        for language in SUPPORTED:
            await bot.set_my_commands(
                menu(language, editor=False), scope=scope, language_code=language
            )
    except TelegramError as exc:
        # A menu is a convenience; a bot that cannot set it still works.
        log.warning("could not publish the command menu: %s", exc.message)
    for editor_id in services.settings.editors:
        try:
            for language in (None, *SUPPORTED):
                await bot.set_my_commands(
                    menu(language or services.settings.language, editor=True),
                    scope=BotCommandScopeChat(editor_id),
                    language_code=language,
                )
        except TelegramError as exc:  # e.g. an editor who never opened a chat with the bot
            log.warning("could not publish the editors' menu for %s: %s", editor_id, exc.message)
