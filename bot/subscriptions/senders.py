"""Small clients that push a notice to Telegram (Bot API sendMessage) or Zalo OA (/v3.0/oa/message/cs).

They read the same environment variables as the channels (TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL,
ZALO_ACCESS_TOKEN, ZALO_API_BASE_URL), so tests point them at the same local stubs. They run in the
action server, outside Rasa, hence their own few lines of httpx rather than the channels' clients.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

TELEGRAM_DEFAULT = "https://api.telegram.org/bot"
ZALO_DEFAULT = "https://openapi.zalo.me"


class SendFailed(RuntimeError):
    """The channel did not take the message (retried later with back-off)."""


class Sender(Protocol):
    def send(self, recipient: str, text: str, buttons: list[dict[str, str]]) -> None: ...


@dataclass
class TelegramSender:
    token: str
    base_url: str = TELEGRAM_DEFAULT
    timeout: float = 10.0

    def send(self, recipient: str, text: str, buttons: list[dict[str, str]]) -> None:
        body: dict[str, Any] = {"chat_id": int(recipient) if recipient.lstrip("-").isdigit() else recipient,
                                "text": text}
        if buttons:
            body["reply_markup"] = {
                "inline_keyboard": [[{"text": b["title"][:64], "callback_data": b["payload"]}] for b in buttons]
            }
        try:
            answer = httpx.post(f"{self.base_url}{self.token}/sendMessage", json=body, timeout=self.timeout)
            ok = answer.status_code == 200 and answer.json().get("ok") is True
        except (httpx.HTTPError, ValueError) as exc:
            raise SendFailed(f"telegram: {exc.__class__.__name__}") from None
        if not ok:
            raise SendFailed(f"telegram: HTTP {answer.status_code}")


@dataclass
class ZaloSender:
    access_token: str
    base_url: str = ZALO_DEFAULT
    timeout: float = 10.0

    def send(self, recipient: str, text: str, buttons: list[dict[str, str]]) -> None:
        message: dict[str, Any] = {"text": text}
        if buttons:
            message["attachment"] = {"type": "template", "payload": {"buttons": [
                {"title": b["title"][:100], "type": "oa.query.show", "payload": b["payload"]} for b in buttons[:5]
            ]}}
        try:
            answer = httpx.post(
                f"{self.base_url}/v3.0/oa/message/cs",
                json={"recipient": {"user_id": recipient}, "message": message},
                headers={"access_token": self.access_token},
                timeout=self.timeout,
            )
            error = answer.json().get("error") if answer.status_code == 200 else answer.status_code
        except (httpx.HTTPError, ValueError) as exc:
            raise SendFailed(f"zalo: {exc.__class__.__name__}") from None
        if error != 0:
            raise SendFailed(f"zalo: error {error}")


def senders_from_env(environ: dict[str, str] | None = None) -> dict[str, Sender]:
    """One sender per channel whose credentials are set."""
    env = os.environ if environ is None else environ
    found: dict[str, Sender] = {}
    if (env.get("TELEGRAM_BOT_TOKEN") or "").strip():
        found["telegram"] = TelegramSender(env["TELEGRAM_BOT_TOKEN"].strip(),
                                           (env.get("TELEGRAM_API_BASE_URL") or TELEGRAM_DEFAULT).strip())
    if (env.get("ZALO_ACCESS_TOKEN") or "").strip():
        found["zalo"] = ZaloSender(env["ZALO_ACCESS_TOKEN"].strip(),
                                   (env.get("ZALO_API_BASE_URL") or ZALO_DEFAULT).strip().rstrip("/"))
    return found
