"""`action_guide`: every step of the guidance walk (rules send all walk intents here), and
`action_resume_guide`: offers to resume the walk after another flow (e.g. a dossier status lookup)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SERVER_OK, send, slot_events, state_from, turn_from
from actions.feedback import save_feedback
from actions.unanswered import log_if_unanswered, note_decision, start_turn
from bot.guidance import Guide, Reply

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_GUIDE: Guide | None = None


class _Unknown:
    """Search outcome used when the search engine fails: the walk then says honestly it found nothing."""

    decision = "unknown"
    results: list = []


def _search(query: str, top: int):
    from bot.retrieval import get_engine

    try:
        outcome = get_engine().search(query, top=top)
        note_decision(outcome.decision)
        return outcome
    except Exception:  # the engine's failure must not end the conversation
        log.exception("procedure search failed")
        return _Unknown()


def get_guide() -> Guide:
    """Process-wide guide over the knowledge base from settings (loaded once)."""
    global _GUIDE
    with _LOCK:
        if _GUIDE is None:
            from bot.knowledge import get_knowledge_base

            _GUIDE = Guide(get_knowledge_base(), _search)
        return _GUIDE


def _warm_up() -> None:
    """Load the knowledge base and the search index at start, not on the first citizen's message."""
    try:
        get_guide()
        from bot.retrieval import get_engine

        get_engine()
    except Exception:
        log.exception("warm-up failed; the first conversation will retry")


threading.Thread(target=_warm_up, name="guide-warm-up", daemon=True).start()

FAILURE_TEXT = "Xin lỗi anh/chị, hệ thống đang gặp sự cố nên chưa trả lời được. Anh/chị vui lòng thử lại sau hoặc nhắn \"gặp cán bộ\"."


class ActionGuide(Action):
    def name(self) -> str:
        return "action_guide"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        try:
            guide = get_guide()
            start_turn()
            outcome = guide.handle(turn_from(tracker), state_from(tracker))
        except Exception:
            log.exception("guidance failed")
            send(dispatcher, [Reply(FAILURE_TEXT)])
            return [SERVER_OK]
        if outcome.other_flow is not None:
            return await _other_flow(outcome, dispatcher, tracker, domain)
        if outcome.feedback is not None:
            helpful, comment = outcome.feedback
            save_feedback(tracker, helpful, comment, outcome.state.procedure_code)
        log_if_unanswered(tracker, outcome.state.procedure_code)
        send(dispatcher, outcome.replies, tracker.get_latest_input_channel())
        return slot_events(outcome.state, tracker)


# Flows whose own rule answers with one response (data/rules/smalltalk.yml); the walk's question follows.
_RESPONSES = {intent: f"utter_{intent}" for intent in ("out_of_scope", "greet", "thank", "goodbye", "bot_challenge")}


async def _other_flow(outcome: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
    """The message reached the walk only because it waited for an answer (data/rules/guidance_typed.yml) and
    it was not one: answer as the intent's own flow does, then show the walk's question again."""
    intent = outcome.other_flow
    if intent == "start_over":
        dispatcher.utter_message(response="utter_start_over")
        return slot_events(outcome.state, tracker)
    if intent == "human_handoff":
        from actions.handoff import ActionHandoff

        events = await ActionHandoff().run(dispatcher, tracker, domain)
    elif intent == "feedback":
        from actions.feedback import ActionFeedback

        events = await ActionFeedback().run(dispatcher, tracker, domain)
        return [SlotSet("guide_waiting", True), *events]
    else:
        dispatcher.utter_message(response=_RESPONSES.get(intent, "utter_out_of_scope"))
        events = [SERVER_OK]
    guide = get_guide()
    if outcome.state.prompt is None and guide.stage(outcome.state) in ("channel", "case"):
        resumed = guide.resume_offer(outcome.state)  # the question still waiting for an answer
        send(dispatcher, resumed.replies)
        return [*slot_events(resumed.state, tracker)[:-1], *events]
    return events


class ActionResumeGuide(Action):
    """For other flows to call at their end: "Tiếp tục từ bước N?" when a walk is in progress, else nothing."""

    def name(self) -> str:
        return "action_resume_guide"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        try:
            outcome = get_guide().resume_offer(state_from(tracker))
        except Exception:
            log.exception("resume offer failed")
            return [SERVER_OK]
        send(dispatcher, outcome.replies)
        return slot_events(outcome.state, tracker)
