"""The notice a subscriber gets when a dossier moves, and how a change is recognised.

A change is a new status or a new timeline entry (or a new appointment date): the dossier's
fingerprint. The notice is masked like the status reply (initials only, never phone / ID digits).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from bot.cases.models import Dossier
from bot.cases.replies import STATUS_LABELS, next_step_text

MAX_CHARS = 600
TELEGRAM_CALLBACK_BYTES = 64


def fingerprint(dossier: Dossier) -> str:
    """What a subscriber is told about when it changes: status, timeline, appointment date."""
    last = dossier.events[-1] if dossier.events else None
    parts = [
        dossier.status.value,
        str(len(dossier.events)),
        last.at.isoformat() if last else "",
        (last.note or "") if last else "",
        dossier.due_at.isoformat() if dossier.due_at else "",
    ]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:24]


def expiry(dossier: Dossier, now: datetime, keep_days: int) -> datetime | None:
    """Completion + `keep_days` for a finished dossier; None (no end yet) while it is being handled."""
    if not dossier.status.finished:
        return None
    done = [e.at for e in dossier.events if e.status is dossier.status]
    return (done[-1] if done else now) + timedelta(days=keep_days)


def unsubscribe_payload(code: str) -> str:
    payload = '/unsubscribe_case{"dossier_code":"%s"}' % code
    # Telegram carries at most 64 bytes in a button; without the code the bot asks which dossier
    return payload if len(payload.encode("utf-8")) <= TELEGRAM_CALLBACK_BYTES else "/unsubscribe_case"


def notice_body(dossier: Dossier, now: datetime) -> str:
    """JSON {text, buttons} of the notice, stored in the outbox and sent as is."""
    lines = [
        f"Hồ sơ {dossier.code} vừa có cập nhật.",
        f"Tình trạng mới: {STATUS_LABELS[dossier.status]}",
    ]
    last = dossier.events[-1] if dossier.events else None
    if last is not None and last.note:
        lines.append(f"Ghi chú: {last.note[:150]}")
    if dossier.due_at is not None and not dossier.status.finished:
        lines.append(f"Hẹn trả: {dossier.due_at:%d/%m/%Y}")
    lines.append(f"Việc cần làm: {next_step_text(dossier, now)}")
    text = "\n".join(lines)
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 1] + "…"
    buttons = [
        {"title": "Xem chi tiết hồ sơ", "payload": "/check_status"},
        {"title": "Hủy theo dõi", "payload": unsubscribe_payload(dossier.code)},
    ]
    return json.dumps({"text": text, "buttons": buttons}, ensure_ascii=False)
