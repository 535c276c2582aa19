"""The console: a Telegram Mini App for editors, served by the bot's HTTP server at /console/.

routes.py mounts the page and its JSON API, auth.py signs every API call in with Telegram's
init data, static.py serves the page's own files (static/). docs/console.md describes it.
"""
