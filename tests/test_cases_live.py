"""End to end through a real Rasa server and a real action server: the lookup as a citizen sees it.

One Rasa start for the module. Each scenario uses its own sender (the failure limit is per sender).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Iterator

import httpx
import pytest

from bot.cases.demo import seed_demo
from bot.cases.models import Dossier, Status
from bot.cases.sqlite_registry import SQLiteCaseRegistry
from tests.support.stack import ActionServer, RasaServer, trained_model

pytestmark = pytest.mark.slow


class Chat:
    def __init__(self, rasa: RasaServer, dossiers: list[Dossier]) -> None:
        self.rasa = rasa
        self.dossiers = dossiers

    def say(self, sender: str, text: str) -> str:
        return "\n".join(m.get("text", "") for m in self.rasa.rest(sender, text))

    def tracker(self, sender: str) -> dict[str, Any]:
        response = httpx.get(f"{self.rasa.url}/conversations/{sender}/tracker", timeout=30)
        response.raise_for_status()
        return response.json()

    def dossier(self, status: Status, seq: int = 0) -> Dossier:
        return [d for d in self.dossiers if d.status is status][seq]


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    model = trained_model()
    db = tmp_path_factory.mktemp("cases-live") / "bot.db"
    registry = SQLiteCaseRegistry.open(db)
    dossiers = seed_demo(registry, date.today())
    registry.close()
    env = {"BOT_DATABASE": str(db)}
    with ActionServer(env=env) as actions:
        with RasaServer(model=model, actions_url=actions.webhook_url, env=env) as rasa:
            yield Chat(rasa, dossiers)


def test_success_then_tracker_keeps_no_digits(chat: Chat) -> None:
    dossier = chat.dossier(Status.DONE)
    asked = chat.say("live-ok", "tra cứu hồ sơ")
    assert "mã hồ sơ" in asked and "Giấy tiếp nhận hồ sơ" in asked
    assert "4 số cuối" in chat.say("live-ok", dossier.code)
    answer = chat.say("live-ok", dossier.phone_last4)
    assert dossier.code in answer and "Đã có kết quả, chờ nhận" in answer and "Giấy hẹn trả kết quả" in answer
    tracker = chat.tracker("live-ok")
    assert tracker["slots"]["verification_code"] is None and tracker["active_loop"] in ({}, None)
    slot_events = [e for e in tracker["events"] if e["event"] == "slot"]
    assert all(dossier.phone_last4 not in json.dumps(e["value"]) for e in slot_events)
    # the stored conversation (bot.tracker_store.RedactingTrackerStore) keeps the digits nowhere, the code stays
    user_events = [e for e in tracker["events"] if e["event"] == "user"]
    stored_texts = [e["text"] for e in user_events] + [e["parse_data"]["text"] for e in user_events]
    stored_texts += [str(x.get("value")) for e in user_events for x in e["parse_data"].get("entities", [])]
    assert "****" in stored_texts
    assert not any(dossier.phone_last4 in text for text in stored_texts)
    assert dossier.code in stored_texts


def test_code_in_first_message_and_more_documents_needed(chat: Chat) -> None:
    dossier = chat.dossier(Status.SUPPLEMENT_REQUIRED)
    assert "4 số cuối" in chat.say("live-supp", f"hồ sơ {dossier.code.lower()} của tôi đến đâu rồi")
    answer = chat.say("live-supp", f"4 số cuối là {dossier.phone_last4}")
    assert "Cần bổ sung" in answer and dossier.missing_documents[0] in answer


def test_wrong_pair_and_unknown_code_read_the_same(chat: Chat) -> None:
    dossier = chat.dossier(Status.PROCESSING)
    chat.say("live-wrong", "tra cứu hồ sơ")
    chat.say("live-wrong", dossier.code)
    wrong = chat.say("live-wrong", "0000" if dossier.phone_last4 != "0000" else "1111")
    chat.say("live-unknown", "tra cứu hồ sơ")
    chat.say("live-unknown", "000.00.04.H51-200101-9999")
    unknown = chat.say("live-unknown", dossier.phone_last4)
    assert "chưa khớp" in wrong and wrong == unknown


def test_lockout_after_five_failures(chat: Chat) -> None:
    dossier = chat.dossier(Status.RECEIVED)
    for _ in range(4):
        chat.say("live-lock", "tra cứu hồ sơ")
        chat.say("live-lock", dossier.code)
        assert "chưa khớp" in chat.say("live-lock", "9999")
    chat.say("live-lock", "tra cứu hồ sơ")
    chat.say("live-lock", dossier.code)
    assert "tạm khóa" in chat.say("live-lock", "9999")
    chat.say("live-lock", "tra cứu hồ sơ")
    assert "tạm khóa" in chat.say("live-lock", dossier.code)  # told at once, the digits are not asked


def test_lookup_in_the_middle_of_a_guidance_walk(chat: Chat) -> None:
    dossier = chat.dossier(Status.PROCESSING)
    chat.say("live-mid", "tôi muốn làm giấy khai sinh")
    walk_before = chat.tracker("live-mid")["slots"]["procedure_code"]
    assert walk_before
    chat.say("live-mid", "tra cứu hồ sơ")
    chat.say("live-mid", dossier.code)
    answer = chat.say("live-mid", dossier.phone_last4)
    assert dossier.code in answer and "Đang giải quyết" in answer
    tracker = chat.tracker("live-mid")
    assert tracker["slots"]["procedure_code"] == walk_before  # the walk is still there to resume
    assert tracker["active_loop"] in ({}, None)
