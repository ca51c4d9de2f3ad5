"""The guidance walk's state and its mapping to and from Rasa slots (docs/architecture.md).

Slots hold plain JSON values only, so the tracker store and the action server
agree: `case_answers` is a dict {case id: answer number (1-based)}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Slot names owned by the guidance walk (domain.yml).
SLOT_NAMES: tuple[str, ...] = (
    "procedure_code",
    "channel",
    "case_answers",
    "case_index",
    "step_index",
    "candidates",
    "pending_switch",
    "guide_prompt",
    "feedback_comment",
    "checklist_shown",
    "guide_waiting",
)

# What a yes/no answer refers to.
PROMPT_SWITCH = "switch"
PROMPT_RESUME = "resume"
PROMPT_FEEDBACK = "feedback"
PROMPT_CANDIDATES = "candidates"  # "Anh/chị muốn hỏi thủ tục nào?" with one button per candidate

CHANNELS = ("online", "in_person", "postal")


@dataclass
class GuideState:
    procedure_code: str | None = None
    channel: str | None = None  # "online" | "in_person" | "postal"
    case_answers: dict[str, int] = field(default_factory=dict)
    case_index: int = 0
    step_index: int | None = None  # 0-based; None: steps not started
    candidates: list[str] = field(default_factory=list)
    pending_switch: str | None = None
    prompt: str | None = None
    feedback_comment: str | None = None
    # the document checklist was sent in this walk: the recap mentions only what the citizen saw
    checklist_shown: bool = False
    # a question of the walk is on screen: Rasa's rules then let the walk read any typed message first
    waiting: bool = False

    @classmethod
    def from_slots(cls, slots: dict[str, Any]) -> "GuideState":
        """Rebuild the state from slot values, tolerating missing or malformed ones."""
        answers = slots.get("case_answers") or {}
        if not isinstance(answers, dict):
            answers = {}
        channel = slots.get("channel")
        return cls(
            procedure_code=slots.get("procedure_code") or None,
            channel=channel if channel in CHANNELS else None,
            case_answers={str(k): int(v) for k, v in answers.items() if str(v).isdigit()},
            case_index=_as_int(slots.get("case_index")) or 0,
            step_index=_as_int(slots.get("step_index")),
            candidates=[str(c) for c in (slots.get("candidates") or []) if c],
            pending_switch=slots.get("pending_switch") or None,
            prompt=slots.get("guide_prompt") or None,
            feedback_comment=slots.get("feedback_comment") or None,
            checklist_shown=slots.get("checklist_shown") is True,
            waiting=slots.get("guide_waiting") is True,
        )

    def to_slots(self) -> dict[str, Any]:
        return {
            "procedure_code": self.procedure_code,
            "channel": self.channel,
            "case_answers": dict(self.case_answers) if self.case_answers else None,
            "case_index": float(self.case_index) if self.procedure_code else None,
            "step_index": float(self.step_index) if self.step_index is not None else None,
            "candidates": list(self.candidates) or None,
            "pending_switch": self.pending_switch,
            "guide_prompt": self.prompt,
            "feedback_comment": self.feedback_comment,
            "checklist_shown": True if self.checklist_shown else None,
            "guide_waiting": self.waiting,
        }

    def start(self, code: str, keep_channel: bool = False) -> None:
        """Begin the walk for `code`; a redirect keeps the channel the citizen already chose."""
        channel = self.channel if keep_channel else None
        self.__init__()  # type: ignore[misc]
        self.procedure_code = code
        self.channel = channel


def _as_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None
