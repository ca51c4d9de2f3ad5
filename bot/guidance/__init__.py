"""The guidance walk as plain Python: state <-> slots, summary, channel, case questions, checklist, steps, recap.

Imports the knowledge base (pydantic v2): app environment (`.venv`) only.
"""

from bot.guidance.checklist import Checklist, build_checklist
from bot.guidance.messages import MAX_MESSAGE_CHARS, Button, Reply, payload
from bot.guidance.state import SLOT_NAMES, GuideState
from bot.guidance.walk import Guide, Outcome, Turn

__all__ = [
    "MAX_MESSAGE_CHARS",
    "SLOT_NAMES",
    "Button",
    "Checklist",
    "Guide",
    "GuideState",
    "Outcome",
    "Reply",
    "Turn",
    "build_checklist",
    "payload",
]
