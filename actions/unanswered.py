"""Questions the walk could not answer (search decision unknown / ambiguous), logged masked for the console.

`_search` in actions/guidance.py notes each decision of the current turn in a context variable; after the turn,
`log_if_unanswered` stores the citizen's text (phone/ID numbers masked) when no procedure was chosen.
"""

from __future__ import annotations

import contextvars
import logging

from rasa_sdk import Tracker

from actions.common import insert_conversation_row
from bot.privacy import redact_text

log = logging.getLogger(__name__)

UNANSWERED = ("unknown", "ambiguous")
_decisions: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("search_decisions", default=None)


def start_turn() -> None:
    _decisions.set([])


def note_decision(decision: str) -> None:
    found = _decisions.get()
    if found is not None:
        found.append(decision)


def log_if_unanswered(tracker: Tracker, chosen_code: str | None) -> None:
    """One row in unanswered_questions when this turn's last search was unknown/ambiguous and no new procedure
    was chosen by it."""
    found = _decisions.get() or []
    _decisions.set(None)
    if not found or found[-1] not in UNANSWERED or chosen_code != tracker.get_slot("procedure_code"):
        return
    text = redact_text(str((tracker.latest_message or {}).get("text") or "")).strip()
    if not text or text.startswith("/"):
        return
    try:
        insert_conversation_row(tracker, "unanswered_questions", {"decision": found[-1], "text": text[:500]})
    except Exception:  # the citizen's answer matters more than the statistics
        log.exception("could not log an unanswered question")
