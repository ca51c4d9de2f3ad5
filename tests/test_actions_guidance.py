"""The custom actions (actions/*.py) with rasa-sdk trackers: replies, slot events, database rows."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from tests.guidance_support import FIXTURE_KB

PHONE = "0912345678"


@pytest.fixture
def actions_env(tmp_path, monkeypatch):
    """Actions served from the fixture knowledge base, with a fresh database and search index."""
    from bot.knowledge import reset_knowledge_base
    from bot.retrieval import reset_engine
    from bot.settings import get_settings

    import actions.guidance as guidance

    settings = tmp_path / "settings.yml"
    settings.write_text(
        f"knowledge_dir: {FIXTURE_KB}\ncatalog: null\ndatabase: {tmp_path / 'bot.db'}\nindex_dir: {tmp_path / 'index'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("BOT_SETTINGS", str(settings))
    for name in ("BOT_KNOWLEDGE_DIR", "BOT_CATALOG", "BOT_DATABASE", "BOT_INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)

    def reset() -> None:
        get_settings.cache_clear()
        reset_knowledge_base()
        reset_engine()
        guidance._GUIDE = None

    reset()
    yield tmp_path / "bot.db"
    reset()


def tracker(intent: str, text: str, slots: dict | None = None, entities: list[dict] | None = None,
            events: list[dict] | None = None, channel: str = "rest") -> Tracker:
    message = {"intent": {"name": intent, "confidence": 0.99}, "text": text, "entities": entities or []}
    history = list(events or []) + [{"event": "user", "text": text, "parse_data": message, "input_channel": channel}]
    return Tracker("citizen-42", dict(slots or {}), message, history, False, None, None, "action_listen")


def run(action, tr: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tr, {}))
    return dispatcher.messages, events


def slots_of(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_action_guide_answers_khai_sinh_with_code_and_documents(actions_env):
    from actions.guidance import ActionGuide

    messages, events = run(ActionGuide(), tracker("ask_procedure", "tôi muốn làm giấy khai sinh"))
    assert "khai sinh" in messages[0]["text"].lower() and "1.001193" in messages[0]["text"]
    assert messages[1]["buttons"] == [
        {"title": "Trực tuyến", "payload": "/choose_online"},
        {"title": "Trực tiếp", "payload": "/choose_in_person"},
        {"title": "Qua bưu điện", "payload": "/choose_postal"},
    ]
    slots = slots_of(events)
    assert slots["procedure_code"] == "1.001193" and slots["server_ok"] is True and slots.get("channel") is None
    messages, events = run(ActionGuide(), tracker("choose_postal", "/choose_postal", slots))
    assert messages[0]["text"].startswith("Câu 1/2:")
    assert messages[0]["buttons"][0] == {"title": "Có Giấy chứng sinh", "payload": '/answer_case{"case_answer":"1"}'}
    assert slots_of(events)["channel"] == "postal"


def test_action_guide_checklist_carries_custom_payload(actions_env):
    from actions.guidance import ActionGuide

    slots = {"procedure_code": "9.000001", "channel": "in_person", "case_index": 0.0}
    messages, events = run(ActionGuide(), tracker("ask_documents", "cần giấy tờ gì", slots, channel="kiosk"))
    assert messages[0]["custom"] == {
        "kind": "checklist", "code": "9.000001", "name": "Thủ tục thử nghiệm", "items": ["Đơn đề nghị – 1 bản chính"]
    }
    assert "Đơn đề nghị" in messages[0]["text"]
    # plain REST would show the payload as a message of its own with no text (an empty bubble): not sent there
    messages, _ = run(ActionGuide(), tracker("ask_documents", "cần giấy tờ gì", slots, channel="rest"))
    assert not messages[0].get("custom") and "Đơn đề nghị" in messages[0]["text"]


def test_action_guide_step_buttons_and_resume(actions_env):
    from actions.guidance import ActionGuide

    slots = {"procedure_code": "9.000001", "channel": "in_person", "case_index": 0.0, "step_index": 1.0}
    messages, events = run(ActionGuide(), tracker("ask_time", "mất mấy ngày", slots))
    assert "2 ngày làm việc" in messages[0]["text"]
    assert messages[-1]["text"] == "Tiếp tục từ bước 2?"
    assert slots_of(events)["guide_prompt"] == "resume"


def test_feedback_answer_is_stored_hashed_and_redacted(actions_env):
    from actions.feedback import ActionFeedback
    from actions.guidance import ActionGuide

    messages, events = run(ActionFeedback(), tracker("feedback", f"hướng dẫn khó hiểu, gọi tôi {PHONE}"))
    assert messages[-1]["text"].endswith("có hữu ích không?")
    slots = slots_of(events)
    assert PHONE not in slots["feedback_comment"]
    slots["procedure_code"] = "9.000001"
    run(ActionGuide(), tracker("deny", "không", slots))
    row = sqlite3.connect(actions_env).execute(
        "SELECT sender_hash, channel, procedure_code, helpful, comment FROM feedback").fetchone()
    assert row[0] != "citizen-42" and len(row[0]) == 16
    assert row[1:4] == ("rest", "9.000001", 0)
    assert "khó hiểu" in row[4] and PHONE not in row[4]


def test_handoff_is_recorded_and_gives_phone_and_hours(actions_env):
    from actions.handoff import ActionHandoff

    history = [
        {"event": "user", "text": f"số tôi là {PHONE}"},
        {"event": "bot", "text": "Dạ"},
    ]
    messages, events = run(ActionHandoff(), tracker("human_handoff", "gặp cán bộ", {"procedure_code": "1.001193"}, events=history))
    text = messages[0]["text"]
    assert "024 0000 0000" in text and "7h30–17h00" in text and "(số 1)" in text
    assert {"event": "slot", "name": "server_ok", "value": True, "timestamp": None} in events
    row = sqlite3.connect(actions_env).execute(
        "SELECT sender_hash, channel, procedure_code, last_messages, status FROM handoff_requests").fetchone()
    assert row[0] != "citizen-42" and row[1] == "rest" and row[2] == "1.001193" and row[4] == "open"
    last = json.loads(row[3])
    assert [m["from"] for m in last] == ["user", "bot", "user"] and PHONE not in row[3]


def test_resume_action_offers_the_step_only_during_a_walk(actions_env):
    from actions.guidance import ActionResumeGuide

    slots = {"procedure_code": "9.000001", "channel": "in_person", "case_index": 0.0, "step_index": 0.0}
    messages, events = run(ActionResumeGuide(), tracker("check_status", "tra cứu hồ sơ", slots))
    assert messages[0]["text"] == "Tiếp tục từ bước 1?"
    messages, events = run(ActionResumeGuide(), tracker("check_status", "tra cứu hồ sơ", {}))
    assert messages == [] and slots_of(events)["server_ok"] is True


def test_unanswered_question_is_logged_masked_and_a_found_procedure_is_not(actions_env):
    from actions.guidance import ActionGuide

    run(ActionGuide(), tracker("ask_procedure", f"xin phép nuôi chim yến trên sao Hỏa, gọi {PHONE}"))
    run(ActionGuide(), tracker("ask_procedure", "tôi muốn làm giấy khai sinh cho con"))
    rows = sqlite3.connect(actions_env).execute(
        "SELECT sender_hash, channel, decision, text FROM unanswered_questions").fetchall()
    assert len(rows) == 1, rows
    sender_hash, channel, decision, text = rows[0]
    assert sender_hash != "citizen-42" and channel == "rest" and decision in ("unknown", "ambiguous")
    assert "chim yến" in text and PHONE not in text
