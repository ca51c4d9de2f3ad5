"""Service questions (issue 14) through the REST channel of a live stack: Rasa understands the citizen's
words, action_services answers, and a walk in progress resumes."""

from __future__ import annotations

import uuid

import pytest

from tests.support.stack import ActionServer, RasaServer, trained_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rasa(tmp_path_factory):
    model = trained_model()
    tmp = tmp_path_factory.mktemp("services")
    env = {"BOT_DATABASE": str(tmp / "bot.db"), "BOT_INDEX_DIR": str(tmp / "index")}
    with ActionServer(env=env) as actions:
        with RasaServer(model=model, actions_url=actions.webhook_url) as server:
            yield server


def text_of(messages: list[dict]) -> str:
    parts = []
    for m in messages:
        parts.append(m.get("text") or "")
        parts.extend(f"{b['title']} {b['payload']}" for b in m.get("buttons") or [])
    return "\n".join(parts)


def test_payment_mid_walk_answers_for_the_channel_and_resumes(rasa) -> None:
    sender = f"svc-{uuid.uuid4().hex[:8]}"
    rasa.rest(sender, '/select_procedure{"procedure_code":"1.004222"}')
    rasa.rest(sender, "/choose_online")
    for _ in range(4):
        reply = text_of(rasa.rest(sender, '/answer_case{"case_answer":"1"}'))
        if "/ask_steps" in reply:
            break
    assert "/ask_vneid" in text_of(rasa.rest(sender, "/ask_steps"))  # the first online step offers VNeID help
    answer = text_of(rasa.rest(sender, "trả phí bằng cách nào?"))
    assert "10.000 đồng" in answer and "Cổng Dịch vụ công quốc gia" in answer and "Tiếp tục từ bước 1?" in answer
    assert text_of(rasa.rest(sender, "có")).startswith("Bước 1/")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("phường Hàng Trống cũ giờ là phường nào", "phường Hoàn Kiếm"),
        ("phuong ben nghe quan 1 tp hcm cu gio la phuong nao", "phường Sài Gòn"),
        ("quên mật khẩu VNeID", "Quên mật khẩu VNeID:"),
        ("nộp lệ phí online thế nào", "Cách nộp phí, lệ phí"),
    ],
)
def test_service_questions_on_their_own(rasa, text: str, expected: str) -> None:
    assert expected in text_of(rasa.rest(f"svc-{uuid.uuid4().hex[:8]}", text))
