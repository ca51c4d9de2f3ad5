"""The subscription tables (migration 0004, bot/migrations) behind one small class.

The Rasa server (registry-events webhook, Zalo contacts) uses it too: nothing beyond bot.db.
Times are ISO-8601 UTC strings; every method takes `now` so tests control the clock.
A recipient is known by `hash_sender(sender_id)`; the channel's own id is stored sealed by a cipher.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot.db import Database
from bot.privacy import hash_sender
from bot.storage import open_database

VERIFIED_FOR = timedelta(minutes=30)  # a lookup allows subscribing to that dossier for this long


class Cipher(Protocol):
    def seal(self, recipient: str) -> str: ...

    def open(self, sealed: str) -> str | None: ...


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True)
class Subscription:
    id: int
    dossier_code: str
    channel: str
    recipient_hash: str
    recipient_enc: str
    fingerprint: str | None
    expires_at: str | None


@dataclass(frozen=True)
class PendingNotice:
    id: int
    subscription_id: int
    dossier_code: str
    channel: str
    recipient_hash: str
    recipient_enc: str
    body: str
    attempts: int


class SubscriptionStore:
    """Subscriptions, their outbox, pushed registry events, contacts, verified lookups."""

    def __init__(self, conn: Database) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | Path) -> "SubscriptionStore":
        return cls(open_database(path))

    def close(self) -> None:
        self.conn.close()

    # --- who may subscribe: the dossier this sender verified last --------------------------------------
    def record_verified(self, sender_id: str, code: str, now: datetime) -> None:
        with self._lock:
            self.conn.execute(
                "INSERT INTO verified_lookups (sender_hash, dossier_code, verified_at) VALUES (?, ?, ?)"
                " ON CONFLICT(sender_hash) DO UPDATE SET dossier_code = excluded.dossier_code,"
                " verified_at = excluded.verified_at",
                (hash_sender(sender_id), code, iso(now)),
            )

    def verified_code(self, sender_id: str, now: datetime) -> str | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT dossier_code FROM verified_lookups WHERE sender_hash = ? AND verified_at >= ?",
                (hash_sender(sender_id), iso(now - VERIFIED_FOR)),
            ).fetchone()
        return row[0] if row else None

    # --- subscriptions ----------------------------------------------------------------------------------
    def subscribe(
        self, sender_id: str, channel: str, recipient: str, code: str, fingerprint: str | None,
        now: datetime, cipher: Cipher, expires_at: datetime | None = None,
    ) -> bool:
        """Start following `code`; False when this recipient already follows it."""
        who = hash_sender(sender_id)
        with self._lock, self.conn.transaction():
            self.conn.lock(f"subscriptions:{code}:{who}")
            exists = self.conn.execute(
                "SELECT 1 FROM subscriptions WHERE dossier_code = ? AND recipient_hash = ? AND ended_at IS NULL",
                (code, who),
            ).fetchone()
            if exists is None:
                self.conn.execute(
                    "INSERT INTO subscriptions (dossier_code, channel, recipient_hash, recipient_enc, created_at,"
                    " expires_at, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (code, channel, who, cipher.seal(recipient), iso(now),
                     iso(expires_at) if expires_at else None, fingerprint),
                )
        return exists is None

    def unsubscribe(self, sender_id: str, code: str | None, now: datetime) -> list[str]:
        """End this sender's subscription to `code` (all of them when None); returns the codes ended."""
        who = hash_sender(sender_id)
        query = "SELECT id, dossier_code FROM subscriptions WHERE recipient_hash = ? AND ended_at IS NULL"
        params: tuple = (who,)
        if code is not None:
            query += " AND dossier_code = ?"
            params = (who, code)
        with self._lock:
            rows = self.conn.execute(query, params).fetchall()
            for row in rows:
                self.conn.execute("UPDATE subscriptions SET ended_at = ? WHERE id = ?", (iso(now), row[0]))
        return sorted({row[1] for row in rows})

    def followed_by(self, sender_id: str, now: datetime) -> list[str]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT DISTINCT dossier_code FROM subscriptions WHERE recipient_hash = ? AND ended_at IS NULL"
                " AND (expires_at IS NULL OR expires_at > ?) ORDER BY dossier_code",
                (hash_sender(sender_id), iso(now)),
            ).fetchall()
        return [r[0] for r in rows]

    def active_codes(self, now: datetime) -> list[str]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT DISTINCT dossier_code FROM subscriptions WHERE ended_at IS NULL"
                " AND (expires_at IS NULL OR expires_at > ?) ORDER BY dossier_code",
                (iso(now),),
            ).fetchall()
        return [r[0] for r in rows]

    def active_for_code(self, code: str, now: datetime) -> list[Subscription]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT id, dossier_code, channel, recipient_hash, recipient_enc, fingerprint, expires_at"
                " FROM subscriptions WHERE dossier_code = ? AND ended_at IS NULL"
                " AND (expires_at IS NULL OR expires_at > ?) ORDER BY id",
                (code, iso(now)),
            ).fetchall()
        return [Subscription(*tuple(r)) for r in rows]

    def record_change(
        self, subscription_id: int, fingerprint: str, expires_at: datetime | None, change_key: str | None,
        body: str | None, now: datetime,
    ) -> bool:
        """Keep the dossier's new fingerprint and queue one notice for it; False if that notice exists."""
        with self._lock, self.conn.transaction():
            self.conn.execute(
                "UPDATE subscriptions SET fingerprint = ?, expires_at = ? WHERE id = ?",
                (fingerprint, iso(expires_at) if expires_at else None, subscription_id),
            )
            added = 0
            if change_key is not None and body is not None:
                added = self.conn.execute(
                    "INSERT INTO subscription_notices (subscription_id, change_key, body, created_at,"
                    " next_attempt_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (subscription_id, change_key, body, iso(now), iso(now)),
                ).rowcount
        return bool(added)

    # --- the outbox ---------------------------------------------------------------------------------------
    def due_notices(self, now: datetime, limit: int = 50) -> list[PendingNotice]:
        """Unsent notices whose retry time has come, of subscriptions still active."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT n.id, n.subscription_id, s.dossier_code, s.channel, s.recipient_hash, s.recipient_enc,"
                " n.body, n.attempts FROM subscription_notices n JOIN subscriptions s ON s.id = n.subscription_id"
                " WHERE n.sent_at IS NULL AND n.gave_up_at IS NULL AND n.next_attempt_at <= ?"
                " AND s.ended_at IS NULL ORDER BY n.id LIMIT ?",
                (iso(now), limit),
            ).fetchall()
        return [PendingNotice(*tuple(r)) for r in rows]

    def claim(self, notice_id: int, now: datetime, lease: timedelta = timedelta(minutes=5)) -> bool:
        """Take a due notice for sending; False when another replica's watcher took it first.

        One conditional UPDATE decides; the notice is due again after `lease` if the taker dies before
        `mark_sent` / `mark_failed`.
        """
        with self._lock:
            return bool(self.conn.execute(
                "UPDATE subscription_notices SET next_attempt_at = ? WHERE id = ? AND sent_at IS NULL"
                " AND gave_up_at IS NULL AND next_attempt_at <= ?",
                (iso(now + lease), notice_id, iso(now)),
            ).rowcount)

    def mark_sent(self, notice_id: int, now: datetime) -> None:
        with self._lock:
            self.conn.execute(
                "UPDATE subscription_notices SET sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                (iso(now), notice_id),
            )

    def mark_failed(self, notice_id: int, retry_at: datetime | None, now: datetime) -> None:
        """One more failed attempt; `retry_at` None means give up."""
        with self._lock:
            if retry_at is None:
                self.conn.execute(
                    "UPDATE subscription_notices SET attempts = attempts + 1, gave_up_at = ? WHERE id = ?",
                    (iso(now), notice_id),
                )
            else:
                self.conn.execute(
                    "UPDATE subscription_notices SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?",
                    (iso(retry_at), notice_id),
                )

    def sent_count(self, dossier_code: str | None = None) -> int:
        with self._lock:
            if dossier_code is None:
                row = self.conn.execute("SELECT COUNT(*) FROM subscription_notices WHERE sent_at IS NOT NULL")
            else:
                row = self.conn.execute(
                    "SELECT COUNT(*) FROM subscription_notices n JOIN subscriptions s ON s.id = n.subscription_id"
                    " WHERE n.sent_at IS NOT NULL AND s.dossier_code = ?",
                    (dossier_code,),
                )
            return int(row.fetchone()[0])

    # --- pushed registry events (idempotent by event id) -------------------------------------------------
    def add_event(self, event_id: str, dossier_code: str, now: datetime) -> bool:
        """Record a change announced by the registry; False when this event id was seen before."""
        with self._lock:
            return bool(
                self.conn.execute(
                    "INSERT INTO registry_events (event_id, dossier_code, received_at) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (event_id, dossier_code, iso(now)),
                ).rowcount
            )

    def pending_events(self, limit: int = 100) -> list[tuple[str, str]]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT event_id, dossier_code FROM registry_events WHERE processed_at IS NULL"
                " ORDER BY received_at LIMIT ?",
                (limit,),
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def mark_events_processed(self, event_ids: list[str], now: datetime) -> None:
        with self._lock:
            self.conn.executemany(
                "UPDATE registry_events SET processed_at = ? WHERE event_id = ?", [(iso(now), e) for e in event_ids]
            )

    # --- last contact per recipient (Zalo: messages only within 7 days of it) ------------------------------
    def touch_contact(self, channel: str, sender_id: str, now: datetime) -> None:
        with self._lock:
            self.conn.execute(
                "INSERT INTO recipient_contacts (channel, recipient_hash, last_contact_at) VALUES (?, ?, ?)"
                " ON CONFLICT(channel, recipient_hash) DO UPDATE SET last_contact_at = excluded.last_contact_at",
                (channel, hash_sender(sender_id), iso(now)),
            )

    def last_contact(self, channel: str, recipient_hash: str) -> datetime | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT last_contact_at FROM recipient_contacts WHERE channel = ? AND recipient_hash = ?",
                (channel, recipient_hash),
            ).fetchone()
        return datetime.fromisoformat(row[0]) if row else None
