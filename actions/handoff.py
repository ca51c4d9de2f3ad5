"""`action_handoff`: records the request to talk to a ward officer and gives the ward's phone and hours.

There is no staff console yet, so the bot does not promise a call back: it points to the phone.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SERVER_OK, insert_conversation_row, last_messages, send
from bot.guidance import Reply
from bot.guidance.texts import office_hours, office_place

log = logging.getLogger(__name__)


def record_handoff(tracker: Tracker) -> int:
    """Insert one handoff request (sender hashed, messages redacted); returns its id."""
    return insert_conversation_row(
        tracker,
        "handoff_requests",
        {"procedure_code": tracker.get_slot("procedure_code"), "last_messages": last_messages(tracker)},
    )


def handoff_text(request_id: int | None) -> str:
    from bot.knowledge import get_knowledge_base

    office = get_knowledge_base().office
    noted = f"Tôi đã ghi nhận yêu cầu gặp cán bộ của anh/chị (số {request_id}). " if request_id else ""
    return (
        f"Dạ, {noted}Anh/chị vui lòng gọi bộ phận một cửa: {office.value_or_unknown('phone')} "
        f"(giờ làm việc: {office_hours(office)}), hoặc đến trực tiếp: {office_place(office)}."
    )


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        request_id: int | None = None
        try:
            request_id = record_handoff(tracker)
        except Exception:  # still give the phone number when the database is unavailable
            log.exception("could not record the handoff request")
        send(dispatcher, [Reply(handoff_text(request_id))])
        return [SERVER_OK]
