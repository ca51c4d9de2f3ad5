"""Channel pieces of issue 15 inside Rasa's environment: Telegram `/start <token>`, the kiosk's phone QR,
the registry-events request parsing. Runs in .venv-rasa (`-m rasa_env`)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("rasa", reason="channel code runs inside the Rasa server: run with .venv-rasa (-m rasa_env)")

from bot.channels.common import BadRequest, Reply  # noqa: E402
from bot.channels.kiosk import PHONE_RESET_SECONDS, reply_to_json  # noqa: E402
from bot.channels.registry_events import parse_event  # noqa: E402
from bot.channels.telegram import DEFAULT_COMMANDS, command_to_message, start_token_message  # noqa: E402

pytestmark = pytest.mark.rasa_env


def test_start_with_a_token_resumes_the_kiosk_walk_and_plain_start_greets() -> None:
    message = start_token_message("/start AbCdEfGhIjKlMnOpQrStUvWx")
    assert message is not None and message.startswith("/resume_from_kiosk{")
    assert json.loads(message[len("/resume_from_kiosk"):]) == {"start_token": "AbCdEfGhIjKlMnOpQrStUvWx"}
    assert start_token_message("/start") is None and start_token_message("/tracuu X") is None
    assert command_to_message("/start", DEFAULT_COMMANDS) == "/greet"
    odd = start_token_message('/start a"}{b')  # whatever follows stays a JSON string
    assert odd is not None and json.loads(odd[len("/resume_from_kiosk"):])["start_token"] == 'a"}{b'


def test_kiosk_draws_the_phone_link_as_a_qr_code_and_asks_for_a_reset() -> None:
    url = "https://t.me/tthc_bot?start=AbCdEfGhIjKlMnOpQrStUvWx"
    data = reply_to_json(Reply(text="Quét mã", custom={"kind": "phone_link", "url": url}))
    assert data["qr"]["kind"] == "phone" and data["qr"]["text"] == url
    assert data["qr"]["svg"].startswith("data:image/svg+xml") and data["reset_after"] == PHONE_RESET_SECONDS
    other = reply_to_json(Reply(text="x", custom={"kind": "phone_link", "url": "https://evil.example/"}))
    assert "qr" not in other  # only Telegram links are drawn


@pytest.mark.parametrize("body", [b"[]", b'{"event_id": "a b", "dossier_code": "X-1234"}',
                                  b'{"event_id": "e1"}', b'{"event_id": "e1", "dossier_code": 5}'])
def test_registry_event_body_is_checked(body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_event(body)


def test_registry_event_code_is_upper_cased() -> None:
    assert parse_event(b'{"event_id": "evt:1", "dossier_code": " h29.12-261120-0007 "}') == (
        "evt:1", "H29.12-261120-0007")
