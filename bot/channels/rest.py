"""REST channel `/webhooks/rest/webhook` (tests, other apps), replacing Rasa's built-in one.

Same request and answer as Rasa's (`{"sender", "message"}` -> list of bot messages), but every
request is checked (body size, shapes: 4xx, never a 500 for bad input), the message is cut by the
one length rule of all doors, and the deployment profile decides who may use it:
- development: open, sender ids as given (tests read `/conversations/<sender>/tracker`);
- production: mounted only with `$BOT_REST_TOKEN` (`Authorization: Bearer <token>`), and sender ids
  get the prefix `rest:` so this door can never write into a Telegram, Zalo or kiosk conversation.
"""

from __future__ import annotations

import hmac
import logging
import re
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.common import (
    BadRequest,
    bound_request_size,
    cut_message,
    deployment,
    describe,
    held_by_officer,
    empty_blueprint,
    log_not_mounted,
    parse_json_body,
    too_large,
)
from bot.deployment import REST_TOKEN_ENV, secret

logger = logging.getLogger(__name__)

PRODUCTION_PREFIX = "rest:"
SENDER_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")


def parse_rest_request(raw: bytes | None) -> tuple[str, str]:
    """(sender, message) from the JSON body; `BadRequest` otherwise."""
    data = parse_json_body(raw)
    sender = data.get("sender")
    message = data.get("message")
    if not isinstance(sender, str) or not SENDER_RE.match(sender):
        raise BadRequest("sender must be a string of 1 to 128 printable characters")
    if not isinstance(message, str) or not message.strip():
        raise BadRequest("message must be a non-empty string")
    return sender, cut_message(message)


class RestInput(InputChannel):
    """Rasa input channel `rest`; in production token-protected and namespaced, or not mounted."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "RestInput":
        setup = deployment()
        if not setup.rest_channel:
            logger.warning("Channel 'rest' is not mounted: deployment.rest_channel is false.")
            return cls(mounted=False)
        if not setup.production:
            return cls(mounted=True)
        token = secret(REST_TOKEN_ENV)
        if token is None:
            log_not_mounted(cls.name(), [REST_TOKEN_ENV])
            return cls(mounted=False)
        return cls(mounted=True, token=token, prefix=PRODUCTION_PREFIX)

    def __init__(self, mounted: bool = True, token: str | None = None, prefix: str = "") -> None:
        self.mounted = mounted
        self.token = token
        self.prefix = prefix

    def authorized(self, request: Request) -> bool:
        if self.token is None:
            return True
        given = request.headers.get("Authorization", "")
        expected = f"Bearer {self.token}"
        return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if not self.mounted:
            return empty_blueprint(self.name())
        rest = bound_request_size(Blueprint("custom_rest_webhook", __name__))

        @rest.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.authorized(request):
                return response.json({"error": "unauthorized"}, status=401)
            oversized = too_large(request)
            if oversized is not None:
                return oversized
            try:
                sender, text = parse_rest_request(request.body)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            sender_id = self.prefix + sender
            logger.debug("rest: message %s", describe(sender_id, text))
            if held_by_officer(sender_id, text, self.name()):
                return response.json([])  # an officer answers this conversation (issue 17)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender_id, input_channel=self.name()))
            except Exception:  # logged with its trace; the caller gets no trace
                logger.exception("rest: processing failed for %s", describe(sender_id, ""))
                return response.json({"error": "processing failed"}, status=500)
            return response.json(collector.messages)

        return rest
