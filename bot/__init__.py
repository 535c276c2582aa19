"""newsbot: a Telegram news-distribution bot for newsrooms."""

__version__ = "0.1.0"
