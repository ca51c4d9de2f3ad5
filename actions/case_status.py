"""Dossier status lookup in the dialogue: `case_status_form` and the actions around it.

Privacy design (what Rasa keeps):
- `verification_code` is filled only here (slot mapping `custom`), held in this process while
  the form's validation checks it, and returned to Rasa as `None`: no tracker event ever holds
  the digits as a slot value.
- The check runs in the validation; its outcome goes to `action_case_status_lookup` through
  `CaseService.hand_over` (database table case_handovers, 5 minutes, any replica), and only the outcome word
  (`case_lookup_outcome`) is a slot.
- What remains in the tracker is the citizen's own message text (Rasa stores every UserUttered
  text as received); see bot/cases/README.md.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import SERVER_OK
from actions.subscriptions import offer_subscription
from bot.cases.replies import ask_code_text, ask_verification_text, invalid_code_text, invalid_verification_text
from bot.cases.service import CaseService, LookupResult, get_case_service
from bot.cases.verification import extract_last4

OUTCOME_SLOT = "case_lookup_outcome"

# Tests put a service built on a temporary database here; None means the one from settings.
SERVICE: CaseService | None = None


def _service() -> CaseService:
    return SERVICE or get_case_service()


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


# "mã ở đâu", "ma ho so o dau", "không thấy mã": a question about the code, answered by asking again.
_WHERE_WORDS = re.compile(r"\b(o dau|cho nao|khong thay|khong co ma|tim ma|ma la gi|ma nao)\b")
NOT_GIVEN = "\x00not-given"


def _asks_where_the_code_is(text: str) -> bool:
    plain = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    plain = "".join(ch for ch in plain if unicodedata.category(ch) != "Mn")
    return bool(_WHERE_WORDS.search(plain)) and bool(re.search(r"\bma\b", plain))


def _clear() -> list[EventType]:
    return [SlotSet("dossier_code", None), SlotSet("verification_code", None), SlotSet(OUTCOME_SLOT, None)]


class ValidateCaseStatusForm(FormValidationAction):
    """Fills the dossier code, then verifies the last four digits and ends the form with the outcome."""

    def name(self) -> str:
        return "validate_case_status_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # Once checked (or locked out), the verification value is not asked again: the form ends.
        if tracker.get_slot(OUTCOME_SLOT):
            return [slot for slot in domain_slots if slot != "verification_code"]
        return domain_slots

    async def extract_dossier_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        text = _text(tracker)
        codes = _service().codes
        held = tracker.get_slot("dossier_code")
        if requested not in (None, "dossier_code", "verification_code") or text.startswith("/"):
            return {}
        entity = next(tracker.get_latest_entity_values("dossier_code"), None)
        code = (codes.find(entity) if entity else None) or codes.find(text)
        if code:  # also a code typed where the digits were asked: the citizen gives (or corrects) it
            return {"dossier_code": code}
        if held or requested == "verification_code":
            return {}
        if requested == "dossier_code" and not text.startswith("/"):
            if re.search(r"\d", text):
                return {"dossier_code": text}  # a try of the wrong shape: validation says so, the form asks again
            if _asks_where_the_code_is(text):
                return {"dossier_code": NOT_GIVEN}  # the form's question says where the code is written
        return {}  # not an answer (e.g. another question): the form is rejected and other rules answer

    async def validate_dossier_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        service = _service()
        if value == NOT_GIVEN:
            return {"dossier_code": None, "server_ok": True}
        code = service.codes.match(str(value or ""))
        if code is None:
            dispatcher.utter_message(text=invalid_code_text(service.codes))
            return {"dossier_code": None, "server_ok": True}
        state = await asyncio.to_thread(service.limiter.state, tracker.sender_id)
        if state.locked:  # do not even ask for the digits
            service.hand_over(tracker.sender_id, LookupResult("locked", retry_after_seconds=state.retry_after_seconds))
            return {"dossier_code": code, OUTCOME_SLOT: "locked", "server_ok": True}
        return {"dossier_code": code, "server_ok": True}

    async def extract_verification_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        text = _text(tracker)
        if text.startswith("/") or requested not in (None, "dossier_code", "verification_code"):
            return {}
        # the code's own digits are not the verification value: "mã ... sđt đuôi 0915", in either order
        located = _service().codes.locate(text)
        rest = located[1] if located else text
        if requested != "verification_code":
            # in the message that gives (or, after a wrong try, follows) the code: only clear digits count
            has_code = located is not None or bool(tracker.get_slot("dossier_code"))
            if not has_code or extract_last4(rest) is None:
                return {}
        if not re.search(r"\d", rest):
            return {}  # not an answer: rejected, so a question or "thôi" is handled by other rules
        return {"verification_code": rest}  # lives only in this action run; validation returns None

    async def validate_verification_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        service = _service()
        last4 = extract_last4(str(value or ""))
        if last4 is None:
            dispatcher.utter_message(text=invalid_verification_text(service.verification))
            return {"verification_code": None, "server_ok": True}
        code = tracker.get_slot("dossier_code") or ""
        if not code or tracker.get_slot(OUTCOME_SLOT):  # no valid code yet (it is asked first), or locked
            return {"verification_code": None, "server_ok": True}
        result = await asyncio.to_thread(service.lookup, tracker.sender_id, code, last4)
        service.hand_over(tracker.sender_id, result)
        return {"verification_code": None, OUTCOME_SLOT: result.outcome, "server_ok": True}


class ActionAskDossierCode(Action):
    """Asks for the dossier code, saying where it is written, with an example of the configured format."""

    def name(self) -> str:
        return "action_ask_dossier_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=ask_code_text(_service().codes))
        return [SERVER_OK]


class ActionAskVerificationCode(Action):
    """Asks for the last four digits of the phone or the ID number, as configured."""

    def name(self) -> str:
        return "action_ask_verification_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=ask_verification_text(_service().verification))
        return [SERVER_OK]


class ActionCaseStatusLookup(Action):
    """Answers once the form is done: the dossier's status, or why it cannot be shown."""

    def name(self) -> str:
        return "action_case_status_lookup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        service = _service()
        result = service.take_over(tracker.sender_id)
        if result is None:  # the action server restarted between check and answer
            dispatcher.utter_message(
                text="Tôi chưa lấy được kết quả tra cứu. Anh/chị vui lòng tra cứu lại.",
                buttons=[{"title": "Tra cứu lại", "payload": "/check_status"}],
            )
        else:
            reply = await asyncio.to_thread(service.reply, result)
            reply = offer_subscription(tracker, result.outcome, result.code, reply)  # issue 15
            dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None)
            if result.outcome == "no_match":  # the next try ("số cuối là 7302") is for the code just given
                return [SlotSet("verification_code", None), SlotSet(OUTCOME_SLOT, None), SERVER_OK]
        return [*_clear(), SERVER_OK]


class ActionCaseStatusCancel(Action):
    """The citizen stopped the lookup ("thôi", "không tra nữa")."""

    def name(self) -> str:
        return "action_case_status_cancel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text="Dạ, tôi dừng tra cứu hồ sơ. Khi cần, anh/chị nhắn \"tra cứu hồ sơ\" nhé.")
        return [*_clear(), SERVER_OK]
