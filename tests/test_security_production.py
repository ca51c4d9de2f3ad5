"""The production profile on a REAL Rasa server (issue 13): no impersonation through REST or the HTTP API.

- the Rasa HTTP API answers only with RASA_AUTH_TOKEN;
- the REST channel answers only with BOT_REST_TOKEN, and its sender ids are namespaced (`rest:`), so a
  caller naming `telegram:<chat id>` or `kiosk-...` writes into a REST conversation, never the citizen's;
- the kiosk endpoint limits each client address (429 beyond).
Runs in .venv-rasa (`-m rasa_env`).
"""

from __future__ import annotations

from typing import Iterator

import httpx
import pytest

pytest.importorskip("rasa", reason="channel code runs inside the Rasa server: run with .venv-rasa (-m rasa_env)")

from tests.support.stack import RasaServer, trained_model  # noqa: E402

pytestmark = [pytest.mark.rasa_env, pytest.mark.slow]

API_TOKEN = "api-token-for-tests-0123456789"
REST_TOKEN = "rest-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def rasa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaServer]:
    model = trained_model()
    env = {
        "BOT_PROFILE": "production",
        "BOT_PRIVACY_SALT": "salt-for-tests-0123456789",
        "BOT_REST_TOKEN": REST_TOKEN,
        "BOT_DATABASE": str(tmp_path_factory.mktemp("production") / "bot.db"),
    }
    credentials = {"bot.channels.rest.RestInput": None,
                   "bot.channels.kiosk.KioskInput": {"rate_limit": {"max_messages": 5, "per_seconds": 60}}}
    with RasaServer(model=model, credentials=credentials, env=env, auth_token=API_TOKEN) as server:
        yield server


def tracker_events(rasa: RasaServer, sender: str) -> list[dict]:
    answer = httpx.get(f"{rasa.url}/conversations/{sender}/tracker", params={"token": API_TOKEN}, timeout=30)
    assert answer.status_code == 200
    return [e for e in answer.json()["events"] if e["event"] == "user"]


def test_http_api_needs_the_token(rasa: RasaServer) -> None:
    for path in ("/status", "/conversations/telegram:1/tracker", "/domain"):
        assert httpx.get(f"{rasa.url}{path}", timeout=30).status_code == 401
        assert httpx.get(f"{rasa.url}{path}", params={"token": "wrong"}, timeout=30).status_code == 401
    answer = httpx.post(f"{rasa.url}/conversations/telegram:1/messages", json={"text": "xin chào", "sender": "user"},
                        timeout=30)
    assert answer.status_code == 401
    assert httpx.get(f"{rasa.url}/status", params={"token": API_TOKEN}, timeout=30).status_code == 200


def test_rest_needs_the_token(rasa: RasaServer) -> None:
    url = f"{rasa.url}/webhooks/rest/webhook"
    body = {"sender": "app-1", "message": "xin chào"}
    assert httpx.post(url, json=body, timeout=30).status_code == 401
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer wrong"}, timeout=30).status_code == 401
    answer = httpx.post(url, json=body, headers={"Authorization": f"Bearer {REST_TOKEN}"}, timeout=60)
    assert answer.status_code == 200 and answer.json()


@pytest.mark.parametrize("victim", ["telegram:777001", "zalo:zuser-1", "kiosk-0123abcdef"])
def test_rest_cannot_write_into_another_doors_conversation(rasa: RasaServer, victim: str) -> None:
    answer = httpx.post(f"{rasa.url}/webhooks/rest/webhook", json={"sender": victim, "message": "tra cứu hồ sơ"},
                        headers={"Authorization": f"Bearer {REST_TOKEN}"}, timeout=60)
    assert answer.status_code == 200
    assert tracker_events(rasa, victim) == []  # the citizen's conversation is untouched
    assert [e["text"] for e in tracker_events(rasa, f"rest:{victim}")] == ["tra cứu hồ sơ"]


def test_kiosk_rate_limit_per_client(rasa: RasaServer) -> None:
    url = f"{rasa.url}/webhooks/kiosk/webhook"
    statuses = [httpx.post(url, content=b"{}", timeout=30).status_code for _ in range(6)]
    assert statuses == [400] * 5 + [429]
    answer = httpx.post(url, content=b"{}", timeout=30)
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
