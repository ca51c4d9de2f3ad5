"""Issue 12's examples typed through the live REST stack (real Rasa NLU + rules + action server).

One Rasa server and one action server for the module; each scenario has its own sender.
"""

from __future__ import annotations

import uuid
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
        self.sender = ""

    def new(self) -> "Chat":
        self.sender = f"typed-{uuid.uuid4().hex[:8]}"
        return self

    def say(self, text: str) -> str:
        messages = self.rasa.rest(self.sender, text)
        for message in messages:  # no empty bubble anywhere
            assert (message.get("text") or "").strip() or message.get("buttons") or message.get("image"), message
        return "\n".join(m.get("text") or "" for m in messages)

    def slots(self) -> dict[str, Any]:
        response = httpx.get(f"{self.rasa.url}/conversations/{self.sender}/tracker", timeout=30)
        return response.raise_for_status().json()["slots"]


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    model = trained_model()
    tmp = tmp_path_factory.mktemp("typed-live")
    registry = SQLiteCaseRegistry.open(tmp / "bot.db")
    dossiers = seed_demo(registry, date.today())
    registry.close()
    env = {"BOT_DATABASE": str(tmp / "bot.db"), "BOT_INDEX_DIR": str(tmp / "index")}
    with ActionServer(env=env) as actions:
        with RasaServer(model=model, actions_url=actions.webhook_url, env=env) as rasa:
            yield Chat(rasa, dossiers)


def test_label_words_and_early_answer_typed(chat: Chat) -> None:
    chat.new().say("làm giấy khai sinh cho con")  # a request the search is sure of
    assert "Câu 1/2" in chat.say("trực tiếp")
    reply = chat.say("Có Giấy chứng sinh")
    assert "Câu 2/2" in reply and "đang xem thủ tục" not in reply
    chat.new().say("làm giấy khai sinh cho con")
    chat.say("online")
    reply = chat.say("bố mẹ bé đã đăng ký kết hôn")
    assert "chưa tìm được thủ tục" not in reply and "Câu 1/2" in reply
    assert chat.slots()["case_answers"] == {"cha_me_ket_hon": 1}


def test_yes_to_steps_and_honest_recap(chat: Chat) -> None:
    chat.new().say("làm khai sinh trực tiếp, cháu có giấy chứng sinh, bố mẹ đã kết hôn")
    slots = chat.slots()
    assert slots["channel"] == "in_person" and slots["case_answers"] == {"giay_chung_sinh": 1, "cha_me_ket_hon": 1}
    assert chat.say("có").startswith("Bước 1/")
    chat.new().say("đăng ký khai sinh")
    recap = chat.say("Kết thúc")
    assert "Tóm tắt" in recap and "theo danh sách đã gửi" not in recap


def test_answer_misread_as_another_flow_still_answers(chat: Chat) -> None:
    chat.new().say("đăng ký tạm trú trực tiếp")
    chat.say("1")
    reply = chat.say("cá nhân")  # NLU alone would say human_handoff
    assert "Giấy tờ cần chuẩn bị" in reply and "cán bộ" not in reply.split("\n")[0]
    handoff = chat.new()
    handoff.say("đăng ký tạm trú trực tiếp")
    assert "Câu 1/2" in handoff.say("tôi muốn gặp cán bộ")  # the handoff answers, then the question again


def test_dossier_lookup_in_one_message_and_code_kept_after_a_wrong_try(chat: Chat) -> None:
    dossier = next(d for d in chat.dossiers if d.status is Status.PROCESSING)
    answer = chat.new().say(f"tra cứu hồ sơ {dossier.code} sđt đuôi {dossier.phone_last4}")
    assert dossier.code in answer and "Đang giải quyết" in answer
    wrong = "0000" if dossier.phone_last4 != "0000" else "1111"
    first = chat.new().say(f"tra cứu hồ sơ {dossier.code.lower()} sđt đuôi {wrong}")
    assert "chưa khớp" in first and "còn 4 lần" in first
    second = chat.say(f"số cuối điện thoại là {dossier.phone_last4}")
    assert dossier.code in second and "Đang giải quyết" in second  # the code was not asked again
