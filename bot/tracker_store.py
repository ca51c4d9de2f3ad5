"""A Rasa tracker store that keeps no verification digits and no full phone / ID numbers.

Runs inside the Rasa server (Python 3.10): configured in endpoints.yml as
`tracker_store: {type: bot.tracker_store.RedactingTrackerStore}`.

The dossier-status form never puts the verification digits in a slot, but Rasa also keeps every user message as
typed. This store masks them in what it saves: the live tracker of the current turn is untouched (the action
server still sees the digits once, to verify), the stored conversation is redacted. Masked: phone and ID numbers
in every user message; standalone 4-digit numbers in messages of the status lookup (while `case_status_form` is
active, or with intent check_status / provide_verification). Dossier codes stay (their digits are joined by
'.' and '-', so they are not standalone).
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy import redact_text

CASE_FORM = "case_status_form"
LOOKUP_INTENTS = frozenset({"check_status", "provide_verification"})
_STANDALONE_DIGITS = re.compile(r"(?<![\w.\-])\d{4,6}(?![\w.\-])")


def _mask(text: str, lookup: bool) -> str:
    text = redact_text(text)
    return _STANDALONE_DIGITS.sub(lambda m: "*" * len(m.group(0)), text) if lookup else text


def redact_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mask personal numbers in the user events of a serialised conversation (in place; returned)."""
    form_active = False
    for event in events:
        kind = event.get("event")
        if kind == "active_loop":
            form_active = event.get("name") == CASE_FORM
        elif kind == "user":
            parse_data = event.get("parse_data") or {}
            intent = (parse_data.get("intent") or {}).get("name") or ""
            lookup = form_active or intent in LOOKUP_INTENTS
            if isinstance(event.get("text"), str):
                event["text"] = _mask(event["text"], lookup)
            if isinstance(parse_data.get("text"), str):
                parse_data["text"] = _mask(parse_data["text"], lookup)
            for entity in parse_data.get("entities") or []:
                if isinstance(entity.get("value"), str):
                    entity["value"] = _mask(entity["value"], lookup)
    return events


class RedactingTrackerStore(InMemoryTrackerStore):
    """In-memory tracker store whose saved conversations are redacted (see module docstring)."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        dialogue = json.loads(self.serialise_tracker(tracker))
        redact_events(dialogue.get("events") or [])
        self.store[tracker.sender_id] = json.dumps(dialogue)
