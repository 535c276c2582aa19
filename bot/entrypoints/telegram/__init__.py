"""Telegram's inbound side: the application, its handlers, keyboards and per-user lanes."""
