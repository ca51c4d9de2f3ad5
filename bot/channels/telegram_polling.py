"""Telegram without a public URL: poll the Bot API and hand each update to the local webhook.

    .venv-rasa/bin/python -m bot.channels.telegram_polling --rasa-url http://127.0.0.1:5005

The Rasa server must run with the Telegram channel mounted (same TELEGRAM_*
variables). Updates go through exactly the same code as in webhook mode:
this runner only fetches them with getUpdates and POSTs them, with the
webhook secret, to `/webhooks/telegram/webhook`. A webhook set on the bot is
removed first, because Telegram refuses getUpdates while one is set.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

import httpx
from telegram import Bot
from telegram.error import TelegramError

from bot.channels.common import env_values
from bot.channels.telegram import DEFAULT_API_BASE_URL, REQUIRED_ENV, SECRET_HEADER

logger = logging.getLogger("bot.channels.telegram_polling")


async def forward(client: httpx.AsyncClient, webhook_url: str, secret: str, update: dict, attempts: int = 3) -> bool:
    """POST one update to the Rasa webhook; retried a few times while Rasa is busy or restarting."""
    for attempt in range(1, attempts + 1):
        try:
            answer = await client.post(webhook_url, json=update, headers={SECRET_HEADER: secret})
            if answer.status_code < 500:
                if answer.status_code != 200:
                    logger.error("webhook answered %s for update %s", answer.status_code, update.get("update_id"))
                return answer.status_code == 200
        except httpx.HTTPError as exc:
            logger.warning("webhook unreachable (%s), attempt %d/%d", exc.__class__.__name__, attempt, attempts)
        await asyncio.sleep(min(2**attempt, 10))
    return False


async def poll(rasa_url: str, once: bool = False, poll_timeout: int = 30) -> int:
    """Poll until stopped (or one round with `once`); returns the number of updates forwarded."""
    values = env_values(REQUIRED_ENV + ("TELEGRAM_API_BASE_URL",))
    missing = [name for name in REQUIRED_ENV if name not in values]
    if missing:
        raise SystemExit(f"telegram-polling: set {', '.join(missing)} (same values as for the Rasa server)")
    bot = Bot(values["TELEGRAM_BOT_TOKEN"], base_url=values.get("TELEGRAM_API_BASE_URL", DEFAULT_API_BASE_URL))
    webhook_url = rasa_url.rstrip("/") + "/webhooks/telegram/webhook"
    forwarded = 0
    offset: int | None = None
    async with bot, httpx.AsyncClient(timeout=httpx.Timeout(120.0)) as client:
        await bot.delete_webhook(drop_pending_updates=False)
        logger.info("polling Telegram, forwarding updates to %s", webhook_url)
        while True:
            try:
                updates = await bot.get_updates(offset=offset, timeout=0 if once else poll_timeout)
            except TelegramError as exc:
                logger.warning("getUpdates failed: %s; retrying", exc.__class__.__name__)
                if once:
                    break
                await asyncio.sleep(5)
                continue
            for update in updates:
                offset = update.update_id + 1
                if await forward(client, webhook_url, values["TELEGRAM_WEBHOOK_SECRET"], update.to_dict()):
                    forwarded += 1
            if once:
                break
        if offset is not None:
            await bot.get_updates(offset=offset, timeout=0)  # confirm the last update to Telegram
    return forwarded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    parser.add_argument("--once", action="store_true", help="fetch and forward one batch of updates, then exit")
    parser.add_argument("--poll-timeout", type=int, default=30, help="long-polling timeout in seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines contain the bot token
    try:
        count = asyncio.run(poll(args.rasa_url, once=args.once, poll_timeout=args.poll_timeout))
    except KeyboardInterrupt:
        return 0
    logger.info("%d update(s) forwarded", count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
