"""Feed ingestion: fetch (HTTP), parse (bytes -> entries), normalise (entry -> story), poll."""
