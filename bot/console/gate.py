"""The silence gate: while an officer holds a conversation, the citizen's messages go to the officer, not to Rasa.

Called by every channel before Rasa (bot/channels/common.py: `held_by_officer`). It runs in the Rasa server
(Python 3.10): only the standard library and bot.db (SQLAlchemy 1.4, Rasa's own). One pooled database per
process; each message costs one indexed SELECT and one counter update (messages per channel and day for the
console's charts).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

from bot.db import Database, DatabaseError
from bot.privacy import hash_sender, redact_text

log = logging.getLogger(__name__)

_lock = threading.Lock()
_conn: Database | None = None
_conn_path: str | Path | None = None


def _database() -> Database:
    global _conn, _conn_path
    from bot.settings import get_settings
    from bot.storage import open_database

    path = get_settings().database_target
    if _conn is None or _conn_path != path:
        _conn, _conn_path = open_database(path), path
    return _conn


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def held_handoff(conn: Database, sender_id: str) -> int | None:
    """Id of the handoff an officer holds for this conversation, if any."""
    row = conn.execute(
        "SELECT id FROM handoff_requests WHERE sender_hash = ? AND status = 'taken' ORDER BY id DESC LIMIT 1",
        (hash_sender(sender_id),),
    ).fetchone()
    return int(row[0]) if row else None


def count_message(conn: Database, channel: str) -> None:
    day = dt.datetime.now(dt.timezone.utc).date().isoformat()
    conn.execute(
        "INSERT INTO channel_messages (day, channel, count) VALUES (?, ?, 1)"
        " ON CONFLICT(day, channel) DO UPDATE SET count = channel_messages.count + 1",
        (day, channel),
    )


def intercept(sender_id: str, text: str, channel: str) -> bool:
    """Count the message; True (and the message stored, masked, for the officer) when an officer holds it.

    A database failure never silences the assistant: the message then goes to Rasa as usual.
    """
    try:
        with _lock:
            conn = _database()
            count_message(conn, channel)
            handoff = held_handoff(conn, sender_id)
            if handoff is None:
                return False
            conn.execute(
                "INSERT INTO handoff_messages (handoff_id, created_at, author, text) VALUES (?, ?, 'citizen', ?)",
                (handoff, now_iso(), redact_text(text)[:2000]),
            )
            return True
    except DatabaseError:
        log.exception("console gate: database unavailable; the assistant answers")
        return False


def pending_officer_messages(sender_id: str) -> list[str]:
    """Officer messages not yet shown on a kiosk (marked delivered as they are returned)."""
    with _lock:
        conn = _database()
        rows = conn.execute(
            "SELECT m.id, m.text FROM handoff_messages m JOIN handoff_requests h ON h.id = m.handoff_id"
            " WHERE h.sender_hash = ? AND m.author = 'officer' AND m.delivered_at IS NULL ORDER BY m.id",
            (hash_sender(sender_id),),
        ).fetchall()
        if rows:
            conn.executemany("UPDATE handoff_messages SET delivered_at = ? WHERE id = ?",
                             [(now_iso(), r[0]) for r in rows])
    return [str(r[1]) for r in rows]
