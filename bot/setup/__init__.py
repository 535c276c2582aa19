"""Start-up pieces beneath the wiring in bot/app.py: the ingestion core, the Telegram side,
config sync, scheduled jobs, the tick watch and logging."""
