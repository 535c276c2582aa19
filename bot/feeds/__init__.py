"""Feed ingestion below the use cases: fetch (HTTP), parse (bytes -> entries), normalise
(entry -> story). The poll itself, which stores what these give, is bot/services/poller.py."""
