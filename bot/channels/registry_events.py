"""`POST /webhooks/registry/events`: the one-stop-shop system announces that a dossier changed.

Not a conversation channel: it records the event for the subscription watcher (bot/subscriptions), which
reads the dossier again from the registry and notifies its followers. Mounted from credentials.yml;
closed while `$REGISTRY_EVENTS_SECRET` is unset.

Request: JSON `{"event_id": "...", "dossier_code": "...", ...}` (other fields are ignored: the registry
is the source of truth), header `X-Registry-Signature: sha256=<hex HMAC-SHA256 of the raw body with the
shared secret>`. Answers: 401 bad or missing signature, 400 malformed body, 202 accepted, 200 duplicate
(same event id again: nothing more happens).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.common import BadRequest, empty_blueprint, env_values, log_not_mounted, parse_json_body
from bot.subscriptions.signing import signature_ok

logger = logging.getLogger(__name__)

SECRET_ENV = "REGISTRY_EVENTS_SECRET"
SIGNATURE_HEADER = "X-Registry-Signature"
MAX_BODY_BYTES = 16 * 1024
EVENT_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
CODE_RE = re.compile(r"^[A-Za-z0-9.\-]{4,64}$")


def parse_event(raw_body: bytes) -> tuple[str, str]:
    """(event id, dossier code, upper-cased) or `BadRequest`."""
    data = parse_json_body(raw_body)
    event_id = data.get("event_id")
    code = data.get("dossier_code")
    if not isinstance(event_id, str) or not EVENT_ID_RE.match(event_id):
        raise BadRequest("event_id must be 1-128 letters, digits or ._:-")
    if not isinstance(code, str) or not CODE_RE.match(code.strip()):
        raise BadRequest("dossier_code missing or malformed")
    return event_id, code.strip().upper()


class RegistryEventsInput(InputChannel):
    """Receives signed change events from the dossier registry."""

    @classmethod
    def name(cls) -> str:
        return "registry"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "RegistryEventsInput":
        values = env_values((SECRET_ENV,))
        if SECRET_ENV not in values:
            log_not_mounted(cls.name(), [SECRET_ENV])
            return cls(None)
        return cls(values[SECRET_ENV])

    def __init__(self, secret: str | None) -> None:
        self.secret = secret
        self._store = None

    def store(self):
        """The subscription store on the project database (opened on first event)."""
        if self._store is None:
            from bot.settings import get_settings
            from bot.subscriptions.store import SubscriptionStore

            self._store = SubscriptionStore.open(get_settings().database_target)
        return self._store

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if self.secret is None:
            return empty_blueprint(self.name())
        registry = Blueprint("registry_events", __name__)

        @registry.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @registry.route("/events", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            raw = request.body or b""
            if len(raw) > MAX_BODY_BYTES:
                return response.json({"error": "body too large"}, status=413)
            if not signature_ok(self.secret or "", raw, request.headers.get(SIGNATURE_HEADER)):
                logger.warning("registry events: bad or missing signature, rejected")
                return response.json({"error": "bad signature"}, status=401)
            try:
                event_id, code = parse_event(raw)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            new = self.store().add_event(event_id, code, datetime.now(timezone.utc))
            logger.info("registry events: %s for %s %s", event_id, code, "accepted" if new else "duplicate")
            if not new:
                return response.json({"status": "duplicate"})
            return response.json({"status": "accepted"}, status=202)

        return registry
