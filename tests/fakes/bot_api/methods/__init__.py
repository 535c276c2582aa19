"""The Bot API methods the fake answers, one module per group (updates and webhooks, the
bot's own settings: commands, descriptions and menu button; chats and members, forum topics,
a send's parameters, sending, editing and deleting, answers to callback and inline queries),
each a mixin of :class:`~tests.fakes.bot_api.server.FakeBotAPI`.

A handler takes the typed parameters and returns the ``result`` or raises ``ApiError``;
the table below is how the server finds it."""

from __future__ import annotations

# Bot API method name (lower-case, as Telegram matches them) -> (canonical, handler).
_METHODS: dict[str, tuple[str, str]] = {
    name.lower(): (name, handler)
    for name, handler in {
        "getUpdates": "",
        "getMe": "_api_get_me",
        "logOut": "_api_ok",
        "close": "_api_ok",
        "setWebhook": "_api_set_webhook",
        "deleteWebhook": "_api_delete_webhook",
        "getWebhookInfo": "_api_get_webhook_info",
        "sendMessage": "_api_send_message",
        "sendPhoto": "_api_send_photo",
        "editMessageText": "_api_edit_message_text",
        "editMessageCaption": "_api_edit_message_caption",
        "editMessageReplyMarkup": "_api_edit_message_reply_markup",
        "deleteMessage": "_api_delete_message",
        "answerCallbackQuery": "_api_answer_callback_query",
        "answerInlineQuery": "_api_answer_inline_query",
        "setMyCommands": "_api_set_my_commands",
        "getMyCommands": "_api_get_my_commands",
        "deleteMyCommands": "_api_delete_my_commands",
        "setMyDescription": "_api_set_my_description",
        "getMyDescription": "_api_get_my_description",
        "setMyShortDescription": "_api_set_my_short_description",
        "getMyShortDescription": "_api_get_my_short_description",
        "setChatMenuButton": "_api_set_chat_menu_button",
        "getChatMenuButton": "_api_get_chat_menu_button",
        "getChat": "_api_get_chat",
        "getChatMember": "_api_get_chat_member",
        "getChatAdministrators": "_api_get_chat_administrators",
        "getChatMemberCount": "_api_get_chat_member_count",
        "sendChatAction": "_api_send_chat_action",
        "createForumTopic": "_api_create_forum_topic",
        "leaveChat": "_api_leave_chat",
    }.items()
}
