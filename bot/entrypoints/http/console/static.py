"""The console page and its files, served by the bot itself from this package's static/.

Read once, when the routes are built: a fixed set of names, "console.js" or, one folder
down, "vendor/uPlot.iife.min.js" (bundled libraries, with their licences), looked up in a
dict: nothing from the request reaches the file system, so no path can climb out of static/.
Each has its content type and an ETag so a reopened console revalidates instead of
downloading again. The page's only outside script is Telegram's own telegram-web-app.js;
the Content-Security-Policy says so to the browser too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from starlette.requests import Request
from starlette.responses import Response

PAGE = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
# Scripts: ours and Telegram's only; calls: our own API only. Styles also inline: inside
# Telegram Web's iframe, telegram-web-app.js adds a <style> element that web.telegram.org
# fills (its `set_custom_style` event), which 'self' alone would block. No frame-ancestors:
# Telegram Web frames the page.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' https://telegram.org/js/telegram-web-app.js; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "object-src 'none'"
)


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


def load_static() -> dict[str, StaticFile]:
    """Every file of static/ and of its folders (one level: vendor/) with a known type, by
    its name under static/ ("console.js", "vendor/uPlot.min.css")."""
    files: dict[str, StaticFile] = {}
    folder = resources.files(__package__).joinpath("static")
    for entry in folder.iterdir():
        if entry.is_dir():
            for inner in entry.iterdir():
                _add(files, f"{entry.name}/{inner.name}", inner)
        else:
            _add(files, entry.name, entry)
    return files


def _add(files: dict[str, StaticFile], name: str, entry: Traversable) -> None:
    suffix = "." + entry.name.rpartition(".")[2]
    if not entry.is_file() or suffix not in CONTENT_TYPES:
        return
    body = entry.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    files[name] = StaticFile(body, CONTENT_TYPES[suffix], etag)


def serve(request: Request, file: StaticFile) -> Response:
    """`file`, or 304 when the browser's copy is current."""
    headers = {
        "ETag": file.etag,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if file.content_type.startswith("text/html"):
        headers["Content-Security-Policy"] = PAGE_POLICY
    if request.headers.get("if-none-match") == file.etag:
        return Response(status_code=304, headers=headers)
    return Response(file.body, media_type=file.content_type, headers=headers)
