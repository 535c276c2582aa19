"""Services: what the bot does, independent of Telegram updates (handlers call these)."""
