"""`action_handoff`: records the request to talk to a ward officer, who answers in the staff console (issue 17).

The row carries the procedure and step the walk was on, the masked last messages, and the citizen's channel id
sealed (Fernet, the subscriptions key) so the officer's reply reaches them on their own channel. Outside office
hours the citizen is told when an officer will answer; the request waits in the queue. The ward's phone is
always given too.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SERVER_OK, insert_conversation_row, last_messages, send, state_from
from bot.guidance import Reply
from bot.guidance.texts import office_hours, office_place

log = logging.getLogger(__name__)


def _sealed_recipient(sender_id: str) -> str | None:
    """The conversation id encrypted with the subscriptions key; None when no key can be had."""
    try:
        from bot.settings import get_settings
        from bot.subscriptions.config import load_subscriptions_config
        from bot.subscriptions.protect import RecipientCipher, load_key

        return RecipientCipher(load_key(load_subscriptions_config(get_settings()).key_file)).seal(sender_id)
    except Exception:  # the officer then answers by phone only
        log.exception("could not seal the handoff recipient")
        return None


def _step(tracker: Tracker) -> str | None:
    state = state_from(tracker)
    if state.step_index is not None:
        return f"bước {state.step_index + 1}" + (f" ({state.channel})" if state.channel else "")
    return state.prompt


def record_handoff(tracker: Tracker) -> int:
    """Insert one handoff request (sender hashed, messages redacted, recipient sealed); returns its id."""
    return insert_conversation_row(
        tracker,
        "handoff_requests",
        {
            "procedure_code": tracker.get_slot("procedure_code"),
            "last_messages": last_messages(tracker),
            "step": _step(tracker),
            "recipient_enc": _sealed_recipient(tracker.sender_id),
        },
    )


def answer_time_text(now: dt.datetime | None = None) -> str:
    """When an officer answers: now (office open) or at the next opening; empty when hours are unknown."""
    from bot.console.hours import is_open, next_opening, opening_slots, when_text
    from bot.knowledge import get_knowledge_base

    slots = opening_slots(get_knowledge_base().office.opening_hours)
    now = now or dt.datetime.now(dt.timezone.utc)
    if not slots:
        return ""
    if is_open(slots, now):
        return "Cán bộ sẽ trả lời anh/chị ngay tại đây trong giờ làm việc. "
    moment = next_opening(slots, now)
    return (f"Hiện đã ngoài giờ làm việc: cán bộ sẽ trả lời anh/chị tại đây từ {when_text(moment)}. "
            if moment else "")


def handoff_text(request_id: int | None, now: dt.datetime | None = None) -> str:
    from bot.knowledge import get_knowledge_base

    office = get_knowledge_base().office
    noted = f"Tôi đã ghi nhận yêu cầu gặp cán bộ của anh/chị (số {request_id}). " if request_id else ""
    when = answer_time_text(now) if request_id else ""
    return (
        f"Dạ, {noted}{when}Anh/chị cũng có thể gọi bộ phận một cửa: {office.value_or_unknown('phone')} "
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
