"""Getting updates: long polling (``getUpdates``, with Telegram's 409 when two pollers or a
webhook compete) and the webhook methods."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from typing import Any

from tests.fakes.bot_api.values import ApiError, _bad
from tests.fakes.bot_api.vocabulary import _POLL_CONFLICT, ALL_UPDATE_TYPES, DEFAULT_UPDATE_TYPES


class UpdatesMethods:
    """getUpdates, setWebhook, deleteWebhook, getWebhookInfo.

    Mixed into :class:`~tests.fakes.bot_api.server.FakeBotAPI`, whose ``__init__`` holds
    the state these methods use (under ``self._lock``).
    """

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling: confirm updates below ``offset``, answer as soon as one is queued,
        never wait past ``timeout``; a newer getUpdates terminates this one (409)."""
        with self._lock:
            self._get_updates_calls += 1
            if self.webhook_url:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            offset = params.get("offset") or 0
            limit = params.get("limit") or 100
            if not 1 <= limit <= 100:
                limit = 100
            timeout = max(0, params.get("timeout") or 0)
            allowed = params.get("allowed_updates")
            if allowed is not None:
                if not isinstance(allowed, list):
                    raise _bad("can't parse allowed updates")
                self.allowed_updates_seen.append(list(allowed))
                self._allowed = frozenset(allowed) & ALL_UPDATE_TYPES or DEFAULT_UPDATE_TYPES
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._poll_seq += 1
            my_seq = self._poll_seq
        self._wake_pollers()  # an older poll, if any, is now terminated
        deadline = time.monotonic() + timeout
        event = asyncio.Event()
        self._poll_waiters.add(event)
        try:
            while True:
                event.clear()
                with self._lock:
                    if self._stopping:
                        return []
                    if my_seq != self._poll_seq:
                        self.poll_conflicts += 1
                        raise ApiError(409, _POLL_CONFLICT)
                    batch = self._updates[:limit]
                    if batch:
                        self._delivered.update(u["update_id"] for u in batch)
                        return copy.deepcopy(batch)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
        finally:
            self._poll_waiters.discard(event)

    def _api_set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates_seen.append(list(allowed))
            self._allowed = frozenset(allowed) & ALL_UPDATE_TYPES or DEFAULT_UPDATE_TYPES
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = url
        return True

    def _api_delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = ""
        return True

    def _api_get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            info["allowed_updates"] = sorted(self._allowed)
        return info
