"""Front doors: Telegram updates and HTTP requests.

Each parses, calls one use case (bot/services/), shows the result.
"""
