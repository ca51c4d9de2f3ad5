"""The live handoff queue: list, take, reply (delivered on the citizen's own channel), hand back.

Replies go out through the subscriptions' senders (Telegram Bot API, Zalo OA); a kiosk polls its officer
messages (bot/channels/kiosk.py `/officer`). Delivery failures are kept on the message and shown to the officer.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

from bot.db import Database, Row
from bot.privacy import redact_text
from bot.subscriptions.protect import RecipientCipher
from bot.subscriptions.senders import SendFailed, Sender

log = logging.getLogger(__name__)

HANDED_BACK = "Dạ, cán bộ đã kết thúc trao đổi. Trợ lý tiếp tục hỗ trợ anh/chị: anh/chị cứ nhắn câu hỏi ạ."


class QueueError(ValueError):
    """The action does not fit the handoff's state (taken by someone else, already closed...)."""


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Handoff:
    id: int
    created_at: str
    channel: str
    procedure_code: str | None
    step: str | None
    status: str
    officer: str | None
    transcript: list[dict[str, str]]


def _handoff(row: Row, messages: list[Row]) -> Handoff:
    try:
        earlier = json.loads(row["last_messages"] or "[]")
    except ValueError:
        earlier = []
    lines = [{"from": "citizen" if m.get("from") == "user" else "bot", "text": redact_text(str(m.get("text", "")))}
             for m in earlier]
    lines += [{"from": m["author"], "text": redact_text(m["text"]), "at": m["created_at"],
               "error": m["error"] or ""} for m in messages]
    return Handoff(row["id"], row["created_at"], row["channel"] or "?", row["procedure_code"], row["step"],
                   row["status"], row["officer"], lines)


def open_handoffs(conn: Database) -> list[Handoff]:
    rows = conn.execute("SELECT * FROM handoff_requests WHERE status IN ('open', 'taken') ORDER BY id").fetchall()
    return [_handoff(r, []) for r in rows]


def get_handoff(conn: Database, handoff_id: int) -> Handoff | None:
    row = conn.execute("SELECT * FROM handoff_requests WHERE id = ?", (handoff_id,)).fetchone()
    if row is None:
        return None
    messages = conn.execute("SELECT * FROM handoff_messages WHERE handoff_id = ? ORDER BY id", (handoff_id,)).fetchall()
    return _handoff(row, messages)


def take(conn: Database, handoff_id: int, officer: str) -> None:
    """The officer holds the conversation: from now on the assistant stays silent in it."""
    done = conn.execute(
        "UPDATE handoff_requests SET status = 'taken', officer = ?, taken_at = ? WHERE id = ? AND status = 'open'",
        (officer, now_iso(), handoff_id)).rowcount
    if not done:
        raise QueueError("Yêu cầu này đã có cán bộ khác nhận hoặc đã đóng.")
    # one conversation, one holder: older open requests of the same citizen close with it
    conn.execute("UPDATE handoff_requests SET status = 'merged', closed_at = ? WHERE status = 'open' AND sender_hash ="
                 " (SELECT sender_hash FROM handoff_requests WHERE id = ?)", (now_iso(), handoff_id))


def _recipient(row: Row, cipher: RecipientCipher) -> str | None:
    sealed = row["recipient_enc"]
    return cipher.open(sealed) if sealed else None


def deliver(conn: Database, handoff_id: int, text: str, officer: str, cipher: RecipientCipher,
            senders: dict[str, Sender], author: str = "officer") -> str:
    """Store the officer's message and send it on the citizen's channel; returns '' or the error shown."""
    row = conn.execute("SELECT * FROM handoff_requests WHERE id = ?", (handoff_id,)).fetchone()
    if row is None or row["status"] != "taken" or (author == "officer" and row["officer"] != officer):
        raise QueueError("Anh/chị cần nhận yêu cầu này trước khi trả lời.")
    channel = row["channel"] or ""
    recipient = _recipient(row, cipher)
    error = ""
    delivered: str | None = None
    if channel == "kiosk":
        pass  # the kiosk page fetches it (bot/channels/kiosk.py /officer) and marks it delivered
    elif recipient is None:
        error = "không có địa chỉ người dân (khóa mã hóa đã đổi?)"
    elif channel in senders and ":" in recipient:
        try:
            senders[channel].send(recipient.split(":", 1)[1], text, [])
            delivered = now_iso()
        except SendFailed as exc:
            error = str(exc)
    else:
        error = f"kênh {channel or '?'} chưa gửi được từ bảng điều khiển"
    conn.execute(
        "INSERT INTO handoff_messages (handoff_id, created_at, author, text, delivered_at, error)"
        " VALUES (?, ?, ?, ?, ?, ?)", (handoff_id, now_iso(), author, text, delivered, error or None))
    if error:
        log.warning("console: reply to handoff %s not delivered: %s", handoff_id, error)
    return error


def hand_back(conn: Database, handoff_id: int, officer: str, cipher: RecipientCipher,
              senders: dict[str, Sender]) -> str:
    """Tell the citizen, then close: the assistant answers the next message."""
    error = deliver(conn, handoff_id, HANDED_BACK, officer, cipher, senders, author="officer")
    conn.execute("UPDATE handoff_requests SET status = 'closed', closed_at = ? WHERE id = ?", (now_iso(), handoff_id))
    return error


def summary(conn: Database) -> dict[str, Any]:
    row = conn.execute("SELECT SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END),"
                       " SUM(CASE WHEN status = 'taken' THEN 1 ELSE 0 END) FROM handoff_requests").fetchone()
    return {"open": int(row[0] or 0), "taken": int(row[1] or 0)}
