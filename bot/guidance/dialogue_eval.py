"""Typed-dialogue evaluation (`make eval-dialogue`): conversations written as citizens type, stored as data.

Each file of `tests/data/dialogues/*.yml` holds conversations; each turn is a message and what must hold
after the bot's answer (stage of the walk, procedure, channel, answers recorded, step, a phrase in the
reply or not). The same checks run two ways:
- through the guidance code (`Guide`), with each message classified by the real Rasa NLU (`/model/parse`)
  and routed as the rules route it (walk intents to the walk; `start_over` forgets everything);
- through the live REST stack (real Rasa + action server), reading the state back from the tracker.
Every turn also checks that no bot message is empty. A file with `heldout: true` is reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from bot.guidance.messages import Reply
from bot.guidance.state import GuideState
from bot.retrieval.normalize import fold

STAGES = ("none", "channel", "case", "checklist", "step", "recap")
EXPECT_KEYS = frozenset({"procedure", "stage", "channel", "answers", "step", "reply", "not_reply"})
# Rasa's own reply to start_over (domain.yml utter_start_over); read from the domain by the runner.
Parse = Callable[[str], tuple[str, dict[str, str]]]


class DialogueSetError(ValueError):
    """A dialogue file is malformed: `file: conversation id: field: message`."""


@dataclass
class DialogueTurn:
    say: str
    expect: dict[str, Any]


@dataclass
class Dialogue:
    id: str
    turns: list[DialogueTurn]
    source: str
    heldout: bool = False
    live: bool = False


@dataclass
class TurnResult:
    dialogue: str
    index: int
    say: str
    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Tally:
    turns: list[TurnResult] = field(default_factory=list)

    def add(self, results: list[TurnResult]) -> None:
        self.turns.extend(results)

    def figures(self) -> dict[str, Any]:
        by_dialogue: dict[str, bool] = {}
        for result in self.turns:
            by_dialogue[result.dialogue] = by_dialogue.get(result.dialogue, True) and result.ok
        turns_ok = sum(r.ok for r in self.turns)
        dialogues_ok = sum(by_dialogue.values())
        return {
            "turns": len(self.turns), "turns_ok": turns_ok,
            "turn_rate": round(turns_ok / len(self.turns), 3) if self.turns else 0.0,
            "conversations": len(by_dialogue), "conversations_ok": dialogues_ok,
            "conversation_rate": round(dialogues_ok / len(by_dialogue), 3) if by_dialogue else 0.0,
        }


def load_dialogues(paths: Iterable[Path]) -> list[Dialogue]:
    """Every conversation of the files, checked: ids unique, messages non-empty, known expectation keys."""
    dialogues: list[Dialogue] = []
    seen: set[str] = set()
    for path in sorted(paths):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise DialogueSetError(f"{path.name}: YAML: {exc}") from exc
        heldout = bool(data.get("heldout"))
        for number, raw in enumerate(data.get("conversations") or []):
            where = f"{path.name}: {raw.get('id') or f'conversations[{number}]'}"
            dialogue_id = str(raw.get("id") or "")
            if not dialogue_id or dialogue_id in seen:
                raise DialogueSetError(f"{where}: id: missing or repeated")
            seen.add(dialogue_id)
            turns = []
            for index, turn in enumerate(raw.get("turns") or []):
                say = str((turn or {}).get("say") or "").strip()
                expect = (turn or {}).get("expect") or {}
                if not say:
                    raise DialogueSetError(f"{where}: turns[{index}].say: empty message")
                if not isinstance(expect, dict) or set(expect) - EXPECT_KEYS:
                    raise DialogueSetError(f"{where}: turns[{index}].expect: unknown keys {sorted(set(expect) - EXPECT_KEYS)}")
                if "stage" in expect and expect["stage"] not in STAGES:
                    raise DialogueSetError(f"{where}: turns[{index}].expect.stage: one of {', '.join(STAGES)}")
                turns.append(DialogueTurn(say, expect))
            if not turns:
                raise DialogueSetError(f"{where}: turns: none")
            dialogues.append(Dialogue(dialogue_id, turns, path.name, heldout, bool(raw.get("live"))))
    return dialogues


def check(expect: dict[str, Any], state: GuideState, stage: str, messages: list[tuple[str, list[str]]]) -> list[str]:
    """What does not hold after a turn. `messages`: (text, button titles) of every bot message."""
    failures: list[str] = []
    if not messages:
        failures.append("no reply")
    for text, buttons in messages:
        if not text.strip() and not buttons:
            failures.append("an empty message")
    if "procedure" in expect and state.procedure_code != (str(expect["procedure"]) if expect["procedure"] else None):
        failures.append(f"procedure {state.procedure_code} != {expect['procedure']}")
    if "stage" in expect and stage != expect["stage"]:
        failures.append(f"stage {stage} != {expect['stage']}")
    if "channel" in expect and state.channel != expect["channel"]:
        failures.append(f"channel {state.channel} != {expect['channel']}")
    for case_id, number in (expect.get("answers") or {}).items():
        if state.case_answers.get(case_id) != int(number):
            failures.append(f"answer {case_id}={state.case_answers.get(case_id)} != {number}")
    if "step" in expect and (state.step_index is None or state.step_index + 1 != int(expect["step"])):
        failures.append(f"step {None if state.step_index is None else state.step_index + 1} != {expect['step']}")
    said = fold(" ".join([text for text, _ in messages] + [b for _, buttons in messages for b in buttons]))
    if "reply" in expect and fold(str(expect["reply"])) not in said:
        failures.append(f"reply lacks {expect['reply']!r}")
    if "not_reply" in expect and fold(str(expect["not_reply"])) in said:
        failures.append(f"reply has {expect['not_reply']!r}")
    return failures


def run_through_guide(
    dialogue: Dialogue, guide: Any, parse: Parse, routing: tuple[frozenset[str], frozenset[str]], start_over_text: str
) -> list[TurnResult]:
    """One conversation through `Guide.handle`, each message classified by the NLU and routed as the rules
    do (`routing` from `walk_intents_from_rules`); another flow's answer is stood for by "[intent]"."""
    from bot.guidance.walk import Turn

    always, when_waiting = routing
    state = GuideState()
    results = []
    for index, turn in enumerate(dialogue.turns):
        intent, entities = parse(turn.say)
        outcome = None
        if intent in always or (state.waiting and intent in when_waiting):
            outcome = guide.handle(Turn(intent, turn.say, entities), state)
        if outcome is not None and outcome.other_flow is None:
            state = GuideState.from_slots(outcome.state.to_slots())
            replies: list[Reply] = outcome.replies
        elif intent == "start_over":
            state, replies = GuideState(), [Reply(start_over_text)]
        else:  # another flow (small talk, dossier lookup, handoff) answers; the walk's state is untouched
            replies = [Reply(f"[{intent}]")]
        messages = [(r.text, [b.title for b in r.buttons]) for r in replies]
        failures = check(turn.expect, state, guide.stage(state), messages)
        results.append(TurnResult(dialogue.id, index, turn.say, failures))
    return results


def run_live(dialogue: Dialogue, rest: Callable[[str, str], list[dict]], slots: Callable[[str], dict], guide: Any, sender: str) -> list[TurnResult]:
    """One conversation through the REST channel; the walk's state read back from the tracker's slots."""
    results = []
    for index, turn in enumerate(dialogue.turns):
        messages = [
            (str(m.get("text") or ""), [str(b.get("title") or "") for b in m.get("buttons") or []] + (["[image]"] if m.get("image") else []))
            for m in rest(sender, turn.say)
        ]
        state = GuideState.from_slots(slots(sender))
        failures = check(turn.expect, state, guide.stage(state), messages)
        results.append(TurnResult(dialogue.id, index, turn.say, failures))
    return results


def walk_intents_from_rules(rules_dir: Path) -> tuple[frozenset[str], frozenset[str]]:
    """(intents always sent to action_guide, intents sent to it while `guide_waiting`), read from the
    rules of data/rules/guidance*.yml (rules conditioned on other slots, e.g. server_ok, are skipped)."""
    always: set[str] = set()
    waiting: set[str] = set()
    for path in sorted(Path(rules_dir).glob("guidance*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for rule in data.get("rules") or []:
            steps = rule.get("steps") or []
            if not any(step.get("action") == "action_guide" for step in steps):
                continue
            slots = [k for c in rule.get("condition") or [] for item in c.get("slot_was_set") or [] for k in item]
            if slots not in ([], ["guide_waiting"]):
                continue
            target = waiting if slots else always
            for step in steps:
                for item in step.get("or") or ([step] if "intent" in step else []):
                    if "intent" in item:
                        target.add(str(item["intent"]))
    return frozenset(always), frozenset(waiting)
