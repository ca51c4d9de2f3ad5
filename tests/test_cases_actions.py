"""The form's validation and the answer actions, driven with real rasa-sdk trackers as Rasa sends them.

Also the privacy promises: the digits never come back to Rasa as a slot value, and nothing
personal reaches the log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.case_status as case_actions
from bot.cases.codes import DossierCodes
from bot.cases.demo import seed_demo
from bot.cases.models import Dossier, Status
from bot.cases.service import CaseService
from bot.cases.sqlite_registry import SQLiteCaseRegistry
from bot.cases.verification import FailureLimiter
from bot.settings import PROJECT_ROOT
from bot.storage import open_database

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
FULL_PHONE = "0912 384 821"  # what a citizen may type instead of the last four digits


@pytest.fixture()
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Dossier]:
    conn = open_database(tmp_path / "bot.db")
    registry = SQLiteCaseRegistry(conn)
    dossiers = seed_demo(registry, date.today())
    service = CaseService(registry, FailureLimiter(conn), DossierCodes(), "phone_last4")
    monkeypatch.setattr(case_actions, "SERVICE", service)
    return dossiers


def _tracker(sender: str, text: str, requested: str | None, **slots: Any) -> Tracker:
    values = {
        "dossier_code": None,
        "verification_code": None,
        "case_lookup_outcome": None,
        "server_ok": False,
        "requested_slot": requested,
        **slots,
    }
    intent = "provide_verification" if requested == "verification_code" else "check_status"
    return Tracker(
        sender_id=sender,
        slots=values,
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
        # Rasa's temporary tracker for validation ends with the form's ActionExecuted (+ slot candidates:
        # none here, every case slot has a `custom` mapping)
        events=[{"event": "user", "text": text}, {"event": "action", "name": "case_status_form"}],
        paused=False,
        followup_action=None,
        active_loop={"name": "case_status_form"},
        latest_action_name="case_status_form",
    )


def _run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return events, dispatcher.messages


def _slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _validate(sender: str, text: str, requested: str | None, **slots: Any):
    return _run(case_actions.ValidateCaseStatusForm(), _tracker(sender, text, requested, **slots))


def _answer(sender: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return _run(case_actions.ActionCaseStatusLookup(), _tracker(sender, "", None))


def test_domain_declares_the_form_and_custom_mappings() -> None:
    assert DOMAIN["forms"]["case_status_form"]["required_slots"] == ["dossier_code", "verification_code"]
    for slot in ("dossier_code", "verification_code", "case_lookup_outcome"):
        assert DOMAIN["slots"][slot]["influence_conversation"] is False
        assert DOMAIN["slots"][slot]["mappings"] == [{"type": "custom"}]
    for action in (
        "validate_case_status_form",
        "action_ask_dossier_code",
        "action_ask_verification_code",
        "action_case_status_lookup",
        "action_case_status_cancel",
    ):
        assert action in DOMAIN["actions"]


def test_code_question_says_where_the_code_is_written(demo: list[Dossier]) -> None:
    _, messages = _run(case_actions.ActionAskDossierCode(), _tracker("s0", "tra cứu hồ sơ", "dossier_code"))
    text = messages[0]["text"]
    assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in text and "SMS" in text
    assert "000.00.04.H51-261120-0001" in text and len(text) <= 600


def test_code_in_the_first_message_is_taken_at_activation(demo: list[Dossier]) -> None:
    code = demo[0].code
    events, messages = _validate("s1", f"tra cứu hồ sơ {code.lower()} giúp tôi", None)
    assert _slots(events)["dossier_code"] == code
    assert messages == []


def test_badly_shaped_code_is_explained_with_an_example(demo: list[Dossier]) -> None:
    events, messages = _validate("s1", "HS 2024 123", "dossier_code")
    assert _slots(events)["dossier_code"] is None  # the form asks again (the question says where to look)
    assert "chưa đúng dạng" in messages[0]["text"] and "000.00.04.H51-261120-0001" in messages[0]["text"]
    assert "2024" not in messages[0]["text"]  # what the citizen typed is not echoed


@pytest.mark.parametrize("text", ["mã hồ sơ nằm ở đâu", "ma ho so o dau vay", "tôi không thấy mã"])
def test_asking_where_the_code_is_gets_the_question_again(demo: list[Dossier], text: str) -> None:
    events, messages = _validate("s1", text, "dossier_code")
    assert _slots(events) == {"dossier_code": None, "server_ok": True} and messages == []


def test_another_question_instead_of_a_code_is_left_to_other_rules(demo: list[Dossier]) -> None:
    events, messages = _validate("s1", "lệ phí làm khai sinh bao nhiêu", "dossier_code")
    assert events == [] and messages == []  # Rasa rejects the form for this turn


def _full_walk(sender: str, code: str, typed: str) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]]]:
    events, _ = _validate(sender, code, "dossier_code")
    assert _slots(events)["dossier_code"] == code
    events, messages = _validate(sender, typed, "verification_code", dossier_code=code)
    assert messages == []
    answer_events, answer = _answer(sender)
    assert len(answer) == 1
    return events, answer[0]["text"], answer_events


def test_success_ends_the_form_and_answers(demo: list[Dossier]) -> None:
    dossier = next(d for d in demo if d.status is Status.DONE)
    events, text, answer_events = _full_walk("s2", dossier.code, dossier.phone_last4)
    slots = _slots(events)
    assert slots["verification_code"] is None
    assert slots["case_lookup_outcome"] == "found"
    assert slots["requested_slot"] is None  # the form ends: the digits are not asked again
    assert dossier.code in text and "Đã có kết quả, chờ nhận" in text and "Giấy hẹn trả kết quả" in text
    assert _slots(answer_events) == {
        "dossier_code": None, "verification_code": None, "case_lookup_outcome": None, "server_ok": True,
    }


def test_supplement_status_answer(demo: list[Dossier]) -> None:
    dossier = next(d for d in demo if d.status is Status.SUPPLEMENT_REQUIRED)
    _, text, _ = _full_walk("s3", dossier.code, f"4 số cuối là {dossier.phone_last4}")
    assert "Cần bổ sung" in text and dossier.missing_documents[0] in text


def test_wrong_digits_and_unknown_code_get_the_same_answer(demo: list[Dossier]) -> None:
    dossier = demo[0]
    wrong = "0000" if dossier.phone_last4 != "0000" else "1111"
    events, wrong_text, _ = _full_walk("s4", dossier.code, wrong)
    assert _slots(events)["case_lookup_outcome"] == "no_match"
    _, unknown_text, _ = _full_walk("s5", "000.00.04.H51-200101-9999", dossier.phone_last4)
    assert wrong_text == unknown_text and "chưa khớp" in wrong_text and "còn 4 lần" in wrong_text


def test_lockout_is_announced_without_asking_for_digits(demo: list[Dossier]) -> None:
    dossier = demo[0]
    for _ in range(5):
        _full_walk("s6", dossier.code, "9999")
    events, messages = _validate("s6", dossier.code, "dossier_code")
    slots = _slots(events)
    assert slots["case_lookup_outcome"] == "locked" and slots["requested_slot"] is None
    _, answer = _answer("s6")
    assert "tạm khóa" in answer[0]["text"]


def test_garbled_digits_are_asked_again(demo: list[Dossier]) -> None:
    events, messages = _validate("s7", "12", "verification_code", dossier_code=demo[0].code)
    assert _slots(events) == {"verification_code": None, "server_ok": True}
    assert "4 chữ số" in messages[0]["text"]


def test_ask_action_follows_the_configured_mode(demo: list[Dossier]) -> None:
    _, messages = _run(case_actions.ActionAskVerificationCode(), _tracker("s8", "", "verification_code"))
    assert "4 số cuối của số điện thoại" in messages[0]["text"]
    case_actions.SERVICE.verification = "id_last4"  # type: ignore[union-attr]
    _, messages = _run(case_actions.ActionAskVerificationCode(), _tracker("s8", "", "verification_code"))
    assert "căn cước" in messages[0]["text"]


def test_answer_without_a_check_asks_to_retry(demo: list[Dossier]) -> None:
    _, messages = _answer("nobody")
    assert "tra cứu lại" in messages[0]["text"]


def test_cancel_clears_the_form_slots(demo: list[Dossier]) -> None:
    events, messages = _run(case_actions.ActionCaseStatusCancel(), _tracker("s9", "thôi", "verification_code"))
    assert _slots(events)["dossier_code"] is None and "dừng tra cứu" in messages[0]["text"]


def test_digits_never_return_to_rasa_and_never_reach_the_log(
    demo: list[Dossier], caplog: pytest.LogCaptureFixture
) -> None:
    dossier = next(d for d in demo if d.phone_last4 == "4821")
    caplog.set_level(logging.DEBUG)
    events, text, answer_events = _full_walk("+84912384821", dossier.code, FULL_PHONE)
    assert _slots(events)["case_lookup_outcome"] == "found"
    sent_back = json.dumps(events + answer_events, ensure_ascii=False)
    assert "4821" not in sent_back and "384" not in sent_back
    log = caplog.text
    assert "case lookup" in log  # something was logged...
    for secret in ("0912384821", "0912 384 821", "912384821", "4821", dossier.applicant_name):
        assert secret not in log  # ...but no phone, no digits, no name
    assert dossier.applicant_name not in text and "0912" not in text


@pytest.mark.parametrize(
    "template",
    [
        "tra cứu hồ sơ {code} sđt đuôi {last4}",
        "số cuối điện thoại {last4}, mã hồ sơ {code}",
        "cho tôi hỏi hồ sơ {loose} đến đâu rồi, 4 số cuối là {last4}",
    ],
)
def test_code_and_digits_in_one_message_in_either_order(demo: list[Dossier], template: str) -> None:
    dossier = next(d for d in demo if d.status is Status.DONE)
    loose = dossier.code.lower().replace("-", " ")
    text = template.format(code=dossier.code, loose=loose, last4=dossier.phone_last4)
    events, messages = _validate("one", text, None)
    slots = _slots(events)
    assert slots["dossier_code"] == dossier.code and slots["case_lookup_outcome"] == "found"
    assert slots["verification_code"] is None and messages == []  # the digits never go back to Rasa
    _, answer = _answer("one")
    assert "Đã có kết quả, chờ nhận" in answer[0]["text"]


def test_code_alone_does_not_take_its_own_digits_as_the_verification(demo: list[Dossier]) -> None:
    events, _ = _validate("alone", f"tra cứu hồ sơ {demo[0].code}", None)
    assert "verification_code" not in _slots(events) and "case_lookup_outcome" not in _slots(events)


def test_after_a_wrong_try_the_code_just_given_is_kept(demo: list[Dossier]) -> None:
    dossier = next(d for d in demo if d.status is Status.DONE)
    wrong = "0000" if dossier.phone_last4 != "0000" else "1111"
    events, messages = _validate("retry", f"tra cứu hồ sơ {dossier.code} sđt đuôi {wrong}", None)
    assert _slots(events)["case_lookup_outcome"] == "no_match"
    answer_events, answer = _answer("retry")
    assert "chưa khớp" in answer[0]["text"] and "còn 4 lần" in answer[0]["text"]  # same wording and counting
    assert "dossier_code" not in _slots(answer_events)  # kept
    # "số cuối điện thoại là ...": the rule starts the form again; the code held is used, not asked again
    events, messages = _validate("retry", f"số cuối điện thoại là {dossier.phone_last4}", None, dossier_code=dossier.code)
    assert _slots(events)["case_lookup_outcome"] == "found" and messages == []
    answer_events, answer = _answer("retry")
    assert dossier.code in answer[0]["text"] and _slots(answer_events)["dossier_code"] is None
