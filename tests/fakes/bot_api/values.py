"""The fake's public value types (users, chats, uploads, recorded messages) and its error
answer, :class:`ApiError`: plain data a test builds, reads and compares."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ChatType = Literal["private", "group", "supergroup", "channel"]


@dataclass(frozen=True)
class FakeUser:
    """A human playing against the bot.  Their private chat with the bot has id == ``id``."""

    id: int
    first_name: str
    language_code: str | None = "en"
    username: str | None = None
    last_name: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The ``User`` object Telegram would put in updates."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    @property
    def private_chat(self) -> FakeChat:
        """The user's private chat with the bot."""
        return FakeChat(id=self.id, type="private", title=None, username=self.username)


@dataclass(frozen=True)
class FakeChat:
    """A chat the bot can be in.  Groups, supergroups and channels have negative ids."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    # A supergroup with topics (Telegram's ``is_forum``): sends may name a topic.
    is_forum: bool = False

    def to_api(self, *, first_name: str | None = None) -> dict[str, Any]:
        """The ``Chat`` object Telegram would embed in messages and updates."""
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = first_name or self.title or f"User {self.id}"
        else:
            data["title"] = self.title or f"Chat {self.id}"
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass
class Upload:
    """A file the bot uploaded in a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:
        return f"Upload({self.field!r}, {self.filename!r}, {len(self.data)} bytes)"


@dataclass
class SentMessage:
    """One successful message-creating or message-editing call, as the fake recorded it.

    ``text`` is the raw parameter as sent (HTML tags and all); for media it mirrors the
    caption (``""`` when there is none) so ``"word" in m.text`` works for every message.
    ``plain_text`` is what the reader sees (tags removed, entities decoded).
    ``reply_markup`` is the *current* markup the call set (``None`` removes it).
    """

    chat_id: int
    message_id: int
    method: str
    text: str
    caption: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    disable_notification: bool
    link_preview_options: dict[str, Any] | None
    photo: str | None
    time: float
    plain_text: str = ""
    entities: list[dict[str, Any]] = field(default_factory=list)
    # The forum topic the message went to (None: the chat itself, a forum's General).
    message_thread_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict, repr=False)
    message: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """All inline keyboard buttons, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        """The callback_data of every callback button, in order."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form for the control API."""
        data = asdict(self)
        data.pop("message")
        data["params"] = _jsonable(self.params)
        return data


class ApiError(Exception):
    """An error answer: HTTP status == ``error_code``, like Telegram."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            data["parameters"] = self.parameters
        return data


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Upload):
        return repr(value)
    return value


def _clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), several times quicker than
    ``copy.deepcopy``: the send path copies each message a few times."""
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clone(item) for item in value]
    return value
