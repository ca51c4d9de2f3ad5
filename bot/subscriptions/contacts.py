"""The citizen's last message per channel, for Zalo's rule: OA messages only within 7 days of it.

Called by the Zalo channel inside the Rasa server (standard library only); a held notice goes out on
the watcher's next tick after the citizen writes again.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from bot.subscriptions.store import SubscriptionStore

logger = logging.getLogger(__name__)
_store: SubscriptionStore | None = None
_lock = threading.Lock()


def record_contact(channel: str, sender_id: str) -> None:
    """Remember that this recipient just wrote; never raises (a reply matters more)."""
    global _store
    try:
        with _lock:
            if _store is None:
                from bot.settings import get_settings

                _store = SubscriptionStore.open(get_settings().database_target)
        _store.touch_contact(channel, sender_id, datetime.now(timezone.utc))
    except Exception:
        logger.exception("subscriptions: could not record the contact")
