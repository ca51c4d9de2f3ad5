"""Telegram channel: webhook `/webhooks/telegram/webhook`, replies through the Bot API.

Replaces Rasa's built-in Telegram connector, which calls Telegram at start-up
(setWebhook) and therefore cannot run offline or in tests. Here nothing talks
to Telegram before the first update arrives, and the Bot API base URL comes
from `TELEGRAM_API_BASE_URL` so tests point it at a local stub.

Security: every request must carry `X-Telegram-Bot-Api-Secret-Token` equal to
`TELEGRAM_WEBHOOK_SECRET` (the `secret_token` given to setWebhook); anything
else is answered 403 before the body is read. Bodies over the size limit get 413,
an `update_id` already processed (Telegram redelivers) is answered once, and a
message is cut by the one length rule of all doors.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from bot.channels.common import (
    NOT_TEXT_REPLY,
    BadRequest,
    Reply,
    bound_request_size,
    cut_message,
    describe,
    empty_blueprint,
    held_by_officer,
    env_values,
    log_not_mounted,
    parse_json_body,
    split_text,
    to_replies,
    too_large,
)
from bot.channels.dedup import seen_deliveries

logger = logging.getLogger(__name__)

REQUIRED_ENV = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_MESSAGE_CHARS = 4096  # Bot API limit for one text message
MAX_CALLBACK_BYTES = 64  # Bot API limit for an inline button's callback_data

HELP_TEXT = (
    "Tôi là trợ lý thủ tục hành chính, giúp anh/chị chuẩn bị hồ sơ.\n"
    "• Gõ việc cần làm, ví dụ: «làm giấy khai sinh cho con».\n"
    "• Gõ /tracuu <mã hồ sơ> để tra cứu tình trạng hồ sơ.\n"
    "• Gõ /start để bắt đầu lại."
)
EXPIRED_BUTTON_REPLY = "Dạ, nút này đã hết hạn. Anh/chị vui lòng gõ lại câu hỏi giúp tôi ạ."
BUTTONS_ONLY_TEXT = "Anh/chị chọn một mục bên dưới ạ:"

# Telegram commands -> what Rasa receives. `{args}` is the text after the command.
DEFAULT_COMMANDS: dict[str, str] = {
    "start": "/greet",
    "tracuu": '/check_status{{"dossier_code": {args_json}}}',
}


class PayloadStore:
    """Maps payloads longer than Telegram's 64-byte callback_data to short keys.

    In memory and bounded: after a restart an old long button answers with a
    polite "expired" message instead of doing something wrong.
    """

    def __init__(self, capacity: int = 5000) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    def to_callback_data(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES and not payload.startswith("~"):
            return payload
        key = "~" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]
        self._items[key] = payload
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
        return key

    def resolve(self, data: str) -> str | None:
        if not data.startswith("~"):
            return data
        return self._items.get(data)


@dataclass
class TelegramConfig:
    """What the channel needs; secrets come from the environment only."""

    token: str
    webhook_secret: str
    api_base_url: str = DEFAULT_API_BASE_URL
    commands: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COMMANDS))


def command_to_message(text: str, commands: dict[str, str]) -> str | None:
    """'/tracuu HS-123' -> the Rasa message for that command; None when `text` is no known command.

    `/help` is answered by the channel itself, so it is not in `commands`.
    """
    if not text.startswith("/"):
        return None
    head, _, args = text.strip().partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    template = commands.get(name)
    if template is None:
        return None
    args = args.strip()
    if "{args" not in template:
        return template  # a fixed message, possibly with literal braces: not a format string
    if "{args_json}" in template and not args:
        # no argument: ask the dialogue to start the lookup (it asks for the code)
        return template.split("{{", 1)[0] if "{{" in template else template.replace("{args_json}", "")
    return template.format(args=args, args_json=json.dumps(args, ensure_ascii=False))


def start_token_message(text: str) -> str | None:
    """'/start <token>' from a kiosk QR code (issue 15) -> the intent that continues the kiosk walk."""
    head, _, token = text.strip().partition(" ")
    if head.split("@", 1)[0].lower() != "/start" or not token.strip():
        return None
    return '/resume_from_kiosk{"start_token": %s}' % json.dumps(token.strip()[:64])


def keyboard(buttons: list[Any], store: PayloadStore) -> InlineKeyboardMarkup | None:
    """One button per row: Vietnamese titles are long and must stay readable."""
    if not buttons:
        return None
    rows = [
        [InlineKeyboardButton(text=b.title[:64], callback_data=store.to_callback_data(b.payload))]
        for b in buttons
    ]
    return InlineKeyboardMarkup(rows)


async def send_replies(bot: Bot, chat_id: int | str, replies: list[Reply], store: PayloadStore) -> int:
    """Send replies as Telegram messages; returns how many Bot API messages went out.

    Long texts are split at 4096 characters; the inline keyboard rides on the
    last piece. The checklist `custom` payload is for the kiosk and ignored.
    """
    sent = 0
    for reply in replies:
        text = reply.text or (BUTTONS_ONLY_TEXT if reply.buttons else "")
        if not text:
            continue
        pieces = split_text(text, MAX_MESSAGE_CHARS)
        for index, piece in enumerate(pieces):
            markup = keyboard(reply.buttons, store) if index == len(pieces) - 1 else None
            await bot.send_message(chat_id=chat_id, text=piece, reply_markup=markup)
            sent += 1
    return sent


class TelegramInput(InputChannel):
    """Rasa input channel for Telegram; not mounted while its secrets are unset."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "TelegramInput":
        """Secrets from the environment; `credentials.yml` may only override `commands`."""
        values = env_values(REQUIRED_ENV + ("TELEGRAM_API_BASE_URL",))
        missing = [name for name in REQUIRED_ENV if name not in values]
        if missing:
            log_not_mounted(cls.name(), missing)
            return cls(None)
        commands = dict(DEFAULT_COMMANDS)
        commands.update({str(k).lower(): str(v) for k, v in ((credentials or {}).get("commands") or {}).items()})
        return cls(
            TelegramConfig(
                token=values["TELEGRAM_BOT_TOKEN"],
                webhook_secret=values["TELEGRAM_WEBHOOK_SECRET"],
                api_base_url=values.get("TELEGRAM_API_BASE_URL", DEFAULT_API_BASE_URL),
                commands=commands,
            )
        )

    def __init__(self, config: TelegramConfig | None) -> None:
        self.config = config
        self.payloads = PayloadStore()
        self._bot: Bot | None = None

    @property
    def mounted(self) -> bool:
        return self.config is not None

    def bot(self) -> Bot:
        """The Bot API client, made on first use inside the server's event loop (no start-up call)."""
        assert self.config is not None
        if self._bot is None:
            self._bot = Bot(
                token=self.config.token,
                base_url=self.config.api_base_url,
                request=HTTPXRequest(connection_pool_size=16),
            )
        return self._bot

    def authorized(self, request: Request) -> bool:
        assert self.config is not None
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode("utf-8"), self.config.webhook_secret.encode("utf-8"))

    async def handle_update(
        self, data: dict[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> str:
        """Process one parsed update; returns what was done (for the HTTP answer and tests)."""
        assert self.config is not None
        bot = self.bot()
        try:
            update = Update.de_json(data, bot)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # wrong shapes anywhere inside: 400
            raise BadRequest(f"not a Telegram update: {exc.__class__.__name__}") from exc
        if update is None:
            raise BadRequest("not a Telegram update")

        if update.callback_query is not None:
            query = update.callback_query
            try:
                await bot.answer_callback_query(query.id)
            except TelegramError as exc:
                logger.warning("telegram: answerCallbackQuery failed: %s", exc.__class__.__name__)
            chat_id = query.message.chat.id if query.message is not None else query.from_user.id
            payload = self.payloads.resolve(query.data or "")
            if payload is None:
                await bot.send_message(chat_id=chat_id, text=EXPIRED_BUTTON_REPLY)
                return "expired_button"
            await self._converse(chat_id, payload, on_new_message)
            return "callback"

        message = update.message
        if message is None:
            return "ignored"
        chat_id = message.chat.id
        if not message.text:
            await bot.send_message(chat_id=chat_id, text=NOT_TEXT_REPLY)
            return "not_text"
        text = message.text.strip()
        if text.split(" ", 1)[0].split("@", 1)[0].lower() == "/help":
            await bot.send_message(chat_id=chat_id, text=HELP_TEXT)
            return "help"
        command = start_token_message(text) or command_to_message(text, self.config.commands)
        await self._converse(chat_id, command if command is not None else cut_message(text), on_new_message)
        return "command" if command is not None else "message"

    async def _converse(
        self, chat_id: int | str, text: str, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        sender_id = f"telegram:{chat_id}"
        logger.info("telegram: message %s", describe(sender_id, text))
        if held_by_officer(sender_id, text, self.name()):
            return  # an officer answers this conversation from the staff console
        typing = asyncio.ensure_future(self._show_typing(chat_id))  # while a search may take a moment
        collector = CollectingOutputChannel()
        await on_new_message(
            UserMessage(text, collector, sender_id, input_channel=self.name(), metadata={"channel": "telegram"})
        )
        await typing
        sent = await send_replies(self.bot(), chat_id, to_replies(collector.messages), self.payloads)
        logger.debug("telegram: %d message(s) sent to %s", sent, describe(sender_id, ""))

    async def _show_typing(self, chat_id: int | str) -> None:
        """Best effort 'typing…' indicator; a failure here must not stop the answer."""
        try:
            await self.bot().send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)
        except TelegramError as exc:
            logger.debug("telegram: sendChatAction failed: %s", exc.__class__.__name__)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        if not self.mounted:
            return empty_blueprint(self.name())
        # httpx logs each request URL at INFO, and Bot API URLs contain the bot token.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        telegram_webhook = bound_request_size(Blueprint("telegram_webhook", __name__))

        @telegram_webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.authorized(request):
                logger.warning("telegram: request with a wrong or missing secret token rejected")
                return response.json({"error": "forbidden"}, status=403)
            oversized = too_large(request)
            if oversized is not None:
                return oversized
            try:
                data = parse_json_body(request.body)
                update_id = data.get("update_id")
                if isinstance(update_id, int) and not isinstance(update_id, bool):
                    if not seen_deliveries().first_time("telegram", str(update_id)):
                        logger.info("telegram: update delivered again, answered once")
                        return response.json({"status": "duplicate"})
                outcome = await self.handle_update(data, on_new_message)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            except TelegramError as exc:
                # Answer 200 anyway: a non-2xx makes Telegram resend the same update again and again.
                logger.error("telegram: Bot API call failed: %s", exc.__class__.__name__)
                outcome = "send_failed"
            except Exception:  # same reason: log it, do not make Telegram retry a poisoned update
                logger.exception("telegram: processing an update failed")
                outcome = "failed"
            return response.json({"status": outcome})

        return telegram_webhook
