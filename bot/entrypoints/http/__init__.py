"""newsbot's one optional HTTP server: Telegram's webhook, the CMS API, health and metrics.

Served by uvicorn inside the bot's own process and event loop (see
`bot.entrypoints.http.server`), so the routes share the database, scheduler and PTB
application the bot already built.
"""
