"""Everything Telegram-facing: rendering stories as Telegram HTML, the interface languages,
Telegram's length limits, keyboards, handlers and sending.

`render`, `i18n` and `text_limits` are pure (no network, no python-telegram-bot objects), so
the formatting rules are tested without a bot; `send`, `handlers` and `application` talk to
Telegram through python-telegram-bot.
"""
