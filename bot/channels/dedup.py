"""Webhook deliveries already processed (Telegram `update_id`, Zalo `msg_id`), so a redelivery or a
replayed signed event is answered once.

Kept in the project database (migration 0003, `seen_deliveries`) so every Rasa worker process and replica
sees the same record (the primary key decides who was first, across processes); ids are stored hashed.
Falls back to process memory while the database cannot be reached, and tries it again a minute later.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict

from bot.db import Database, DatabaseError

logger = logging.getLogger(__name__)

KEEP_SECONDS = 24 * 3600  # Telegram retries an unanswered update for up to a day
RETRY_DATABASE_SECONDS = 60.0  # a PostgreSQL restart must not leave a replica deduplicating alone for good


class SeenDeliveries:
    """`first_time(channel, delivery_id)` is True once per id within `keep_seconds`."""

    def __init__(self, conn: Database | None, keep_seconds: float = KEEP_SECONDS) -> None:
        self._conn = conn
        self._memory: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self.keep_seconds = keep_seconds
        self._last_prune = 0.0
        self._database_down_until = 0.0

    @staticmethod
    def _key(channel: str, delivery_id: str) -> str:
        return hashlib.sha256(f"{channel}\x00{delivery_id}".encode("utf-8")).hexdigest()[:32]

    def first_time(self, channel: str, delivery_id: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        key = self._key(channel, delivery_id)
        with self._lock:
            if self._conn is not None and time.monotonic() >= self._database_down_until:
                try:
                    return self._first_time_db(channel, key, now)
                except DatabaseError as exc:
                    logger.error("dedup: database unusable (%s); remembering deliveries in memory for a minute", exc)
                    self._database_down_until = time.monotonic() + RETRY_DATABASE_SECONDS
            return self._first_time_memory(f"{channel}:{key}", now)

    def _first_time_db(self, channel: str, key: str, now: float) -> bool:
        assert self._conn is not None
        if now - self._last_prune > 60:
            self._conn.execute("DELETE FROM seen_deliveries WHERE seen_at < ?", (now - self.keep_seconds,))
            self._last_prune = now
        inserted = self._conn.execute(
            "INSERT INTO seen_deliveries (channel, delivery_hash, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (channel, key, now),
        ).rowcount
        return inserted == 1

    def _first_time_memory(self, key: str, now: float) -> bool:
        while self._memory and next(iter(self._memory.values())) < now - self.keep_seconds:
            self._memory.popitem(last=False)
        while len(self._memory) > 100_000:
            self._memory.popitem(last=False)
        if key in self._memory:
            return False
        self._memory[key] = now
        return True


_seen: SeenDeliveries | None = None
_seen_lock = threading.Lock()


def seen_deliveries() -> SeenDeliveries:
    """Process-wide record in the settings' database (opened on first use)."""
    global _seen
    with _seen_lock:
        if _seen is None:
            from bot.settings import get_settings
            from bot.storage import open_database

            try:
                conn: Database | None = open_database(get_settings().database_target)
            except (DatabaseError, OSError) as exc:
                logger.error("dedup: cannot open the database (%s); remembering deliveries in memory", exc)
                conn = None
            _seen = SeenDeliveries(conn)
        return _seen
