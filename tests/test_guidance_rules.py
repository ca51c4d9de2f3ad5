"""Consistency of the dialogue data: every walk intent reaches action_guide, and the same intents have
the action-server-down rule (Rasa's own apology)."""

from __future__ import annotations

import yaml

from bot.settings import PROJECT_ROOT


def _rules(name: str) -> list[dict]:
    return yaml.safe_load((PROJECT_ROOT / "data" / "rules" / name).read_text(encoding="utf-8"))["rules"]


def _or_intents(rule: dict) -> set[str]:
    return {step["intent"] for step in rule["steps"][0]["or"]}


def test_every_walk_intent_has_a_server_down_twin():
    walk = _or_intents(next(r for r in _rules("guidance.yml") if r["rule"] == "guidance turn"))
    down = _or_intents(next(r for r in _rules("fallback.yml") if r["rule"] == "action server down (guidance)"))
    assert walk == down and "nlu_fallback" in walk


def test_every_custom_action_of_guidance_is_covered_when_the_server_is_down():
    down = _rules("fallback.yml")
    actions = {step.get("action") for rule in down for step in rule["steps"] if "action" in step}
    assert {"action_guide", "action_feedback", "action_handoff", "utter_service_down"} <= actions
    for rule in down:
        assert rule["condition"] == [{"slot_was_set": [{"server_ok": False}]}]
        assert rule["steps"][-1] == {"action": "utter_service_down"}


def test_domain_intents_all_reach_a_rule():
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    ruled: set[str] = set()
    for path in (PROJECT_ROOT / "data" / "rules").glob("*.yml"):
        for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]:
            for step in rule["steps"]:
                if "intent" in step:
                    ruled.add(step["intent"])
                for alt in step.get("or", []):
                    ruled.add(alt.get("intent"))
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    assert intents - ruled == set()


def test_server_ok_is_reset_by_every_user_message():
    slot = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["slots"]["server_ok"]
    assert slot["influence_conversation"] is True and "initial_value" not in slot
    assert slot["mappings"] == [{"type": "from_intent", "value": False}]


def test_every_channel_button_intent_is_in_the_domain_and_reaches_the_walk():
    from bot.guidance.texts import CHANNEL_INTENTS

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    walk = _or_intents(next(r for r in _rules("guidance.yml") if r["rule"] == "guidance turn"))
    assert set(CHANNEL_INTENTS.values()) == {"choose_online", "choose_in_person", "choose_postal"}
    assert set(CHANNEL_INTENTS.values()) <= set(domain["intents"]) and set(CHANNEL_INTENTS.values()) <= walk
