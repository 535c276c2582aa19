"""A response body read under a size cap, decoded as it streams.

The fetcher (bot/feeds/fetcher.py) counts DECODED bytes while streaming, so a gzip bomb or
an endless body is cut off after the cap, never held in memory whole; httpx's own decoder
inflates whole chunks, so the gzip and deflate the fetcher accepts are decoded here.
"""

from __future__ import annotations

import zlib


class CapExceeded(Exception):
    """The decoded body grew past the cap."""


class _Inflater:
    """Incremental gzip/deflate decoding whose output per call is bounded.

    `deflate` is meant to be zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send raw
    deflate; like browsers, fall back to raw when the first bytes are not a zlib header.
    """

    def __init__(self, encoding: str) -> None:
        gzip = encoding in ("gzip", "x-gzip")
        self._raw_fallback = not gzip
        self._started = False
        self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)

    def inflate(self, data: bytes, limit: int) -> bytes:
        """At most `limit` (>= 1) decoded bytes; input beyond that is left unconsumed."""
        try:
            out = self._decoder.decompress(data, limit)
        except zlib.error:
            if self._started or not self._raw_fallback:
                raise
            self._raw_fallback = False
            self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._decoder.decompress(data, limit)
        self._started = self._started or bool(out)
        return out

    def flush(self) -> bytes:
        return self._decoder.flush()


class CappedBody:
    """Accumulates a body, decoding it as it arrives, and refuses to grow past `cap` bytes.

    Decompression is asked for at most one byte more than the room left, so a 200 MB gzip
    bomb costs `cap` bytes of memory, not 200 MB (httpx's own decoder inflates whole chunks).
    """

    def __init__(self, content_encoding: str, cap: int, *, truncate: bool = False) -> None:
        codings = [
            coding.strip().lower()
            for coding in content_encoding.split(",")
            if coding.strip().lower() not in ("", "identity")
        ]
        self.encoding = codings[0] if len(codings) == 1 else ""
        self.unsupported = ", ".join(codings) if len(codings) > 1 else ""
        if self.encoding and self.encoding not in ("gzip", "x-gzip", "deflate"):
            self.unsupported = self.encoding
        self._inflater = _Inflater(self.encoding) if self.encoding else None
        self._cap = cap
        self.truncate = truncate  # keep what fits, then stop, instead of refusing the body
        self._buffer = bytearray()

    def feed(self, raw: bytes) -> None:
        if self._inflater is None:
            self._append(raw)
        else:
            self._append(self._inflater.inflate(raw, self._room() + 1))

    def finish(self, *, flush: bool = True) -> bytes:
        if flush and self._inflater is not None:
            self._append(self._inflater.flush())
        return bytes(self._buffer)

    def _room(self) -> int:
        return self._cap - len(self._buffer)

    def _append(self, chunk: bytes) -> None:
        if len(chunk) > self._room():
            if self.truncate:
                self._buffer += chunk[: self._room()]
            raise CapExceeded
        self._buffer += chunk
