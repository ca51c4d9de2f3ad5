"""`action_services`: paying fees, old ward → new ward, VNeID help (issue 14), answered by `bot.services`.

The walk's slots are read, never reset: in the middle of a walk the answer is for the current procedure
and channel, and the walk's resume offer follows.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SERVER_OK, send, slot_events, state_from, turn_from
from actions.guidance import FAILURE_TEXT, get_guide
from bot.guidance import Reply

log = logging.getLogger(__name__)


class ActionServices(Action):
    def name(self) -> str:
        return "action_services"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        from bot.services.answers import answer

        try:
            outcome = answer(get_guide(), turn_from(tracker), state_from(tracker))
        except Exception:
            log.exception("service answer failed")
            send(dispatcher, [Reply(FAILURE_TEXT)])
            return [SERVER_OK]
        send(dispatcher, outcome.replies)
        return slot_events(outcome.state, tracker)
