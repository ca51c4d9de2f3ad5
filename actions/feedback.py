"""`action_feedback`: a citizen's free-text opinion; stored with their answer to "Thông tin có hữu ích không?"."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SERVER_OK, insert_conversation_row, send
from bot.guidance import Reply
from bot.guidance.state import PROMPT_FEEDBACK
from bot.guidance.texts import YES_NO_BUTTONS
from bot.privacy import redact_text

log = logging.getLogger(__name__)


def save_feedback(tracker: Tracker, helpful: bool, comment: str | None, procedure_code: str | None) -> int:
    """Insert one feedback row (sender hashed, comment redacted); returns its id."""
    return insert_conversation_row(
        tracker,
        "feedback",
        {
            "procedure_code": procedure_code,
            "helpful": 1 if helpful else 0,
            "comment": redact_text(comment) if comment else None,
        },
    )


class ActionFeedback(Action):
    def name(self) -> str:
        return "action_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        comment = redact_text((tracker.latest_message or {}).get("text") or "")[:500]
        send(dispatcher, [Reply("Cảm ơn anh/chị đã góp ý. Thông tin tôi đưa ra có hữu ích không?", list(YES_NO_BUTTONS))])
        return [SlotSet("feedback_comment", comment), SlotSet("guide_prompt", PROMPT_FEEDBACK), SERVER_OK]
