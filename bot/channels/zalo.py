"""Zalo Official Account channel: webhook `/webhooks/zalo/webhook`, replies via the OA API.

Zalo signs each event: `X-ZEvent-Signature: mac=<sha256 hex of app_id + raw body
+ timestamp + OA secret key>`, the timestamp (milliseconds) being the one in the
body. We check it in constant time BEFORE the body is parsed as JSON (the timestamp
is read from the raw bytes), accept only events from the last 5 minutes (at most
30 s ahead for clock drift), answer each `msg_id` once (a replayed signed event gets
`duplicate`), answer the webhook at once (Zalo wants an answer within 2 s) and send
the replies afterwards from a background task with `POST /v3.0/oa/message/cs`.
Photos, stickers, voice and other non-text messages get the same "text only" reply
as on Telegram.
An access token that the API calls invalid (error -216) is refreshed once with
the refresh token and the request retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import httpx
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.common import (
    NOT_TEXT_REPLY,
    BadRequest,
    Button,
    Reply,
    bound_request_size,
    cut_message,
    describe,
    held_by_officer,
    empty_blueprint,
    env_values,
    log_not_mounted,
    parse_json_body,
    split_text,
    to_replies,
    too_large,
)
from bot.channels.dedup import seen_deliveries
from bot.subscriptions.contacts import record_contact

logger = logging.getLogger(__name__)

REQUIRED_ENV = ("ZALO_APP_ID", "ZALO_OA_SECRET_KEY", "ZALO_ACCESS_TOKEN")
OPTIONAL_ENV = ("ZALO_REFRESH_TOKEN", "ZALO_APP_SECRET", "ZALO_API_BASE_URL", "ZALO_OAUTH_BASE_URL")
DEFAULT_API_BASE_URL = "https://openapi.zalo.me"
DEFAULT_OAUTH_BASE_URL = "https://oauth.zaloapp.com"
SIGNATURE_HEADER = "X-ZEvent-Signature"
MAX_EVENT_AGE_MS = 5 * 60 * 1000
MAX_CLOCK_SKEW_MS = 30 * 1000  # Zalo's clock may run a little ahead of ours, not more
MAX_TEXT_CHARS = 2000  # OA text message limit
MAX_BUTTONS = 5  # buttons per template message
# the signed timestamp, read from the raw bytes so nothing is parsed before the signature is checked
_TIMESTAMP_RE = re.compile(rb'"timestamp"\s*:\s*"?(\d{1,16})"?')
TOKEN_INVALID = -216
BUTTONS_ONLY_TEXT = "Anh/chị chọn một mục bên dưới ạ:"
MORE_BUTTONS_TEXT = "Lựa chọn khác:"


class ZaloApiError(RuntimeError):
    """The OA API answered with a non-zero `error`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Zalo API error {code}: {message}")
        self.code = code


def signature(app_id: str, raw_body: bytes, timestamp: str, secret_key: str) -> str:
    """The `mac` Zalo puts in `X-ZEvent-Signature` for this body."""
    material = app_id.encode("utf-8") + raw_body + timestamp.encode("utf-8") + secret_key.encode("utf-8")
    return hashlib.sha256(material).hexdigest()


@dataclass
class ZaloConfig:
    """Ids, secrets and endpoints, read from the environment only."""

    app_id: str
    oa_secret_key: str
    access_token: str
    refresh_token: str | None = None
    app_secret: str | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    oauth_base_url: str = DEFAULT_OAUTH_BASE_URL


def verify_event(config: ZaloConfig, headers: Any, raw_body: bytes, now_ms: int | None = None) -> dict[str, Any]:
    """Check signature, app id and age of a webhook call; returns the parsed event.

    The signature is checked on the raw bytes before any JSON parsing. Raises
    `PermissionError` (-> 403) for a forged, stale or future event and `BadRequest`
    (-> 400) for a correctly signed body that is not a JSON object.
    """
    header = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not header.startswith("mac="):
        raise PermissionError("missing signature")
    given = header[4:].strip().lower().encode("ascii", "replace")
    candidates = [m.decode("ascii") for m in _TIMESTAMP_RE.findall(raw_body)[:4]] or [""]
    timestamp = next(
        (t for t in candidates
         if hmac.compare_digest(given, signature(config.app_id, raw_body, t, config.oa_secret_key).encode("ascii"))),
        None,
    )
    if timestamp is None:
        raise PermissionError("bad signature")
    event = parse_json_body(raw_body)
    if str(event.get("timestamp") or "") != timestamp:
        raise PermissionError("signed timestamp is not the event's")
    if str(event.get("app_id") or "") != config.app_id:
        raise PermissionError("event for another app")
    try:
        sent_ms = int(timestamp)
    except ValueError as exc:
        raise PermissionError("bad timestamp") from exc
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if now - sent_ms > MAX_EVENT_AGE_MS:
        raise PermissionError("stale event")
    if sent_ms - now > MAX_CLOCK_SKEW_MS:
        raise PermissionError("event from the future")
    return event


def delivery_id(event: dict[str, Any], raw_body: bytes) -> str:
    """What makes one delivery unique: the message's `msg_id`, else the signed body itself."""
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    msg_id = message.get("msg_id")
    if isinstance(msg_id, (str, int)) and not isinstance(msg_id, bool) and str(msg_id):
        return f"msg:{msg_id}"
    return "body:" + hashlib.sha256(raw_body).hexdigest()


def build_messages(user_id: str, reply: Reply) -> list[dict[str, Any]]:
    """Request bodies for `/v3.0/oa/message/cs` carrying one reply.

    Long text is split at 2000 characters; buttons become a template with
    `oa.query.show` buttons whose payload is the Rasa payload (Zalo sends it
    back as a `user_send_text` event), at most 5 per message.
    """
    text = reply.text or (BUTTONS_ONLY_TEXT if reply.buttons else "")
    if not text:
        return []
    pieces = split_text(text, MAX_TEXT_CHARS)
    groups = [reply.buttons[i : i + MAX_BUTTONS] for i in range(0, len(reply.buttons), MAX_BUTTONS)]
    bodies = [{"recipient": {"user_id": user_id}, "message": {"text": piece}} for piece in pieces]
    for index, group in enumerate(groups):
        if index == 0:
            body = bodies[-1]
        else:
            body = {"recipient": {"user_id": user_id}, "message": {"text": MORE_BUTTONS_TEXT}}
            bodies.append(body)
        body["message"]["attachment"] = {"type": "template", "payload": {"buttons": [_button(b) for b in group]}}
    return bodies


def _button(button: Button) -> dict[str, Any]:
    return {"title": button.title[:100], "type": "oa.query.show", "payload": button.payload}


class ZaloClient:
    """Sends OA messages; refreshes the access token on error -216 (tokens kept in memory)."""

    def __init__(self, config: ZaloConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        self._refresh_lock = asyncio.Lock()

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST one message; on -216 refresh the token once and retry."""
        token_used = self.config.access_token
        try:
            return await self._post_message(body, token_used)
        except ZaloApiError as exc:
            if exc.code != TOKEN_INVALID:
                raise
        await self.refresh_access_token(stale_token=token_used)
        return await self._post_message(body, self.config.access_token)

    async def _post_message(self, body: dict[str, Any], token: str) -> dict[str, Any]:
        answer = await self._client.post(
            f"{self.config.api_base_url.rstrip('/')}/v3.0/oa/message/cs",
            json=body,
            headers={"access_token": token},
        )
        data = _json_or_error(answer)
        code = int(data.get("error") or 0)
        if code != 0:
            raise ZaloApiError(code, str(data.get("message") or ""))
        return data

    async def refresh_access_token(self, stale_token: str | None = None) -> None:
        """Get a new access token with the refresh token (which Zalo rotates: keep the new one)."""
        async with self._refresh_lock:
            if stale_token is not None and self.config.access_token != stale_token:
                return  # another task refreshed it meanwhile
            if not (self.config.refresh_token and self.config.app_secret):
                raise ZaloApiError(TOKEN_INVALID, "access token invalid and ZALO_REFRESH_TOKEN/ZALO_APP_SECRET unset")
            answer = await self._client.post(
                f"{self.config.oauth_base_url.rstrip('/')}/v4/oa/access_token",
                data={
                    "refresh_token": self.config.refresh_token,
                    "app_id": self.config.app_id,
                    "grant_type": "refresh_token",
                },
                headers={"secret_key": self.config.app_secret},
            )
            data = _json_or_error(answer)
            if not data.get("access_token"):
                raise ZaloApiError(int(data.get("error") or -1), "token refresh failed")
            self.config.access_token = str(data["access_token"])
            if data.get("refresh_token"):
                self.config.refresh_token = str(data["refresh_token"])
            logger.warning(
                "zalo: access token refreshed; the new refresh token is kept in memory only, "
                "update ZALO_ACCESS_TOKEN/ZALO_REFRESH_TOKEN before the next restart"
            )

    async def close(self) -> None:
        await self._client.aclose()


def _json_or_error(answer: httpx.Response) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError as exc:
        raise ZaloApiError(-1, f"HTTP {answer.status_code}, body is not JSON") from exc
    if not isinstance(data, dict):
        raise ZaloApiError(-1, f"HTTP {answer.status_code}, unexpected body")
    return data


class ZaloInput(InputChannel):
    """Rasa input channel for a Zalo Official Account; not mounted while its secrets are unset."""

    @classmethod
    def name(cls) -> str:
        return "zalo"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "ZaloInput":
        values = env_values(REQUIRED_ENV + OPTIONAL_ENV)
        missing = [name for name in REQUIRED_ENV if name not in values]
        if missing:
            log_not_mounted(cls.name(), missing)
            return cls(None)
        if not ("ZALO_REFRESH_TOKEN" in values and "ZALO_APP_SECRET" in values):
            logger.warning("zalo: ZALO_REFRESH_TOKEN/ZALO_APP_SECRET unset: an expired access token cannot be renewed")
        return cls(
            ZaloConfig(
                app_id=values["ZALO_APP_ID"],
                oa_secret_key=values["ZALO_OA_SECRET_KEY"],
                access_token=values["ZALO_ACCESS_TOKEN"],
                refresh_token=values.get("ZALO_REFRESH_TOKEN"),
                app_secret=values.get("ZALO_APP_SECRET"),
                api_base_url=values.get("ZALO_API_BASE_URL", DEFAULT_API_BASE_URL),
                oauth_base_url=values.get("ZALO_OAUTH_BASE_URL", DEFAULT_OAUTH_BASE_URL),
            )
        )

    def __init__(self, config: ZaloConfig | None) -> None:
        self.config = config
        self._client: ZaloClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._user_locks: dict[str, asyncio.Lock] = {}

    def client(self) -> ZaloClient:
        """Made on first use inside the server's loop: nothing is called at start-up."""
        assert self.config is not None
        if self._client is None:
            self._client = ZaloClient(self.config)
        return self._client

    async def converse(
        self, user_id: str, text: str, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Run one citizen message through Rasa and send the replies (background task).

        A per-user lock keeps a citizen's replies in the order of their messages.
        """
        sender_id = f"zalo:{user_id}"
        record_contact("zalo", sender_id)  # issue 15: Zalo's 7-day window for dossier notices
        lock = self._user_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            if held_by_officer(sender_id, text, self.name()):
                return  # an officer answers this conversation from the staff console (issue 17)
            try:
                collector = CollectingOutputChannel()
                await on_new_message(
                    UserMessage(text, collector, sender_id, input_channel=self.name(), metadata={"channel": "zalo"})
                )
                for reply in to_replies(collector.messages):
                    for body in build_messages(user_id, reply):
                        await self.client().send(body)
            except (httpx.HTTPError, ZaloApiError) as exc:
                logger.error("zalo: sending the reply failed for %s: %s", describe(sender_id, ""), exc)
            except Exception:  # a background task must never die silently
                logger.exception("zalo: processing failed for %s", describe(sender_id, ""))

    async def send_text(self, user_id: str, text: str) -> None:
        """One plain message from the channel itself (background task)."""
        try:
            for body in build_messages(user_id, Reply(text=text)):
                await self.client().send(body)
        except (httpx.HTTPError, ZaloApiError) as exc:
            logger.error("zalo: sending failed for %s: %s", describe(f"zalo:{user_id}", ""), exc)

    def schedule(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if self.config is None:
            return empty_blueprint(self.name())
        zalo_webhook = bound_request_size(Blueprint("zalo_webhook", __name__))

        @zalo_webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @zalo_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            assert self.config is not None
            oversized = too_large(request)
            if oversized is not None:
                return oversized
            raw = request.body or b""
            try:
                event = verify_event(self.config, request.headers, raw)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            except PermissionError as exc:
                logger.warning("zalo: webhook call rejected: %s", exc)
                return response.json({"error": "forbidden"}, status=403)

            name = str(event.get("event_name") or "")
            if name.startswith("oa_send_"):
                return response.json({"status": "ignored_echo"})
            if not name.startswith("user_send_"):
                logger.info("zalo: event %r ignored", name[:40])
                return response.json({"status": "ignored"})
            sender = event.get("sender") if isinstance(event.get("sender"), dict) else {}
            message = event.get("message") if isinstance(event.get("message"), dict) else {}
            user_id = str(sender.get("id") or "").strip()[:128]
            raw_text = message.get("text") if name == "user_send_text" else None
            text = raw_text.strip() if isinstance(raw_text, str) else ""
            if not user_id or (name == "user_send_text" and not text):
                return response.json({"error": "user_send_* without sender.id or message.text"}, status=400)
            if not seen_deliveries().first_time("zalo", delivery_id(event, raw)):
                logger.info("zalo: event delivered again, answered once")
                return response.json({"status": "duplicate"})
            if name != "user_send_text":  # photo, sticker, voice, file, location...: same answer as Telegram
                self.schedule(self.send_text(user_id, NOT_TEXT_REPLY))
                return response.json({"status": "not_text"})
            logger.info("zalo: message %s", describe(f"zalo:{user_id}", text))
            self.schedule(self.converse(user_id, cut_message(text), on_new_message))
            return response.json({"status": "accepted"})

        @zalo_webhook.listener("after_server_stop")
        async def close_client(app: Any, loop: Any) -> None:
            if self._client is not None:
                await self._client.close()

        return zalo_webhook
