"""Service questions on their own and in the middle of a walk (issue 14), over the project's knowledge base:
the payment answer is for the current procedure and channel, then the walk resumes where it was; an old ward
named in a "where" question is mapped; the first online step offers VNeID help."""

from __future__ import annotations

import pytest

from bot.guidance import Guide, GuideState, Outcome, Turn
from bot.knowledge import load_knowledge_base
from bot.services.answers import answer
from tests.guidance_support import Conversation, real_search

THUONG_TRU = "1.004222"  # online 10.000 đồng, in person 20.000 đồng
KHAI_SINH = "1.001193"  # free


@pytest.fixture(scope="module")
def guide(tmp_path_factory) -> Guide:
    from bot.settings import PROJECT_ROOT

    knowledge = PROJECT_ROOT / "knowledge"
    return Guide(load_knowledge_base(knowledge), real_search(tmp_path_factory.mktemp("index"), knowledge))


class Chat(Conversation):
    """A conversation where the service intents go to bot.services.answers, as the Rasa rules send them."""

    def say(self, intent: str, text: str = "", **entities: str) -> Outcome:
        if intent not in ("ask_payment", "ask_new_ward", "ask_vneid"):
            return super().say(intent, text, **entities)
        outcome = answer(self.guide, Turn(intent, text or f"/{intent}", dict(entities)), self.state)
        self.state = GuideState.from_slots(outcome.state.to_slots())
        self.last = outcome
        return outcome


def to_steps(chat: Chat, code: str, channel_intent: str) -> None:
    chat.say("select_procedure", procedure_code=code)
    chat.say(channel_intent)
    for _ in range(6):
        if any(r.custom and r.custom.get("kind") == "checklist" for r in chat.last.replies):
            break
        chat.say("answer_case", case_answer="1")
    chat.say("ask_steps")


def test_payment_mid_walk_answers_for_the_procedure_and_channel_then_resumes(guide: Guide) -> None:
    chat = Chat(guide)
    to_steps(chat, THUONG_TRU, "choose_online")
    chat.say("next_step")
    assert chat.texts[0].startswith("Bước 2/") and chat.state.step_index == 1
    chat.say("ask_payment", "trả phí bằng cách nào?")
    text = "\n".join(chat.texts)
    assert "Lệ phí Đăng ký thường trú" in text and "khi nộp trực tuyến: 10.000 đồng" in text
    assert "Cổng Dịch vụ công quốc gia" in text and "iHanoi" in text and "VNeID" in text
    assert "Tại bộ phận một cửa" not in text and "20.000" not in text  # not the other channel's
    assert chat.texts[-1] == "Tiếp tục từ bước 2?"
    assert chat.state.procedure_code == THUONG_TRU and chat.state.channel == "online" and chat.state.step_index == 1
    chat.say("affirm", "có")
    assert chat.texts[0].startswith("Bước 2/")


def test_payment_in_person_lists_the_desk_only(guide: Guide) -> None:
    chat = Chat(guide)
    chat.say("select_procedure", procedure_code=THUONG_TRU)
    chat.say("choose_in_person")
    before = chat.texts[-1]
    chat.say("ask_payment", "nộp lệ phí thế nào")
    text = "\n".join(chat.texts)
    assert "khi nộp trực tiếp: 20.000 đồng" in text and "Tại bộ phận một cửa" in text and "iHanoi" not in text
    assert chat.texts[-1] == before  # the walk's current question is asked again


def test_payment_for_a_free_procedure_says_nothing_to_pay(guide: Guide) -> None:
    chat = Chat(guide)
    chat.say("select_procedure", procedure_code=KHAI_SINH)
    chat.say("choose_postal")
    chat.say("ask_payment", "trả phí bằng cách nào")
    assert "không cần thanh toán" in chat.texts[0]


def test_payment_on_its_own_lists_every_way_and_asks_which_procedure(guide: Guide) -> None:
    chat = Chat(guide)
    chat.say("ask_payment", "nộp lệ phí online thế nào")
    [reply] = chat.last.replies
    for words in ("Nộp trực tuyến:", "Cổng Dịch vụ công quốc gia", "iHanoi", "Nộp trực tiếp:", "Qua bưu điện", "Nguồn:"):
        assert words in reply.text
    assert reply.text.endswith("Tôi sẽ báo lệ phí và cách thanh toán cho thủ tục đó.")
    assert chat.state.procedure_code is None


def test_old_ward_mid_walk_then_resume(guide: Guide) -> None:
    chat = Chat(guide)
    to_steps(chat, THUONG_TRU, "choose_in_person")
    chat.say("ask_new_ward", "phường Hàng Trống cũ giờ là phường nào")
    assert "phường Hoàn Kiếm" in chat.texts[0] and chat.texts[-1] == "Tiếp tục từ bước 1?"


def test_where_question_naming_an_old_ward_says_which_ward_handles_it(guide: Guide) -> None:
    chat = Chat(guide)
    chat.say("select_procedure", procedure_code=THUONG_TRU)
    chat.say("choose_in_person")
    chat.say("ask_where", "nhà tôi ở phường Dịch Vọng Hậu cũ thì nộp hồ sơ ở đâu")
    assert "thuộc phường Cầu Giấy" in chat.texts[0] and "do phường Cầu Giấy tiếp nhận" in chat.texts[0]
    chat.say("ask_where", "nộp hồ sơ ở đâu")  # no old ward: the usual answer
    assert chat.texts[0].startswith("Cơ quan giải quyết:")


def test_first_online_step_offers_vneid_help_and_the_button_answers(guide: Guide) -> None:
    chat = Chat(guide)
    to_steps(chat, THUONG_TRU, "choose_online")
    assert chat.texts[0].startswith("Bước 1/")
    assert '/ask_vneid{"vneid_task":"muc_2"}' in chat.payloads
    chat.say("ask_vneid", '/ask_vneid{"vneid_task":"muc_2"}', vneid_task="muc_2")
    text = "\n".join(chat.texts)
    assert text.startswith("Đăng ký tài khoản mức 2:") and "Công an phường/xã" in text and "Nghị định 69/2024/NĐ-CP" in text
    assert '/ask_procedure{"procedure_code":"3.000228"}' in chat.payloads
    assert chat.texts[-1] == "Tiếp tục từ bước 1?"
    chat.say("next_step")
    assert chat.texts[0].startswith("Bước 2/") and "/ask_vneid" not in " ".join(chat.payloads)


def test_in_person_steps_have_no_vneid_offer(guide: Guide) -> None:
    chat = Chat(guide)
    to_steps(chat, THUONG_TRU, "choose_in_person")
    assert not any("ask_vneid" in p for p in chat.payloads)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("quên mật khẩu VNeID", "Quên mật khẩu VNeID:"),
        ("quen mat khau vneid", "Quên mật khẩu VNeID:"),
        ("kích hoạt tài khoản định danh mức 2", "Kích hoạt tài khoản VNeID:"),
        ("tích hợp giấy tờ vào VNeID", "Tích hợp giấy tờ vào VNeID:"),
        ("chưa có tài khoản VNeID", "Đăng ký tài khoản mức 2:"),
        ("làm định danh điện tử cho con dưới 14 tuổi", "Định danh điện tử cho trẻ em:"),
    ],
)
def test_vneid_questions_get_their_steps(guide: Guide, text: str, title: str) -> None:
    chat = Chat(guide)
    chat.say("ask_vneid", text)
    assert chat.texts[0].startswith(title) and "Nguồn:" in "\n".join(chat.texts)


def test_an_unclear_vneid_question_gets_the_menu(guide: Guide) -> None:
    chat = Chat(guide)
    chat.say("ask_vneid", "hướng dẫn dùng VNeID")
    assert len(chat.payloads) == 5 and all(p.startswith("/ask_vneid") for p in chat.payloads)


def test_service_questions_are_not_taken_for_procedures_by_search(guide: Guide) -> None:
    """Typed questions that Rasa may fall back on (nlu_fallback goes to the search): never a confident
    procedure for a question about paying, old wards or the VNeID app itself."""
    for text in ("trả phí bằng cách nào", "thanh toán qua iHanoi được không", "chuyển khoản lệ phí được không",
                 "phường Hàng Trống cũ giờ là phường nào", "phường cũ giờ là phường nào", "quên mật khẩu VNeID",
                 "tích hợp giấy tờ vào VNeID"):
        assert guide.search(text, 3).decision != "sure", text


def test_service_intents_reach_action_services_and_have_a_server_down_twin() -> None:
    import yaml

    from bot.settings import PROJECT_ROOT

    rules = yaml.safe_load((PROJECT_ROOT / "data" / "rules" / "services.yml").read_text(encoding="utf-8"))["rules"]
    intents = {"ask_payment", "ask_new_ward", "ask_vneid"}
    normal, down = rules
    assert {s["intent"] for s in normal["steps"][0]["or"]} == intents and normal["steps"][-1] == {"action": "action_services"}
    assert {s["intent"] for s in down["steps"][0]["or"]} == intents
    assert down["condition"] == [{"slot_was_set": [{"server_ok": False}]}] and down["steps"][-1] == {"action": "utter_service_down"}
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert intents <= set(domain["intents"]) and "action_services" in domain["actions"]
    assert {"old_ward", "vneid_task"} <= set(domain["entities"])
