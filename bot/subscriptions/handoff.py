"""Continue on a phone: a one-time token (10 minutes) that carries a kiosk walk to Telegram.

The kiosk shows `https://t.me/<bot>?start=<token>` as a QR code; Telegram sends `/start <token>` from the
phone and the walk (procedure, channel, case answers, step) continues there. Only a hash of the token is
stored; a token works once (one conditional UPDATE decides, across replicas).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from datetime import datetime, timedelta
from typing import Any

from bot.db import Database
from bot.privacy import hash_sender
from bot.subscriptions.store import iso

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # Telegram deep-link payload alphabet, ≤ 64 characters
_lock = threading.Lock()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(conn: Database, kiosk_sender: str, state: dict[str, Any], now: datetime,
                 minutes: int = 10) -> str:
    """Store the walk under a fresh token; returns the token (shown once, in the QR code)."""
    token = secrets.token_urlsafe(18)  # 24 characters of [A-Za-z0-9_-]
    with _lock:
        conn.execute(
            "INSERT INTO phone_handoffs (token_hash, state, kiosk_sender_hash, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (_digest(token), json.dumps(state, ensure_ascii=False), hash_sender(kiosk_sender), iso(now),
             iso(now + timedelta(minutes=minutes))),
        )
    return token


def redeem_token(conn: Database, token: str, now: datetime) -> dict[str, Any] | None:
    """The walk stored under `token`, once; None for an unknown, expired or used token."""
    if not TOKEN_RE.match(token or ""):
        return None
    with _lock:
        used = conn.execute(
            "UPDATE phone_handoffs SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
            (iso(now), _digest(token), iso(now)),
        ).rowcount
        if not used:
            return None
        row = conn.execute("SELECT state FROM phone_handoffs WHERE token_hash = ?", (_digest(token),)).fetchone()
    return json.loads(row[0])


def handed_over(conn: Database, kiosk_sender: str) -> bool:
    """True once a phone took over this kiosk conversation (the kiosk page then starts afresh)."""
    with _lock:
        row = conn.execute(
            "SELECT 1 FROM phone_handoffs WHERE kiosk_sender_hash = ? AND used_at IS NOT NULL LIMIT 1",
            (hash_sender(kiosk_sender),),
        ).fetchone()
    return row is not None


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={token}"
