"""Pieces shared by the Telegram, Zalo and kiosk channels.

Runs inside the Rasa server (Python 3.10, sanic 21.12): standard library and
Rasa only. Every channel turns Rasa's collected bot messages into `Reply`
objects first, so the three doors show the same texts and buttons.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.deployment import Deployment, load_deployment
from bot.privacy import hash_sender

logger = logging.getLogger(__name__)

_warned_unmounted: set[str] = set()


NOT_TEXT_REPLY = "Dạ, hiện tôi chỉ đọc được tin nhắn chữ. Anh/chị vui lòng gõ câu hỏi giúp tôi ạ."


class BadRequest(ValueError):
    """The request body cannot be understood (answered with HTTP 400)."""


@lru_cache(maxsize=1)
def deployment() -> Deployment:
    """Profile and input bounds from settings.yml, read once per server process."""
    return load_deployment()


def cut_message(text: str) -> str:
    """The one message-length rule of every door: stripped, then cut to `input_limits.max_message_chars`."""
    return text.strip()[: deployment().max_message_chars]


def too_large(request: Request) -> HTTPResponse | None:
    """413 for a body over `input_limits.max_body_bytes` (Sanic refuses larger ones before reading them too)."""
    limit = deployment().max_body_bytes
    if len(request.body or b"") > limit:
        return response.json({"error": f"body larger than {limit} bytes"}, status=413)
    return None


def bound_request_size(blueprint: Blueprint) -> Blueprint:
    """Make the whole server (every channel and the HTTP API) refuse bodies over the limit with 413.

    Sanic's default is 100 MB; its protocol reads `REQUEST_MAX_SIZE` per connection, so lowering it
    before the server starts bounds every door, whichever channel is mounted.
    """

    @blueprint.listener("before_server_start")
    async def _limit(app: Any, _loop: Any) -> None:
        app.config.REQUEST_MAX_SIZE = min(int(app.config.REQUEST_MAX_SIZE), deployment().max_body_bytes)

    return blueprint


class ClientRateLimit:
    """At most `max_events` per client key within `per_seconds` (in memory, per server process)."""

    def __init__(self, max_events: int, per_seconds: float, max_clients: int = 10000) -> None:
        if max_events < 1 or per_seconds <= 0:
            raise ValueError("rate_limit: max_messages and per_seconds must be positive")
        self.max_events = max_events
        self.per_seconds = per_seconds
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._max_clients = max_clients
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: float | None = None) -> int:
        """0 when the event is allowed (and counted), else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            self._events.move_to_end(key)
            while events and events[0] <= now - self.per_seconds:
                events.popleft()
            while len(self._events) > self._max_clients:
                self._events.popitem(last=False)
            if len(events) >= self.max_events:
                return max(1, int(events[0] + self.per_seconds - now + 0.999))
            events.append(now)
            return 0


@dataclass(frozen=True)
class Button:
    """A quick-reply button: what the citizen sees and the payload sent back to Rasa."""

    title: str
    payload: str


@dataclass
class Reply:
    """One bot message in a channel-neutral shape."""

    text: str = ""
    buttons: list[Button] = field(default_factory=list)
    custom: dict[str, Any] | None = None


def env_values(names: Sequence[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Read the given environment variables; unset or blank ones are left out."""
    source = os.environ if environ is None else environ
    return {name: source[name].strip() for name in names if (source.get(name) or "").strip()}


def log_not_mounted(channel: str, missing: Iterable[str]) -> None:
    """Say once per process that a channel stays closed because secrets are unset."""
    if channel in _warned_unmounted:
        return
    _warned_unmounted.add(channel)
    logger.warning(
        "Channel '%s' is not mounted: environment variable(s) %s unset.",
        channel,
        ", ".join(sorted(missing)),
    )


def empty_blueprint(name: str) -> Blueprint:
    """A blueprint without routes: how an unmounted channel registers with Rasa (still bounding body size)."""
    return bound_request_size(Blueprint(f"{name}_not_mounted"))


def parse_json_body(raw: bytes | None) -> dict[str, Any]:
    """Decode a webhook body; anything but a JSON object is a `BadRequest`."""
    if not raw:
        raise BadRequest("empty body")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc.__class__.__name__}") from exc
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data


def to_replies(messages: Iterable[Mapping[str, Any]]) -> list[Reply]:
    """Turn `CollectingOutputChannel.messages` into replies (text, buttons, custom)."""
    replies: list[Reply] = []
    for message in messages:
        raw_buttons = message.get("buttons") or message.get("quick_replies") or []
        buttons = [
            Button(title=str(b.get("title") or b.get("payload")), payload=str(b["payload"]))
            for b in raw_buttons
            if isinstance(b, Mapping) and b.get("payload")
        ]
        text = str(message.get("text") or "")
        custom = message.get("custom") if isinstance(message.get("custom"), dict) else None
        if not text and message.get("image"):
            text = str(message["image"])
        if custom and not (text or buttons) and replies and replies[-1].custom is None:
            # Rasa emits a response's `custom` as a message of its own: keep it with its text
            replies[-1].custom = custom
        elif text or buttons or custom:
            replies.append(Reply(text=text, buttons=buttons, custom=custom))
    return replies


def is_checklist(custom: Mapping[str, Any] | None) -> bool:
    """True for the guidance checklist payload (`custom.kind == "checklist"`)."""
    return bool(custom) and custom.get("kind") == "checklist"


def checklist_text(custom: Mapping[str, Any]) -> str:
    """Plain-text checklist, as put in the kiosk's QR code."""
    name = str(custom.get("name") or "").strip()
    code = str(custom.get("code") or "").strip()
    header = f"{name} ({code})" if name and code else name or code
    lines = [f"Giấy tờ cần chuẩn bị - {header}" if header else "Giấy tờ cần chuẩn bị"]
    lines += [f"{i}. {str(item).strip()}" for i, item in enumerate(custom.get("items") or [], 1)]
    return "\n".join(lines)


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long text into pieces of at most `limit` characters.

    Cuts at a paragraph break, then a line break, then a space, so a citizen
    never gets a word cut in half unless a single word is longer than `limit`.
    """
    if limit <= 0:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > limit // 4:
                break
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def describe(sender_id: str, text: str | None) -> str:
    """Log-safe summary of an incoming message: hashed sender and length, never the text."""
    return f"sender={hash_sender(sender_id)} chars={len(text or '')}"


def held_by_officer(sender_id: str, text: str, channel: str) -> bool:
    """The silence gate (issue 17): True when an officer holds this conversation in the staff console.

    The message is then stored (masked) for the officer and must not reach Rasa: the channel sends nothing.
    Also counts messages per channel for the console. Never raises: on a database error the bot answers.
    """
    from bot.console.gate import intercept

    return intercept(sender_id, text, channel)
