"""Kiosk widget channel: the touch-screen page at `/webhooks/kiosk/` and its message endpoint.

The page (`bot/channels/static/`) is plain HTML/CSS/JS served by the Rasa
server itself, so a ward office needs only a full-screen browser pointed at
the URL. Each screen session uses a random conversation id made by the page;
the idle reset and "Bắt đầu lại" switch to a new one, so the next citizen
never sees the previous conversation.

The kiosk has no secret to check (it lives on the ward's network); it can be
limited to given networks with `allowed_networks` in `credentials.yml`, every
request is validated (body size, sender id shape; the message is cut by the one
length rule of all doors), and each client address may send at most
`rate_limit.max_messages` messages per `rate_limit.per_seconds` (429 beyond).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from pathlib import Path
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.common import (
    BadRequest,
    ClientRateLimit,
    Reply,
    bound_request_size,
    cut_message,
    describe,
    held_by_officer,
    is_checklist,
    parse_json_body,
    to_replies,
    too_large,
)
from bot.channels.qr import checklist_qr, qr_svg_data_uri

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"kiosk.css": "text/css; charset=utf-8", "kiosk.js": "text/javascript; charset=utf-8"}
SENDER_RE = re.compile(r"^kiosk-[A-Za-z0-9_-]{8,64}$")
DEFAULT_RATE_LIMIT = {"max_messages": 30, "per_seconds": 60}  # a citizen taps at most every few seconds
PHONE_RESET_SECONDS = 120  # the QR code to continue on a phone stays this long at most
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """What the page draws: text, touch buttons, and for a checklist a QR code."""
    data: dict[str, Any] = {
        "text": reply.text,
        "buttons": [{"title": b.title, "payload": b.payload} for b in reply.buttons],
    }
    if reply.custom and reply.custom.get("kind") == "phone_link" and str(reply.custom.get("url", "")).startswith(
        "https://t.me/"
    ):  # issue 15: continue on a phone; the page watches for the hand-over and then starts afresh
        data["qr"] = {"svg": qr_svg_data_uri(str(reply.custom["url"])), "text": str(reply.custom["url"]),
                      "kind": "phone"}
        data["reset_after"] = PHONE_RESET_SECONDS
    elif is_checklist(reply.custom):
        try:
            data["qr"] = checklist_qr(reply.custom or {})
        except ValueError:
            logger.warning("kiosk: checklist too long for a QR code; shown as text only")
    return data


def parse_kiosk_request(raw: bytes | None) -> tuple[str, str]:
    """(sender, message) from the page's JSON body; `BadRequest` otherwise."""
    data = parse_json_body(raw)
    sender = data.get("sender")
    message = data.get("message")
    if not isinstance(sender, str) or not SENDER_RE.match(sender):
        raise BadRequest("sender must look like 'kiosk-<8 to 64 letters or digits>'")
    if not isinstance(message, str) or not message.strip():
        raise BadRequest("message must be a non-empty string")
    return sender, cut_message(message)


class KioskInput(InputChannel):
    """Rasa input channel serving the kiosk page; always mounted (no secret needed)."""

    @classmethod
    def name(cls) -> str:
        return "kiosk"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "KioskInput":
        networks = (credentials or {}).get("allowed_networks") or []
        if isinstance(networks, str):
            networks = [networks]
        limit = {**DEFAULT_RATE_LIMIT, **((credentials or {}).get("rate_limit") or {})}
        return cls(
            [ipaddress.ip_network(str(n), strict=False) for n in networks],
            ClientRateLimit(int(limit["max_messages"]), float(limit["per_seconds"])),
        )

    def __init__(self, allowed_networks: list[Any] | None = None, rate_limit: ClientRateLimit | None = None) -> None:
        self.allowed_networks = allowed_networks or []
        self.rate_limit = rate_limit or ClientRateLimit(
            DEFAULT_RATE_LIMIT["max_messages"], DEFAULT_RATE_LIMIT["per_seconds"]
        )

    def allowed(self, request: Request) -> bool:
        if not self.allowed_networks:
            return True
        try:
            address = ipaddress.ip_address(request.ip)
        except ValueError:
            return False
        return any(address in network for network in self.allowed_networks)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        kiosk = bound_request_size(Blueprint("kiosk_widget", __name__))

        @kiosk.middleware("request")
        async def only_allowed(request: Request) -> HTTPResponse | None:
            if not self.allowed(request):
                return response.json({"error": "forbidden"}, status=403)
            return None

        @kiosk.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            if not request.path.endswith("/"):  # relative links in the page need the trailing slash
                return response.redirect(request.path + "/")
            return await response.file(
                STATIC_DIR / "index.html", mime_type="text/html; charset=utf-8", headers=SECURITY_HEADERS
            )

        @kiosk.route("/static/<name>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            if name not in STATIC_FILES:
                return response.json({"error": "not found"}, status=404)
            return await response.file(STATIC_DIR / name, mime_type=STATIC_FILES[name], headers=SECURITY_HEADERS)

        @kiosk.route("/handoff", methods=["GET"])
        async def handoff(request: Request) -> HTTPResponse:
            """{"taken": true} once a phone continued this conversation (issue 15): the page resets."""
            sender = request.args.get("sender") or ""
            if not SENDER_RE.match(sender):
                return response.json({"error": "bad sender"}, status=400)
            from bot.settings import get_settings
            from bot.storage import open_database
            from bot.subscriptions.handoff import handed_over

            conn = open_database(get_settings().database_target)
            try:
                return response.json({"taken": handed_over(conn, sender)}, headers={"Cache-Control": "no-store"})
            finally:
                conn.close()

        @kiosk.route("/officer", methods=["GET"])
        async def officer(request: Request) -> HTTPResponse:
            """Messages an officer wrote to this kiosk conversation (issue 17), each returned once."""
            sender = request.args.get("sender") or ""
            if not SENDER_RE.match(sender):
                return response.json({"error": "bad sender"}, status=400)
            from bot.console.gate import pending_officer_messages

            texts = pending_officer_messages(sender)
            return response.json({"messages": texts}, headers={"Cache-Control": "no-store"})

        @kiosk.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            oversized = too_large(request)
            if oversized is not None:
                return oversized
            # the client's address (Sanic uses forwarded headers only when told to trust a proxy)
            wait = self.rate_limit.retry_after(request.remote_addr or request.ip or "?")
            if wait:
                return response.json(
                    {"error": "too many messages"}, status=429, headers={"Retry-After": str(wait)}
                )
            try:
                sender, text = parse_kiosk_request(request.body)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            logger.info("kiosk: message %s", describe(sender, text))
            if held_by_officer(sender, text, self.name()):
                # the officer answers (the page polls /officer); the header keeps the page from saying "no answer"
                return response.json([], headers={"Cache-Control": "no-store", "X-Officer-Holds": "1"})
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender, input_channel=self.name(), metadata={"channel": "kiosk"})
                )
            except Exception:  # the page shows a polite "try again" for any non-200
                logger.exception("kiosk: processing failed for %s", describe(sender, ""))
                return response.json({"error": "processing failed"}, status=500)
            replies = [reply_to_json(r) for r in to_replies(collector.messages)]
            return response.json(replies, headers={"Cache-Control": "no-store"})

        return kiosk
