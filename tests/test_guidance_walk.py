"""The guidance walk (bot.guidance) on the fixture knowledge base, with the real BM25 search engine."""

from __future__ import annotations

import dataclasses

import pytest

from bot.guidance import MAX_MESSAGE_CHARS, Guide, GuideState, build_checklist
from tests.guidance_support import Conversation, RecordedHit, RecordedOutcome, fixture_kb, real_search

KHAI_SINH = "1.001193"
NHAN_CHA = "1.000689"
ONE_CHANNEL = "9.000001"


@pytest.fixture(scope="module")
def kb():
    return fixture_kb()


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    return real_search(tmp_path_factory.mktemp("index"))


@pytest.fixture
def chat(kb, search) -> Conversation:
    return Conversation(Guide(kb, search))


def _all_short(chat: Conversation) -> None:
    for text in chat.texts:
        assert len(text) <= MAX_MESSAGE_CHARS, text


def test_free_text_finds_khai_sinh_and_shows_summary_then_channels(chat, kb):
    chat.say("ask_procedure", "tôi muốn làm giấy khai sinh cho con")
    summary = chat.texts[0]
    procedure = kb.get(KHAI_SINH)
    assert procedure.name in summary and "mã 1.001193" in summary
    assert "Miễn phí" in summary and "1 ngày làm việc" in summary
    assert procedure.source in summary and "27/11/2026" in summary
    assert kb.office.name in summary
    # the order: summary, then the channel question in the same bot turn, buttons only for offered channels
    assert len(chat.texts) == 2 and "trực tuyến" in chat.texts[1] and "qua bưu điện" in chat.texts[1]
    assert chat.payloads == ["/choose_online", "/choose_in_person", "/choose_postal"]
    assert [b.title for b in chat.last.replies[1].buttons] == ["Trực tuyến", "Trực tiếp", "Qua bưu điện"]
    assert chat.state.procedure_code == KHAI_SINH and chat.state.channel is None
    _all_short(chat)


def test_without_diacritics_reaches_the_same_procedure(chat):
    chat.say("ask_procedure", "lam giay khai sinh")
    assert chat.state.procedure_code == KHAI_SINH


def test_order_channel_then_cases_then_checklist_then_steps_prompt(chat, kb):
    chat.say("ask_procedure", "làm giấy khai sinh cho bé")
    chat.say("choose_in_person", "trực tiếp")
    assert chat.texts == ["Câu 1/2: Anh/chị có Giấy chứng sinh của bé do bệnh viện, cơ sở y tế cấp không?"]
    assert chat.payloads[1] == '/answer_case{"case_answer":"2"}' and chat.payloads[-1] == "/ask_documents"
    chat.say("answer_case", '/answer_case{"case_answer":"2"}', case_answer="2")  # no birth certificate
    assert chat.texts[-1].startswith("Câu 2/2:")  # "Ai sẽ đi đăng ký" (ask: false) is never asked
    chat.say("answer_case", "", case_answer="1")  # parents married: the checklist
    checklist = chat.last.replies[0]
    assert checklist.custom["kind"] == "checklist" and checklist.custom["code"] == KHAI_SINH
    assert "(nộp trực tiếp)" in checklist.text
    items = " | ".join(checklist.custom["items"])
    assert "Văn bản của người làm chứng" in items and "Giấy chứng sinh" not in items
    # the unasked case's document is a "Tùy trường hợp" line, with its condition
    assert any("Tùy trường hợp" in t and "Văn bản ủy quyền" in t and "(nếu:" in t for t in chat.texts)
    assert chat.texts[-1] == "Anh/chị muốn tôi hướng dẫn từng bước thực hiện không?"
    assert chat.payloads == ["/ask_steps", "/human_handoff", "/end_walk"]
    assert chat.state.channel == "in_person"
    chat.say("ask_steps", "/ask_steps")
    assert chat.texts == [f"Bước 1/{len(kb.get(KHAI_SINH).steps_in_person)}: {kb.get(KHAI_SINH).steps_in_person[0]}"]
    _all_short(chat)


def test_khai_sinh_in_citizens_words_reaches_the_checklist_in_four_messages(chat):
    messages = 0
    for intent, text, entities in (
        ("ask_procedure", "con tôi mới sinh cần làm giấy gì", {}),
        ("choose_online", "/choose_online", {}),
        ("answer_case", "/answer_case", {"case_answer": "1"}),
        ("answer_case", "/answer_case", {"case_answer": "1"}),
    ):
        messages += 1
        chat.say(intent, text, **entities)
        if any(r.custom for r in chat.last.replies):
            break
    assert chat.state.procedure_code == KHAI_SINH
    assert any(r.custom and r.custom["kind"] == "checklist" for r in chat.last.replies)
    assert messages == 4


def test_channel_word_in_the_first_request_is_kept_and_not_asked(chat):
    chat.say("ask_procedure", "làm khai sinh online")
    assert chat.state.procedure_code == KHAI_SINH and chat.state.channel == "online"
    assert chat.texts[-1].startswith("Câu 1/2:") and "/choose_online" not in chat.payloads


def test_channel_word_without_diacritics_in_a_documents_question(chat):
    chat.say("ask_procedure", "nop truc tiep dang ky khai sinh cho be")
    assert chat.state.procedure_code == KHAI_SINH and chat.state.channel == "in_person"
    assert chat.texts[-1].startswith("Câu 1/2:")


def test_a_first_request_labelled_as_a_channel_choice_still_finds_the_procedure(chat):
    chat.say("choose_online", "làm giấy khai sinh cho con online")
    assert chat.state.procedure_code == KHAI_SINH and chat.state.channel == "online"
    assert chat.texts[-1].startswith("Câu 1/2:")


def test_postal_choice_gives_the_generic_sourced_postal_steps(chat, kb):
    chat.say("select_procedure", "", procedure_code=KHAI_SINH)
    chat.say("nlu_fallback", "tôi gửi qua bưu điện")  # typed, not pressed: still the postal choice
    assert chat.state.channel == "postal" and chat.texts[-1].startswith("Câu 1/2:")
    chat.say("answer_case", "", case_answer="1")
    chat.say("answer_case", "", case_answer="1")
    assert "(nộp qua bưu chính)" in chat.texts[0]
    chat.say("ask_steps")
    postal = kb.channel_guides.postal
    assert chat.texts[0].startswith(f"Bước 1/{len(postal.steps)}: {postal.steps[0]}")
    assert "Quyết định 45/2016/QĐ-TTg" in chat.texts[0]
    chat.say("next_step")
    assert chat.texts == [f"Bước 2/{len(postal.steps)}: {postal.steps[1]}"]
    for _ in postal.steps[2:]:
        chat.say("next_step")
    chat.say("next_step")
    assert chat.texts[0].startswith("Tóm tắt: Đăng ký khai sinh (nộp qua bưu chính)")
    _all_short(chat)


def test_a_channel_the_procedure_does_not_offer_is_refused_with_the_offered_ones(chat):
    chat.say("choose_postal", "/choose_postal")  # a preference before any procedure
    chat.say("select_procedure", "", procedure_code=ONE_CHANNEL)
    assert "không nộp qua bưu chính được" in chat.texts[1] and "chỉ nộp trực tiếp" in chat.texts[1]
    assert chat.state.channel == "in_person"
    chat.say("ask_procedure", "thôi tôi gửi qua bưu điện")
    assert "không nộp qua bưu chính được" in chat.texts[0] and chat.state.channel == "in_person"


def test_refused_channel_offers_buttons_of_the_offered_ones(kb, search):
    without_postal = [c for c in kb.get(KHAI_SINH).channels if c.kind != "postal"]
    procedure = kb.get(KHAI_SINH).model_copy(update={"channels": without_postal})
    changed = dataclasses.replace(kb, procedures={**kb.procedures, KHAI_SINH: procedure})
    chat = Conversation(Guide(changed, search))
    chat.say("choose_postal")  # a preference before any procedure, not offered by this one
    chat.say("select_procedure", "", procedure_code=KHAI_SINH)
    assert chat.texts[1].startswith("Thủ tục Đăng ký khai sinh không nộp qua bưu chính được.")
    assert chat.payloads == ["/choose_online", "/choose_in_person"] and chat.state.channel is None
    chat.say("choose_online")
    assert chat.state.channel == "online" and chat.texts[-1].startswith("Câu 1/2:")


def test_checklist_builder_applies_removes_then_adds(kb):
    procedure = kb.get(KHAI_SINH)
    base = build_checklist(procedure, {})
    assert [d.id for d in base.documents] == ["to_khai", "giay_chung_sinh", "giay_to_tuy_than"]
    assert not base.complete and {d.id for d in base.maybe} >= {"van_ban_lam_chung", "van_ban_uy_quyen"}
    case = build_checklist(procedure, {"giay_chung_sinh": 4, "cha_me_ket_hon": 1, "nguoi_di_dang_ky": 3})
    assert [d.id for d in case.documents] == ["to_khai", "giay_to_tuy_than", "bien_ban_bo_roi", "van_ban_uy_quyen"]
    assert case.complete and case.maybe == []
    # every asked question answered: complete, the unasked one's document stays a "maybe"
    asked = build_checklist(procedure, {"giay_chung_sinh": 1, "cha_me_ket_hon": 1})
    assert asked.complete and [d.id for d in asked.maybe] == ["van_ban_uy_quyen"]


def test_redirect_answer_switches_procedure_and_says_why(chat, kb):
    chat.say("select_procedure", "", procedure_code=KHAI_SINH)
    chat.say("choose_online")
    chat.say("answer_case", "", case_answer="1")
    chat.say("answer_case", "", case_answer="2")  # not married, father recognises the child
    assert chat.state.procedure_code == NHAN_CHA
    assert "nhận cha, mẹ, con" in chat.texts[0] and "mã 1.000689" in chat.texts[0]
    assert chat.state.channel == "online"  # the channel already chosen is kept
    _all_short(chat)


def test_typed_case_answer_is_matched_to_a_label(chat):
    chat.say("select_procedure", "", procedure_code=KHAI_SINH)
    chat.say("choose_in_person")
    chat.say("nlu_fallback", "khong co giay chung sinh, sinh o nha")
    assert chat.state.case_answers == {"giay_chung_sinh": 2}


def test_single_channel_procedure_skips_the_channel_question(chat):
    chat.say("select_procedure", "", procedure_code=ONE_CHANNEL)
    assert chat.state.channel == "in_person"
    assert any("chỉ nộp trực tiếp" in t for t in chat.texts)
    assert "/choose_online" not in chat.payloads
    checklists = [r.custom for r in chat.last.replies if r.custom]
    assert checklists[0]["items"] == ["Đơn đề nghị – 1 bản chính"]  # no cases: the checklist at once


def test_steps_next_previous_jump_and_finish(chat):
    chat.say("select_procedure", "", procedure_code=ONE_CHANNEL)
    chat.say("ask_steps")
    assert chat.texts == ["Bước 1/2: Đến bộ phận một cửa."]
    assert chat.payloads == ["/next_step", "/previous_step", "/ask_documents", "/end_walk"]
    chat.say("previous_step")
    assert chat.texts[0] == "Đây là bước đầu tiên."
    chat.say("go_to_step", "bước 2", step_number="2")
    assert chat.texts[0].startswith("Bước 2/2")
    chat.say("go_to_step", "bước 9", step_number="9")
    assert "từ bước 1 đến bước 2" in chat.texts[0]
    chat.say("next_step")  # past the last step: recap
    assert chat.texts[0].startswith("Tóm tắt: Thủ tục thử nghiệm")
    assert "8.000 đồng" in chat.texts[0] and "mã hồ sơ" in chat.texts[1]
    assert chat.texts[2] == "Thông tin có hữu ích không?"
    outcome = chat.say("affirm", "có")
    assert outcome.feedback == (True, None)


def test_mid_way_question_answers_then_offers_to_resume(chat, kb):
    chat.say("select_procedure", "", procedure_code=ONE_CHANNEL)
    chat.say("ask_steps")
    chat.say("next_step")
    chat.say("ask_fee", "lệ phí bao nhiêu?")
    assert "8.000 đồng" in chat.texts[0] and "Mã 9.000001" in chat.texts[0]
    assert chat.texts[-1] == "Tiếp tục từ bước 2?"
    chat.say("ask_where", "nộp ở đâu?")
    assert kb.office.phone in chat.texts[0] and "Thứ Hai – Thứ Sáu" in chat.texts[0]
    chat.say("affirm", "có")
    assert chat.texts[0].startswith("Bước 2/2")


def test_mid_way_question_before_steps_repeats_the_pending_question(chat):
    chat.say("select_procedure", "", procedure_code=KHAI_SINH)
    chat.say("ask_time", "mất mấy ngày?")
    assert "1 ngày làm việc" in chat.texts[0]
    assert chat.texts[-1].startswith("Anh/chị muốn nộp hồ sơ") and chat.payloads[0] == "/choose_online"
    chat.say("choose_online")
    chat.say("ask_fee", "lệ phí bao nhiêu")
    assert chat.texts[-1].startswith("Câu 1/2:")


def test_asking_another_procedure_mid_way_asks_to_confirm(kb):
    chat = Conversation(Guide(kb, lambda q, top: RecordedOutcome("sure", [RecordedHit(NHAN_CHA, "x")])))
    chat.say("select_procedure", "", procedure_code=KHAI_SINH)
    chat.say("choose_online")
    chat.say("ask_procedure", "chưa đăng ký kết hôn, bố muốn nhận con khi làm khai sinh")
    assert chat.state.pending_switch == NHAN_CHA and chat.state.procedure_code == KHAI_SINH
    assert chat.payloads == ["/affirm", "/deny"]
    chat.say("deny", "không")
    assert chat.state.procedure_code == KHAI_SINH and chat.state.pending_switch is None
    assert chat.texts[-1].startswith("Câu 1/2")
    chat.say("ask_procedure", "chưa đăng ký kết hôn, bố muốn nhận con khi làm khai sinh")
    chat.say("affirm", "có")
    assert chat.state.procedure_code == NHAN_CHA and chat.state.channel is None  # asked again for the new one


def test_ambiguous_mid_way_offers_buttons_and_a_choice_switches(chat):
    chat.say("select_procedure", "", procedure_code=KHAI_SINH)
    chat.say("ask_procedure", "làm khai sinh cho con khi chưa đăng ký kết hôn")
    if chat.state.pending_switch is None:  # the engine may be unsure between the two khai sinh procedures
        assert NHAN_CHA in chat.state.candidates
        chat.say("select_procedure", "", procedure_code=NHAN_CHA)
    else:
        chat.say("affirm", "có")
    assert chat.state.procedure_code == NHAN_CHA


def test_ambiguous_search_offers_top_three_as_buttons(kb):
    hits = [RecordedHit(KHAI_SINH, "a"), RecordedHit(NHAN_CHA, "b"), RecordedHit(ONE_CHANNEL, "c"), RecordedHit("1.999999", "d")]
    chat = Conversation(Guide(kb, lambda q, top: RecordedOutcome("ambiguous", hits)))
    chat.say("ask_procedure", "làm giấy tờ cho con")
    assert chat.texts == ["Anh/chị muốn hỏi thủ tục nào?"]
    assert chat.payloads == [f'/select_procedure{{"procedure_code":"{c}"}}' for c in (KHAI_SINH, NHAN_CHA, ONE_CHANNEL)]
    chat.say("choose_online")  # a channel before choosing: the candidates are shown again
    assert len(chat.payloads) == 3
    chat.say("select_procedure", "", procedure_code=NHAN_CHA)
    assert chat.state.procedure_code == NHAN_CHA and chat.state.channel == "online"


def test_unknown_is_honest_gives_two_examples_and_handoff(kb):
    chat = Conversation(Guide(kb, lambda q, top: RecordedOutcome("unknown")))
    chat.say("ask_procedure", "thời tiết hôm nay thế nào")
    assert "chưa tìm được thủ tục" in chat.texts[0]
    assert chat.texts[0].count("\"") == 4  # two quoted example phrasings from the knowledge base
    assert chat.payloads == ["/human_handoff"]
    assert chat.state.procedure_code is None


def test_unknown_code_and_missing_procedure_are_clear(chat):
    chat.say("select_procedure", "", procedure_code="1.999999")
    assert "1.999999" in chat.texts[0] and chat.state.procedure_code is None
    chat.say("next_step")
    assert "thủ tục nào" in chat.texts[0]


def test_end_walk_and_feedback_no(chat):
    chat.say("select_procedure", "", procedure_code=KHAI_SINH)
    chat.say("choose_online")
    chat.say("end_walk", "kết thúc")
    assert chat.texts[-1] == "Thông tin có hữu ích không?"
    outcome = chat.say("deny", "không")
    assert outcome.feedback == (False, None)


def test_state_survives_slots_and_tolerates_bad_values():
    state = GuideState(procedure_code=KHAI_SINH, channel="online", case_answers={"a": 2}, case_index=1, step_index=3)
    assert GuideState.from_slots(state.to_slots()) == state
    broken = GuideState.from_slots({"channel": "fax", "case_answers": "x", "case_index": "abc", "step_index": 2.0})
    assert broken.channel is None and broken.case_answers == {} and broken.case_index == 0 and broken.step_index == 2


def test_generic_question_without_procedure_asks_which(chat):
    chat.say("ask_fee", "lệ phí bao nhiêu?")
    assert "thủ tục nào" in chat.texts[0] and chat.state.procedure_code is None


def test_generic_question_during_a_walk_never_switches(chat):
    chat.say("select_procedure", "", procedure_code=ONE_CHANNEL)
    for intent, text in (("ask_documents", "cần giấy tờ gì"), ("ask_where", "nộp ở đâu"), ("ask_fee", "lệ phí bao nhiêu")):
        chat.say(intent, text)
        assert chat.state.procedure_code == ONE_CHANNEL and chat.state.pending_switch is None


def test_documents_question_naming_a_procedure_gives_the_checklist_at_once(chat):
    chat.say("ask_documents", "làm giấy khai sinh cần giấy tờ gì")
    custom = [r.custom for r in chat.last.replies if r.custom]
    assert custom and custom[0]["code"] in ("1.001193", "1.000689")
    assert chat.state.procedure_code == custom[0]["code"]


def test_documents_button_during_questions_shows_checklist_then_the_same_question(chat):
    chat.say("ask_procedure", "tôi muốn làm giấy khai sinh cho con")
    chat.say("ask_documents")  # during the channel question: the checklist, then the same question
    custom = [r.custom for r in chat.last.replies if r.custom][0]
    assert custom["code"] == KHAI_SINH and len(custom["items"]) == 3
    assert chat.texts[-1].startswith("Anh/chị muốn nộp hồ sơ")
    chat.say("choose_online")
    assert chat.payloads[-1] == "/ask_documents"
    chat.say("ask_documents")  # the "Xem giấy tờ ngay" button: conditional documents marked
    assert any("Tùy trường hợp" in t for t in chat.texts)
    assert chat.texts[-1].startswith("Câu 1/2:")


def test_redirect_to_a_procedure_without_the_chosen_channel_asks_again(kb, search):
    target = kb.get(NHAN_CHA)
    without_postal = target.model_copy(update={"channels": [c for c in target.channels if c.kind != "postal"]})
    chat = Conversation(Guide(dataclasses.replace(kb, procedures={**kb.procedures, NHAN_CHA: without_postal}), search))
    chat.say("select_procedure", "", procedure_code=KHAI_SINH)
    chat.say("choose_postal")
    chat.say("answer_case", "", case_answer="1")
    chat.say("answer_case", "", case_answer="2")  # redirect to khai sinh kết hợp nhận cha, mẹ, con
    assert chat.state.procedure_code == NHAN_CHA and chat.state.channel is None
    assert "không nộp qua bưu chính được" in chat.texts[-1]
    assert chat.payloads == ["/choose_online", "/choose_in_person"]
    chat.say("choose_in_person")
    assert chat.texts[-1].startswith("Câu 1/3:")


def test_channel_words_are_whole_folded_words():
    from bot.guidance.channel_words import channel_in, without_channel_words

    assert channel_in("Gửi qua Bưu điện") == "postal" and channel_in("nop truc tiep") == "in_person"
    assert channel_in("làm khai sinh quá hạn") is None and channel_in("/choose_online") is None
    assert channel_in("làm tài khoản VNeID mức 2") is None  # names a procedure, not a channel
    assert without_channel_words("gửi hồ sơ khai tử qua bưu điện") == "ho so khai tu"
    assert without_channel_words("khai sinh quá hạn") == "khai sinh qua han"
