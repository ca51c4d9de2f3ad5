"""Answers to the three service questions (payment, old ward, VNeID), on their own or in the middle of a walk.

During a walk the answer is for the current procedure and channel, and the walk's resume offer follows
(the same one a dossier lookup ends with), so the citizen goes back to where they were.
"""

from __future__ import annotations

from bot.guidance import Guide, GuideState, Outcome, Reply, Turn
from bot.services.hooks import services_for
from bot.services.payment import payment_replies
from bot.services.vneid import vneid_replies
from bot.services.wards import ward_replies

INTENTS = ("ask_payment", "ask_new_ward", "ask_vneid")


def answer(guide: Guide, turn: Turn, state: GuideState) -> Outcome:
    """The service answer for `turn.intent`, then the walk's resume offer (if a walk is in progress)."""
    kb = guide.kb
    services = services_for(kb)
    if turn.intent == "ask_payment":
        procedure = kb.get(state.procedure_code) if state.procedure_code else None
        replies = payment_replies(services, kb.office, procedure, state.channel)
    elif turn.intent == "ask_new_ward":
        # a pressed choice button carries the full old unit; typed text is read whole (district, province)
        typed = turn.text if turn.text and not turn.text.startswith("/") else ""
        replies = ward_replies(typed or turn.entities.get("old_ward") or "", kb.office, services)
    elif turn.intent == "ask_vneid":
        def name(code: str) -> str | None:
            procedure = kb.get(code)
            return procedure.display_name if procedure else None

        replies = vneid_replies(services, turn.text, turn.entities.get("vneid_task"), name)
    else:
        replies = [Reply("Anh/chị cần hỏi gì ạ?")]
    resumed = guide.resume_offer(state)
    return Outcome(replies + resumed.replies, resumed.state)
