"""Issue 12: typed answers at every prompt, several facts in one message, the honest recap, no empty reply.

The walk runs on the project's knowledge base with the real BM25 engine; each turn carries the intent the
trained NLU gives that text (noted beside it), so the walk is tested on what Rasa really hands it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.guidance import Guide, GuideState
from bot.guidance import typed_answers as typed
from bot.guidance.dialogue_eval import DialogueSetError, load_dialogues, walk_intents_from_rules
from bot.knowledge import load_knowledge_base
from bot.settings import PROJECT_ROOT
from tests.guidance_support import Conversation, real_search

KHAI_SINH = "1.001193"
TAM_TRU = "1.004194"
DIALOGUES = PROJECT_ROOT / "tests" / "data" / "dialogues"


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(PROJECT_ROOT / "knowledge", catalog=None)


@pytest.fixture(scope="module")
def guide(kb, tmp_path_factory):
    return Guide(kb, real_search(tmp_path_factory.mktemp("index"), PROJECT_ROOT / "knowledge"))


@pytest.fixture
def chat(guide) -> Conversation:
    return Conversation(guide)


def _khai_sinh_at_question_1(chat: Conversation, channel: str = "choose_in_person") -> None:
    chat.say("ask_procedure", "đăng ký khai sinh cho con")
    chat.say(channel, "trực tiếp" if channel == "choose_in_person" else "online")
    assert chat.texts[-1].startswith("Câu 1/2")


# ----- the examples of the issue ------------------------------------------------------------------------
def test_label_words_typed_answer_question_1_instead_of_restarting(chat):
    _khai_sinh_at_question_1(chat)
    chat.say("ask_procedure", "Có Giấy chứng sinh")  # NLU: ask_procedure
    assert chat.state.procedure_code == KHAI_SINH and chat.state.case_answers == {"giay_chung_sinh": 1}
    assert chat.texts[-1].startswith("Câu 2/2") and not any("đang xem thủ tục" in t for t in chat.texts)


def test_early_answer_to_question_2_is_kept_and_question_1_asked_again(chat):
    _khai_sinh_at_question_1(chat, "choose_online")
    chat.say("ask_procedure", "bố mẹ bé đã đăng ký kết hôn")  # NLU: ask_procedure
    assert chat.state.case_answers == {"cha_me_ket_hon": 1} and chat.state.procedure_code == KHAI_SINH
    assert "Đã đăng ký kết hôn" in chat.texts[0] and chat.texts[-1].startswith("Câu 1/2")
    assert not any("chưa tìm được thủ tục" in t for t in chat.texts)
    chat.say("affirm", "có")  # question 2 is not asked again: the checklist comes
    assert any(t.startswith("Giấy tờ cần chuẩn bị") for t in chat.texts)
    assert chat.state.case_answers == {"cha_me_ket_hon": 1, "giay_chung_sinh": 1}


def test_yes_to_step_by_step_shows_step_1_not_the_checklist_again(chat):
    _khai_sinh_at_question_1(chat)
    chat.say("affirm", "có")
    chat.say("affirm", "rồi")
    assert chat.texts[-1] == "Anh/chị muốn tôi hướng dẫn từng bước thực hiện không?"
    chat.say("affirm", "có")
    assert chat.texts == [t for t in chat.texts if t.startswith("Bước 1/")] and chat.state.step_index == 0


def test_no_to_step_by_step_is_acknowledged(chat):
    _khai_sinh_at_question_1(chat)
    chat.say("affirm", "có")
    chat.say("affirm", "rồi")
    chat.say("deny", "không cần đâu")
    assert chat.texts == ["Dạ vâng. Anh/chị cần hỏi gì thêm cứ nhắn cho tôi."] and chat.state.step_index is None


def test_recap_before_the_checklist_does_not_claim_a_list_was_sent(chat):
    chat.say("ask_procedure", "đăng ký khai sinh")
    chat.say("end_walk", "Kết thúc")
    recap = "\n".join(chat.texts)
    assert "theo danh sách đã gửi" not in recap and "chưa xem danh sách" in recap
    assert all(text.strip() for text in chat.texts)


def test_recap_after_the_checklist_counts_the_documents_shown(chat):
    _khai_sinh_at_question_1(chat)
    chat.say("affirm", "có")
    chat.say("affirm", "rồi")
    chat.say("end_walk", "kết thúc")
    assert "theo danh sách đã gửi" in chat.texts[0]


def test_procedure_channel_and_answers_in_one_message(chat):
    chat.say("ask_procedure", "làm khai sinh trực tiếp, cháu có giấy chứng sinh, bố mẹ đã kết hôn")
    state = chat.state
    assert state.procedure_code == KHAI_SINH and state.channel == "in_person"
    assert state.case_answers == {"giay_chung_sinh": 1, "cha_me_ket_hon": 1}
    assert any(t.startswith("Giấy tờ cần chuẩn bị") for t in chat.texts)
    assert chat.texts[-1] == "Anh/chị muốn tôi hướng dẫn từng bước thực hiện không?"


# ----- every prompt -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "intent,text,answer",
    [
        ("ask_procedure", "không có giấy chứng sinh", 2),
        ("deny", "ko", 2),
        ("nlu_fallback", "2", 2),
        ("ask_where", "cái thứ hai", 2),
        ("ask_procedure", "mang thai hộ", 3),
        ("human_handoff", "tre bi bo roi", 4),
        ("affirm", "có ạ", 1),
    ],
)
def test_case_question_answered_in_words(chat, intent, text, answer):
    _khai_sinh_at_question_1(chat)
    chat.say(intent, text)
    assert chat.state.case_answers.get("giay_chung_sinh") == answer


def test_an_answer_fitting_no_choice_shows_the_choices_again(chat):
    _khai_sinh_at_question_1(chat)
    chat.say("nlu_fallback", "hmm chắc là vậy")
    assert "chưa rõ" in chat.texts[0] and chat.texts[-1].startswith("Câu 1/2")
    assert chat.last.replies[-1].buttons and chat.state.case_answers == {}
    chat.say("out_of_scope", "không biết nữa")
    assert chat.last.other_flow is None and "chưa rõ" in chat.texts[0]


def test_chua_that_fits_two_answers_is_not_guessed(chat):
    _khai_sinh_at_question_1(chat)
    chat.say("affirm", "có")
    chat.say("deny", "chưa")  # "Chưa, cha muốn nhận con luôn" or "Chưa, tạm thời chỉ khai theo mẹ"
    assert "cha_me_ket_hon" not in chat.state.case_answers and chat.texts[-1].startswith("Câu 2/2")


def test_channel_question_answered_in_words_and_by_position(chat):
    chat.say("ask_procedure", "đăng ký kết hôn")
    chat.say("nlu_fallback", "sao cũng được")
    assert chat.state.channel is None and "chưa rõ" in chat.texts[0]
    chat.say("ask_where", "cái thứ ba")  # buttons: Trực tuyến, Trực tiếp, Qua bưu điện
    assert chat.state.channel == "postal"


def test_switch_and_feedback_prompts_take_typed_yes_no(chat):
    chat.say("ask_procedure", "đăng ký tạm trú")
    chat.say("ask_procedure", "đăng ký kết hôn")
    assert chat.state.pending_switch == "1.000894"
    chat.say("nlu_fallback", "ừ chuyển đi")
    assert chat.state.procedure_code == "1.000894"
    chat.say("end_walk", "kết thúc")
    chat.say("affirm", "có, rất hữu ích")
    assert chat.last.feedback == (True, None)


def test_typed_step_commands(chat):
    chat.say("ask_procedure", "đăng ký kết hôn trực tiếp")
    chat.say("answer_case", "lần đầu")
    chat.say("affirm", "có")
    chat.say("nlu_fallback", "buoc 3")
    assert chat.state.step_index == 2
    chat.say("nlu_fallback", "quay lai")
    assert chat.state.step_index == 1
    chat.say("nlu_fallback", "xem lại giấy tờ")
    assert chat.texts[0].startswith("Giấy tờ cần chuẩn bị") and chat.texts[-1] == "Tiếp tục từ bước 2?"
    chat.say("nlu_fallback", "làm lại từ đầu")
    assert chat.state == GuideState(waiting=False) and "bắt đầu lại" in chat.texts[0]


def test_another_flow_gets_a_message_that_is_no_answer(chat):
    chat.say("ask_procedure", "đăng ký tạm trú trực tiếp")
    chat.say("human_handoff", "tôi muốn gặp cán bộ")
    assert chat.last.other_flow == "human_handoff" and chat.last.replies == []
    assert chat.state.procedure_code == TAM_TRU and chat.state.waiting  # untouched
    chat.say("human_handoff", "đúng, về ở với bố mẹ")  # NLU misread: an answer all the same
    assert chat.last.other_flow is None and chat.state.case_answers == {"o_cung_nguoi_than": 2}


def test_candidates_chosen_in_words(chat):
    chat.say("ask_procedure", "cấp căn cước")
    assert chat.state.procedure_code is None and len(chat.state.candidates) == 3
    chat.say("nlu_fallback", "cấp lại thẻ căn cước")
    assert chat.state.procedure_code == "1.014064"


def test_waiting_flag_follows_the_question_on_screen(chat):
    chat.say("ask_procedure", "đăng ký tạm trú")
    assert chat.state.waiting  # channel question
    chat.say("choose_online", "online")
    chat.say("answer_case", "1")
    chat.say("answer_case", "1")
    assert chat.state.waiting  # "hướng dẫn từng bước?"
    chat.say("affirm", "có")
    assert not chat.state.waiting  # a step: free questions go to their own flows


# ----- no empty message anywhere --------------------------------------------------------------------------
TYPED = ("có", "không", "chưa", "rồi", "1", "2", "cái thứ hai", "asdf", "không biết", "bước 2", "quay lại",
         "xem lại giấy tờ", "kết thúc", "có")
INTENTS = ("nlu_fallback", "affirm", "deny", "answer_case", "ask_procedure", "out_of_scope")


def test_no_reply_is_ever_empty_on_any_typed_path(kb, guide):
    """Every curated procedure, every channel, a run of typed answers under several NLU readings."""
    from bot.guidance.texts import CHANNEL_INTENTS, offered_channels

    for code in sorted(kb.curated_codes):
        for kind in offered_channels(kb.get(code)) or [None]:
            for intent in INTENTS:
                chat = Conversation(guide)
                chat.say("select_procedure", procedure_code=code)
                if kind:
                    chat.say(CHANNEL_INTENTS[kind])
                for text in TYPED:
                    outcome = chat.say(intent, text)
                    if outcome.other_flow is None:
                        assert outcome.replies, f"{code} {kind} {intent} {text!r}: no reply"
                    for reply in outcome.replies:
                        assert reply.text.strip(), f"{code} {kind} {intent} {text!r}: empty message"


# ----- typed_answers alone ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,expected",
    [("có", True), ("dạ vâng", True), ("ok", True), ("có, chuyển đi", True), ("ko", False), ("chưa", False),
     ("thôi khỏi", False), ("không cần đâu", False), ("có mất phí không", None), ("lệ phí bao nhiêu", None)],
)
def test_yes_no(text, expected):
    assert typed.yes_no(text) is expected


@pytest.mark.parametrize(
    "text,expected", [("2", 2), ("số 3", 3), ("cái thứ hai", 2), ("cái đầu", 1), ("cái cuối", 4), ("9", None), ("ba", None)]
)
def test_ordinal(text, expected):
    assert typed.ordinal(text, 4) == expected


def test_found_in_needs_the_label_words_and_reads_a_negation():
    labels = ["Đã đăng ký kết hôn", "Chưa, cha muốn nhận con luôn", "Chưa, tạm thời chỉ khai theo mẹ"]
    ignore = {"dang", "ki", "khai", "sinh"}
    assert typed.found_in("làm khai sinh, bố mẹ đã kết hôn", labels, ignore) == 1
    assert typed.found_in("bố mẹ chưa kết hôn", labels, ignore) is None  # two "chưa" answers: not guessed
    assert typed.found_in("đăng ký khai sinh cho con", labels, ignore) is None


@pytest.mark.parametrize(
    "text,command",
    [("bước 3", ("go_to_step", 3)), ("buoc 2 nhe", ("go_to_step", 2)), ("quay lại", ("previous_step", None)),
     ("xem lại giấy tờ", ("ask_documents", None)), ("làm lại từ đầu", ("start_over", None)), ("tiếp", ("next_step", None))],
)
def test_commands(text, command):
    found = typed.command(text)
    assert found is not None and (found.intent, found.number) == command


# ----- the dialogue set ---------------------------------------------------------------------------------
def test_dialogue_set_is_large_and_well_formed():
    dialogues = load_dialogues(DIALOGUES.glob("*.yml"))
    held_out = [d for d in dialogues if d.heldout]
    assert len(dialogues) >= 150 and 25 <= len(held_out) <= 40
    assert sum(d.live for d in dialogues) >= 10 and any(d.live for d in held_out)
    always, when_waiting = walk_intents_from_rules(PROJECT_ROOT / "data" / "rules")
    assert "ask_procedure" in always and "human_handoff" in when_waiting


def test_bad_dialogue_file_fails_loudly_with_file_and_field(tmp_path: Path):
    (tmp_path / "bad.yml").write_text(
        "conversations:\n- id: x\n  turns:\n  - say: 'có'\n    expect: {stag: case}\n", encoding="utf-8"
    )
    with pytest.raises(DialogueSetError, match=r"bad.yml: x: turns\[0\].expect"):
        load_dialogues([tmp_path / "bad.yml"])
