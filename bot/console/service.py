"""Build the console's configuration from settings and the environment, and serve it."""

from __future__ import annotations

import os
from pathlib import Path

from bot.console.app import ConsoleConfig, create_app

DEFAULT_PORT = 5077
SECURE_ENV = "CONSOLE_SECURE_COOKIES"  # "1" behind an https reverse proxy that does not pass the scheme


def config_from_settings() -> ConsoleConfig:
    from bot.settings import get_settings
    from bot.subscriptions.config import load_subscriptions_config
    from bot.subscriptions.protect import RecipientCipher, load_key
    from bot.subscriptions.senders import senders_from_env

    settings = get_settings()
    catalog = settings.catalog or (Path(os.environ["TTHC_CATALOG"]) if os.environ.get("TTHC_CATALOG") else None)
    key = load_key(load_subscriptions_config(settings).key_file)
    return ConsoleConfig(
        database=settings.database_target,
        knowledge_dir=Path(settings.knowledge_dir),
        catalog=catalog,
        cipher=RecipientCipher(key),
        senders=senders_from_env(),
        secure_cookies=os.environ.get(SECURE_ENV, "") == "1",
    )


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # Bot API URLs carry the token
    app = create_app(config_from_settings())
    app.run(host=host, port=port, single_process=True, access_log=False, motd=False)
