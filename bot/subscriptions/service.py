"""Process-wide pieces for the actions and the watcher, built from settings on first use."""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from typing import Mapping

from bot.settings import Settings, get_settings
from bot.subscriptions.config import SubscriptionsConfig, load_subscriptions_config
from bot.subscriptions.protect import RecipientCipher, load_key
from bot.subscriptions.store import SubscriptionStore

logger = logging.getLogger(__name__)

# "off" in all action-server replicas but one: each running watcher would send the same due notice (deploy/)
WATCHER_ENV = "BOT_SUBSCRIPTIONS_WATCHER"


def watcher_enabled_here(environ: Mapping[str, str] | None = None) -> bool:
    """False when $BOT_SUBSCRIPTIONS_WATCHER says off/false/0/no for this process."""
    value = ((os.environ if environ is None else environ).get(WATCHER_ENV) or "").strip().lower()
    return value not in {"off", "false", "0", "no"}


@dataclass
class Subscriptions:
    config: SubscriptionsConfig
    store: SubscriptionStore
    cipher: RecipientCipher


def build_subscriptions(settings: Settings) -> Subscriptions:
    config = load_subscriptions_config(settings)
    return Subscriptions(config, SubscriptionStore.open(settings.database_target), RecipientCipher(load_key(config.key_file)))


_built: Subscriptions | None = None
_lock = threading.Lock()


def get_subscriptions() -> Subscriptions:
    global _built
    with _lock:
        if _built is None:
            _built = build_subscriptions(get_settings())
        return _built


def start_watcher_in_action_server() -> bool:
    """Start the watcher thread when this process is the action server (`python -m rasa_sdk`).

    Imported modules of tests and tools never start it. Returns True when started.
    """
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is None or not str(spec.name).startswith("rasa_sdk"):
        return False
    from bot.cases.service import get_case_service
    from bot.subscriptions.senders import senders_from_env
    from bot.subscriptions.watcher import Watcher

    if not watcher_enabled_here():
        logger.info("subscriptions: watcher off in this process ($%s); another replica sends the notices", WATCHER_ENV)
        return False
    subs = get_subscriptions()
    if not subs.config.watcher:
        logger.info("subscriptions: watcher off (settings.yml subscriptions.watcher)")
        return False
    Watcher(subs.config, subs.store, get_case_service().registry, subs.cipher, senders_from_env()).start()
    return True
