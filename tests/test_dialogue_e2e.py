"""The guidance dialogue through the REST channel of a live stack: Rasa 3.6 (3.10) <-> rasa-sdk (3.11).

One Rasa server and one action server for the module (each start costs 20-40 s); the last test stops
the action server to check that Rasa itself apologises and gives the ward's phone.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from tests.support.rest_replies import checklist_of
from tests.support.stack import ActionServer, RasaServer, trained_model

pytestmark = pytest.mark.slow

CHECKLIST_TURNS_LIMIT = 4


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    model = trained_model()
    tmp = tmp_path_factory.mktemp("e2e")
    env = {"BOT_DATABASE": str(tmp / "bot.db"), "BOT_INDEX_DIR": str(tmp / "index")}
    actions = ActionServer(env=env)
    with actions:
        with RasaServer(model=model, actions_url=actions.webhook_url) as rasa:
            yield rasa, actions, tmp / "bot.db"


def new_sender() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


def say(rasa: RasaServer, sender: str, text: str) -> list[dict]:
    return rasa.rest(sender, text)


def all_text(messages: list[dict]) -> str:
    parts = []
    for m in messages:
        parts.append(m.get("text") or "")
        parts.extend(f"{b['title']} {b['payload']}" for b in m.get("buttons") or [])
    return "\n".join(parts)



def test_no_rest_message_is_empty(stack):
    rasa, _, _ = stack
    sender = new_sender()
    for text in ("đăng ký khai sinh", "trực tiếp", "có", "có", "kết thúc"):
        for message in say(rasa, sender, text):
            assert (message.get("text") or "").strip() or message.get("buttons") or message.get("image"), message


def test_walking_skeleton_khai_sinh_names_procedure_and_code(stack):
    rasa, _, _ = stack
    for text in ("tôi muốn làm giấy khai sinh", "lam giay khai sinh"):
        reply = all_text(say(rasa, new_sender(), text))
        assert "khai sinh" in reply.lower() and "1.001193" in reply, reply


def test_small_talk_with_and_without_diacritics(stack):
    rasa, _, _ = stack
    sender = new_sender()
    assert "Xin chào" in all_text(say(rasa, sender, "chao ban"))
    assert "không có gì" in all_text(say(rasa, sender, "cảm ơn nhé"))
    assert "chúc anh/chị" in all_text(say(rasa, sender, "tam biet"))
    assert "chỉ hỗ trợ các thủ tục" in all_text(say(rasa, sender, "giá vàng hôm nay bao nhiêu"))


def test_full_walk_summary_channel_cases_checklist_steps_recap(stack):
    rasa, _, _ = stack
    sender = new_sender()
    summary = all_text(say(rasa, sender, '/select_procedure{"procedure_code":"1.001193"}'))
    assert "mã 1.001193" in summary and "dichvucong.gov.vn" in summary and "27/11/2026" in summary
    assert "/choose_online" in summary and "/choose_in_person" in summary and "/choose_postal" in summary
    question = all_text(say(rasa, sender, "trực tiếp"))
    assert "Câu 1/" in question and '/answer_case{"case_answer":"1"}' in question
    messages: list[dict] = []
    for _ in range(10):
        messages = say(rasa, sender, '/answer_case{"case_answer":"1"}')
        if checklist_of(messages):
            break
    checklist = checklist_of(messages)
    assert checklist and checklist["code"] == "1.001193" and checklist["items"]
    assert "/ask_steps" in all_text(messages)
    step = all_text(say(rasa, sender, "/ask_steps"))
    assert step.startswith("Bước 1/") and "/next_step" in step and "/end_walk" in step
    assert all_text(say(rasa, sender, "bước tiếp")).startswith("Bước 2/")
    assert all_text(say(rasa, sender, "bước 3")).startswith("Bước 3/")
    fee = all_text(say(rasa, sender, "lệ phí bao nhiêu?"))
    assert "Lệ phí" in fee and "Tiếp tục từ bước 3?" in fee
    assert all_text(say(rasa, sender, "có")).startswith("Bước 3/")
    assert all_text(say(rasa, sender, "quay lại")).startswith("Bước 2/")
    recap = all_text(say(rasa, sender, "kết thúc"))
    assert "Tóm tắt" in recap and "mã hồ sơ" in recap and "Thông tin có hữu ích không?" in recap
    assert "Cảm ơn" in all_text(say(rasa, sender, "có"))


def test_documents_in_few_citizen_messages(stack):
    rasa, _, _ = stack
    sender = new_sender()
    turns = 0
    for text in ("con tôi mới sinh cần làm giấy gì", "trực tuyến", '/answer_case{"case_answer":"1"}',
                 '/answer_case{"case_answer":"1"}'):
        turns += 1
        messages = say(rasa, sender, text)
        if checklist_of(messages):
            break
    assert checklist_of(messages) and turns <= CHECKLIST_TURNS_LIMIT


def test_mid_way_switch_is_confirmed_and_start_over_resets(stack):
    rasa, _, _ = stack
    sender = new_sender()
    say(rasa, sender, '/select_procedure{"procedure_code":"1.001193"}')
    ask = all_text(say(rasa, sender, "/ask_procedure{\"procedure_code\":\"1.000894\"}"))
    assert "chuyển sang thủ tục" in ask and "/affirm" in ask
    assert "1.000894" in all_text(say(rasa, sender, "/affirm"))
    assert "bắt đầu lại" in all_text(say(rasa, sender, "bắt đầu lại")).lower()
    assert "thủ tục nào" in all_text(say(rasa, sender, "bước tiếp"))


def test_handoff_is_recorded_without_personal_data(stack):
    rasa, _, database = stack
    sender = new_sender()
    say(rasa, sender, "con tôi mới sinh, số điện thoại tôi 0912345678")
    reply = all_text(say(rasa, sender, "tôi muốn gặp cán bộ"))
    assert "ghi nhận yêu cầu gặp cán bộ" in reply
    rows = sqlite3.connect(database).execute("SELECT sender_hash, channel, last_messages FROM handoff_requests").fetchall()
    assert rows and all(sender not in r[0] for r in rows)
    assert rows[-1][1] == "rest" and "0912345678" not in rows[-1][2]
    assert json.loads(rows[-1][2])[-1]["text"] == "tôi muốn gặp cán bộ"


def _ward_phone_from_domain() -> str:
    domain = yaml.safe_load(Path(PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain["responses"]["utter_service_down"][0]["text"]


def test_action_server_down_gets_apology_and_phone_from_rasa(stack):
    rasa, actions, _ = stack
    actions.stop()  # the last test of the module: the action server is gone from here on
    messages = say(rasa, new_sender(), "tôi muốn làm giấy khai sinh")
    assert [m.get("text") for m in messages] == [_ward_phone_from_domain()]
    handoff = say(rasa, new_sender(), "gặp cán bộ")
    assert [m.get("text") for m in handoff] == [_ward_phone_from_domain()]
