"""Reply objects of the guidance walk, independent of Rasa.

A `Reply` is what one bot message needs on every channel: short text, buttons whose
payloads are Rasa intent payloads (so REST, Telegram, Zalo and the kiosk all send
them back unchanged), and an optional `custom` payload (the kiosk's checklist QR).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Longest text of one message: long answers are split, never cut mid-fact.
MAX_MESSAGE_CHARS = 600


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass
class Reply:
    text: str
    buttons: list[Button] = field(default_factory=list)
    custom: dict[str, Any] | None = None


def payload(intent: str, **entities: str) -> str:
    """`/intent{"entity":"value"}`: a Rasa payload that skips NLU on every channel."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}" + json.dumps(entities, ensure_ascii=False, separators=(",", ":"))


def shorten(text: str, limit: int) -> str:
    """Trim `text` to `limit` characters at a word boundary, marking the cut with '…'."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"


def pack_lines(lines: list[str], limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Group lines into as few messages as possible, each at most `limit` characters.

    A single line longer than `limit` is shortened (it only happens for very long catalogue text).
    """
    messages: list[str] = []
    current = ""
    for line in lines:
        line = line if len(line) <= limit else shorten(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = line
    if current:
        messages.append(current)
    return messages
