"""Start-up pieces beneath the wiring in bot/app.py: logging, scheduled jobs, config sync."""
