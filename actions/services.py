"""`action_services`: paying fees, old ward → new ward, VNeID help (issue 14), answered by `bot.services`.

The walk's slots are read, never reset: in the middle of a walk the answer is for the current procedure
and channel, and the walk's resume offer follows.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SERVER_OK, send, slot_events, state_from, turn_from
from actions.guidance import FAILURE_TEXT, get_guide
from bot.guidance import Reply

log = logging.getLogger(__name__)


def _warm_up() -> None:
    """Read the administrative-unit tables at start (about a second), not on the first ward question."""
    try:
        from bot.services.wards import find_in_text

        find_in_text("phường Hàng Trống cũ", get_guide().kb.office.province)
    except Exception:
        log.exception("services warm-up failed; the first ward question will retry")


threading.Thread(target=_warm_up, name="services-warm-up", daemon=True).start()


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
