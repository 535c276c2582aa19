"""Who is calling the console's API: `Authorization: tma <initData>`, checked on every call.

The init data is the one Telegram hands the console page (bot/domain/init_data.py checks its
signature and age). Answers:
- 401 `{"error": reason}` when it is missing, malformed, forged, signed for another bot,
  expired or dated ahead; the reason never echoes the init data or its hash.
- 429 `{"error": ...}` with `Retry-After` when one client address has failed too often: each
  address has a bucket of FAILURE_BURST failures that refills at FAILURES_PER_MINUTE; once it
  is empty, every failing call from that address is answered 429 (no reason given) until a
  failure's worth has refilled. Only failures spend the bucket and only failures are
  slowed: valid init data from the same address (a NAT, a proxy) still signs in. Behind a
  reverse proxy the address is the client's only if uvicorn trusts the proxy's
  X-Forwarded-For (it does for 127.0.0.1 by default, `FORWARDED_ALLOW_IPS` otherwise:
  docs/console.md).
- 403 `{"error": ...}` on an editors' path for a valid user who is not in `editors`.
Init data and hashes are never logged; refusals log the address and the reason.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.domain.init_data import InitDataRefused, InitDataUser, validate_init_data

log = logging.getLogger(__name__)

SCHEME = "tma"
# Failures one address may make in a row before it is slowed, and how fast it is forgiven.
FAILURE_BURST = 10
FAILURES_PER_MINUTE = 10
# Addresses remembered at most (the oldest forgotten first): a flood from many addresses
# costs bounded memory.
MAX_ADDRESSES = 10_000
NOT_AN_EDITOR = "the console is for the newsroom's editors"
NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True)
class Caller:
    """A signed-in console user; `editor` is decided by the config alone."""

    user: InitDataUser
    editor: bool


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": message}, status_code=status, headers={**NO_STORE, **(headers or {})}
    )


class FailureThrottle:
    """A token bucket per client address, spent by failed sign-ins (see the module)."""

    def __init__(
        self,
        burst: int = FAILURE_BURST,
        per_minute: float = FAILURES_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._max = max_addresses
        # address -> (tokens, when counted); absent: a full bucket.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _level(self, address: str, now: float) -> float:
        tokens, at = self._buckets.get(address, (self._burst, now))
        return min(self._burst, tokens + (now - at) * self._rate)

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try again; None when it may now."""
        level = self._level(address, self._clock())
        if level >= 1.0:
            return None
        return max(1, math.ceil((1.0 - level) / self._rate))

    def failed(self, address: str) -> bool:
        """Spend one failure; True when this one emptied the bucket (the address is slowed)."""
        now = self._clock()
        level = self._level(address, now) - 1.0
        self._buckets[address] = (level, now)
        self._buckets.move_to_end(address)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return level < 1.0


class ConsoleAuth:
    """Signs console calls in (see the module)."""

    def __init__(
        self,
        bot_token: str,
        ttl: int,
        editors: Collection[int],
        throttle: FailureThrottle | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token = bot_token
        self._ttl = ttl
        self._editors = frozenset(editors)
        self._throttle = throttle or FailureThrottle()
        self._clock = clock

    def sign_in(self, request: Request) -> Caller | Response:
        """The caller, or the answer refusing them (401, or 429 once their address has
        failed too often). Valid init data always signs in: a guesser sharing an address
        (a NAT, a proxy) with the editors slows only its own failures, never them."""
        address = request.client.host if request.client else "unknown"
        try:
            user = validate_init_data(
                _init_data(request.headers.get("authorization")),
                self._token,
                now=self._clock(),
                ttl=self._ttl,
            )
        except InitDataRefused as refused:
            wait = self._throttle.retry_after(address)
            if wait is not None:
                return error(
                    429, "too many failed sign-ins; try again later", {"Retry-After": str(wait)}
                )
            log.info("console: sign-in refused from %s: %s", address, refused.reason)
            if self._throttle.failed(address):
                log.warning("console: slowing sign-ins from %s after repeated failures", address)
            return error(401, refused.reason, {"WWW-Authenticate": SCHEME})
        return Caller(user, user.user_id in self._editors)

    def guard(
        self,
        handler: Callable[[Request, Caller], Awaitable[Response]],
        *,
        editors_only: bool,
    ) -> Callable[[Request], Awaitable[Response]]:
        """`handler` behind the sign-in (and, `editors_only`, the editors' check)."""

        async def endpoint(request: Request) -> Response:
            caller = self.sign_in(request)
            if isinstance(caller, Response):
                return caller
            if editors_only and not caller.editor:
                log.info(
                    "console: %s refused to user %d (not an editor)",
                    request.url.path,
                    caller.user.user_id,
                )
                return error(403, NOT_AN_EDITOR)
            return await handler(request, caller)

        return endpoint


def _init_data(header: str | None) -> str | None:
    """The init data of an `Authorization: tma <initData>` header (None when absent);
    another scheme is refused as malformed."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != SCHEME:
        raise InitDataRefused("authorization is not tma init data")
    return value.strip()
