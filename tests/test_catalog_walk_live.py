"""Catalogue-only procedures walked through the live REST channel (real Rasa 3.6 + real action server).

Issue 11: a procedure known only from the national catalogue (shipped in knowledge/catalog/, the default
of settings.yml) walks like a curated one: summary with code and portal link, channel buttons, checklist,
"Bước 1"; every answer says it comes from the national portal, unchecked by the ward; a procedure not
handled at the ward names its agency and never sends the citizen to the ward desk.
"""

from __future__ import annotations

import random
import uuid

import pytest

from bot.knowledge import load_knowledge_base
from bot.settings import get_settings
from tests.support.rest_replies import checklist_of
from tests.support.stack import ActionServer, RasaServer, trained_model

pytestmark = pytest.mark.slow

SAMPLE_SIZE = 30
SEED = 11
DISCLAIMER = "chưa được phường kiểm tra"
ERROR_WORDS = ("Xin lỗi, hệ thống", "tạm gián đoạn", "Traceback", "Exception")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    model = trained_model()
    tmp = tmp_path_factory.mktemp("catalog-walk")
    env = {"BOT_DATABASE": str(tmp / "bot.db"), "BOT_INDEX_DIR": str(tmp / "index")}
    with ActionServer(env=env) as actions:
        server = RasaServer(model=model, actions_url=actions.webhook_url)
        server.startup_timeout = 600.0  # a shared 2-core machine under load takes minutes to load the model
        with server as rasa:
            yield rasa


@pytest.fixture(scope="module")
def kb():
    settings = get_settings()
    return load_knowledge_base(settings.knowledge_dir, settings.catalog)


def text_of(messages: list[dict]) -> str:
    parts = []
    for m in messages:
        parts.append(m.get("text") or "")
        parts.extend(f"{b['title']} {b['payload']}" for b in m.get("buttons") or [])
    return "\n".join(parts)



def sound(messages: list[dict]) -> list[dict]:
    """Messages with text, none empty, none an error."""
    assert messages, "no reply at all"
    for m in messages:
        assert (m.get("text") or "").strip() or m.get("custom") or m.get("buttons"), f"empty message: {m}"
        assert not any(word in (m.get("text") or "") for word in ERROR_WORDS), m
    return messages


def walk_to_first_step(rasa: RasaServer, first_message: str) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """(first reply, checklist turn, step turn, every message) pressing the first channel button if asked."""
    sender = f"catalog-{uuid.uuid4().hex[:8]}"
    start = sound(rasa.rest(sender, first_message))
    messages = start
    seen = list(start)
    for _ in range(3):
        if checklist_of(messages):
            break
        channel = next(
            (b["payload"] for m in messages for b in m.get("buttons") or [] if b["payload"].startswith("/choose_")), None
        )
        assert channel, f"neither a checklist nor a channel question: {text_of(messages)}"
        messages = sound(rasa.rest(sender, channel))
        seen += messages
    checklist_turn = messages
    steps = sound(rasa.rest(sender, "/ask_steps"))
    return start, checklist_turn, steps, seen + steps


def test_thirty_random_commune_level_catalogue_procedures_reach_checklist_and_step_one(stack, kb):
    rasa = stack
    pool = sorted(code for code, p in kb.procedures.items() if p.origin == "catalog" and "xa" in p.level)
    assert len(pool) >= 500
    for code in random.Random(SEED).sample(pool, SAMPLE_SIZE):
        procedure = kb.get(code)
        start, checklist_turn, steps, everything = walk_to_first_step(
            rasa, f'/select_procedure{{"procedure_code":"{code}"}}'
        )
        assert f"mã {code}" in text_of(start) and DISCLAIMER in text_of(start), (code, text_of(start))
        checklist = checklist_of(checklist_turn)
        assert checklist and checklist["code"] == code, (code, text_of(checklist_turn))
        if procedure.documents:
            assert checklist["items"], (code, text_of(checklist_turn))
        assert DISCLAIMER in text_of(checklist_turn) and (procedure.source or "") in text_of(checklist_turn)
        step = text_of(steps)
        if procedure.steps_in_person or procedure.steps_online:
            assert step.startswith("Bước 1/"), (code, step)
            assert DISCLAIMER in step and (procedure.source or "") in step, (code, step)
        else:
            assert "chưa có hướng dẫn từng bước" in step, (code, step)


def test_international_driving_permit_named_with_code_and_walked(stack, kb):
    """A ministry-level procedure asked in the citizen's words: named, walked, never sent to the ward desk."""
    rasa = stack
    procedure = kb.get("3.000353")
    assert procedure is not None and procedure.origin == "catalog"
    start, checklist_turn, steps, everything = walk_to_first_step(rasa, "xin cấp giấy phép lái xe quốc tế")
    first = text_of(start)
    assert "Cấp giấy phép lái xe quốc tế" in first and "3.000353" in first, first
    assert "không nộp tại bộ phận một cửa của phường" in first and procedure.agency in first, first
    assert "Nộp trực tuyến: có" in first, first
    assert "Điểm phục vụ hành chính công" not in text_of(everything)  # the ward's own desk is never offered
    checklist = checklist_of(checklist_turn)
    assert checklist and checklist["code"] == "3.000353" and checklist["items"]
    assert text_of(steps).startswith("Bước 1/"), text_of(steps)
