"""Telegram and Zalo channels inside a REAL Rasa server, against local stub Bot API / OA API servers.

The stubs are plain HTTP servers started here on free ports; the Rasa server gets their URLs through
TELEGRAM_API_BASE_URL / ZALO_API_BASE_URL / ZALO_OAUTH_BASE_URL, so nothing leaves the machine.
Runs in .venv-rasa (`-m rasa_env`); the server tests are also `slow`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import httpx
import pytest

pytest.importorskip("rasa", reason="channel code runs inside the Rasa server: run with .venv-rasa (-m rasa_env)")

from bot.channels.common import Button, Reply  # noqa: E402
from bot.channels.telegram import PayloadStore, send_replies  # noqa: E402
from bot.channels.zalo import ZaloClient, ZaloConfig  # noqa: E402
from bot.settings import PROJECT_ROOT  # noqa: E402
from tests.support.stack import RasaServer, free_port, trained_model  # noqa: E402

pytestmark = pytest.mark.rasa_env

BOT_TOKEN = "123456:TEST-token-never-logged"
WEBHOOK_SECRET = "tg-secret-2026"
ZALO_APP_ID = "4242"
ZALO_OA_SECRET = "oa-secret-key"
CHAT_ID = 777001


# --- stub servers -------------------------------------------------------------------------------------


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class StubServer:
    """Records every request; `respond(call)` gives (status, JSON answer)."""

    respond: Callable[[Call], tuple[int, Any]]
    calls: list[Call] = field(default_factory=list)
    port: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> "StubServer":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = self.headers.get("Content-Type", "")
                if "json" in kind:
                    body: Any = json.loads(raw or b"null")
                else:
                    body = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8")).items()}
                call = Call(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                status, answer = stub.respond(call)
                with stub._cond:
                    stub.calls.append(call)
                    stub._cond.notify_all()
                data = json.dumps(answer).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def clear(self) -> None:
        with self._cond:
            self.calls.clear()

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = 30.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.calls):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"stub did not get the expected calls in {timeout}s: {self.calls}")
                self._cond.wait(remaining)
            return list(self.calls)


class TelegramApi:
    """Answers like the Bot API for the few methods the channel uses."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.next_id = 1

    def __call__(self, call: Call) -> tuple[int, Any]:
        method = call.path.rsplit("/", 1)[-1]
        if not call.path.startswith(f"/bot{BOT_TOKEN}/"):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if method == "sendMessage":
            self.next_id += 1
            chat = {"id": int(call.body["chat_id"]), "type": "private"}
            return 200, {"ok": True, "result": {"message_id": self.next_id, "date": int(time.time()),
                                                "chat": chat, "text": call.body["text"]}}
        if method == "getMe":
            return 200, {"ok": True, "result": {"id": 123456, "is_bot": True, "first_name": "TTHC",
                                                "username": "tthc_test_bot"}}
        if method == "getUpdates":
            offset = int(call.body.get("offset") or 0)
            return 200, {"ok": True, "result": [u for u in self.updates if u["update_id"] >= offset]}
        if method in {"answerCallbackQuery", "deleteWebhook", "sendChatAction"}:
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}


class ZaloApi:
    """OA message API answering -216 for revoked tokens, plus the OAuth refresh endpoint."""

    def __init__(self) -> None:
        self.revoked: set[str] = set()
        self.issued = 0

    def __call__(self, call: Call) -> tuple[int, Any]:
        if call.path == "/v3.0/oa/message/cs":
            if call.headers.get("access_token") in self.revoked:
                return 200, {"error": -216, "message": "Access token is invalid"}
            return 200, {"error": 0, "message": "Success", "data": {"message_id": "m", "user_id": "u"}}
        if call.path == "/v4/oa/access_token":
            self.issued += 1
            return 200, {"access_token": f"fresh-{self.issued}", "refresh_token": f"refresh-{self.issued}",
                         "expires_in": "90000"}
        return 404, {"error": 404, "message": "not found"}


def sent_texts(calls: list[Call]) -> list[str]:
    return [c.body["text"] for c in calls if c.path.endswith("/sendMessage")]


@pytest.fixture(scope="module")
def telegram_stub() -> Iterator[tuple[StubServer, TelegramApi]]:
    api = TelegramApi()
    stub = StubServer(api).start()
    yield stub, api
    stub.stop()


@pytest.fixture(scope="module")
def zalo_stub() -> Iterator[tuple[StubServer, ZaloApi]]:
    api = ZaloApi()
    stub = StubServer(api).start()
    yield stub, api
    stub.stop()


# --- without Rasa: the sending code against the stubs -------------------------------------------------


def test_telegram_long_reply_is_split_and_keyboard_rides_on_last_piece(telegram_stub) -> None:
    import asyncio

    from telegram import Bot

    stub, _ = telegram_stub
    stub.clear()
    text = "Bước tiếp theo: mang giấy tờ đến bộ phận một cửa. " * 200  # ~10,000 characters
    reply = Reply(text=text, buttons=[Button("Bước tiếp", "/next_step"), Button("Xong", "/end_walk")])

    async def run() -> int:
        async with Bot(BOT_TOKEN, base_url=f"{stub.url}/bot") as bot:
            return await send_replies(bot, CHAT_ID, [reply], PayloadStore())

    assert asyncio.run(run()) == 3
    calls = [c for c in stub.calls if c.path.endswith("/sendMessage")]
    assert [len(c.body["text"]) <= 4096 for c in calls] == [True, True, True]
    assert "reply_markup" not in calls[0].body and "reply_markup" not in calls[1].body
    keyboard = json.loads(calls[2].body["reply_markup"])["inline_keyboard"]
    assert keyboard == [[{"text": "Bước tiếp", "callback_data": "/next_step"}],
                        [{"text": "Xong", "callback_data": "/end_walk"}]]
    assert " ".join(c.body["text"] for c in calls).split() == text.split()


def test_zalo_client_refreshes_token_on_error_216(zalo_stub) -> None:
    import asyncio

    stub, api = zalo_stub
    stub.clear()
    api.revoked.add("old-token")
    config = ZaloConfig(app_id=ZALO_APP_ID, oa_secret_key=ZALO_OA_SECRET, access_token="old-token",
                        refresh_token="refresh-0", app_secret="app-secret", api_base_url=stub.url,
                        oauth_base_url=stub.url)

    async def run() -> None:
        client = ZaloClient(config)
        try:
            await client.send({"recipient": {"user_id": "u1"}, "message": {"text": "Xin chào"}})
        finally:
            await client.close()

    asyncio.run(run())
    paths = [c.path for c in stub.calls]
    assert paths == ["/v3.0/oa/message/cs", "/v4/oa/access_token", "/v3.0/oa/message/cs"]
    refresh = stub.calls[1]
    assert refresh.headers["secret_key"] == "app-secret"
    assert refresh.body == {"refresh_token": "refresh-0", "app_id": ZALO_APP_ID, "grant_type": "refresh_token"}
    assert stub.calls[2].headers["access_token"] == config.access_token == "fresh-1"
    assert config.refresh_token == "refresh-1"  # Zalo rotates refresh tokens: the new one is kept


# --- a real Rasa server with both channels ------------------------------------------------------------


@pytest.fixture(scope="module")
def rasa(telegram_stub, zalo_stub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaServer]:
    model = trained_model()
    env = {
        "BOT_DATABASE": str(tmp_path_factory.mktemp("channels-live") / "bot.db"),  # deliveries seen: fresh per run
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE_URL": f"{telegram_stub[0].url}/bot",
        "ZALO_APP_ID": ZALO_APP_ID,
        "ZALO_OA_SECRET_KEY": ZALO_OA_SECRET,
        "ZALO_ACCESS_TOKEN": "live-token",
        "ZALO_REFRESH_TOKEN": "live-refresh",
        "ZALO_APP_SECRET": "live-app-secret",
        "ZALO_API_BASE_URL": zalo_stub[0].url,
        "ZALO_OAUTH_BASE_URL": zalo_stub[0].url,
    }
    credentials = {
        "rest": None,
        "bot.channels.telegram.TelegramInput": None,
        "bot.channels.zalo.ZaloInput": None,
    }
    with RasaServer(model=model, credentials=credentials, env=env) as server:
        yield server


def tg_post(rasa: RasaServer, body: Any, secret: str | None = WEBHOOK_SECRET, raw: bytes | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    content = raw if raw is not None else json.dumps(body).encode("utf-8")
    return httpx.post(f"{rasa.url}/webhooks/telegram/webhook", content=content, headers=headers, timeout=60)


def tg_message(text: str, update_id: int, chat_id: int = CHAT_ID) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Test"}}}


@pytest.mark.slow
def test_telegram_text_message_gets_the_greeting(rasa, telegram_stub) -> None:
    stub, _ = telegram_stub
    stub.clear()
    answer = tg_post(rasa, tg_message("xin chào", 1001))
    assert answer.status_code == 200, answer.text
    texts = sent_texts(stub.wait_for(lambda calls: bool(sent_texts(calls))))
    assert any("Xin chào" in t for t in texts)
    assert all(int(c.body["chat_id"]) == CHAT_ID for c in stub.calls if c.path.endswith("/sendMessage"))
    assert any(c.path.endswith("/sendChatAction") and c.body["action"] == "typing" for c in stub.calls)


@pytest.mark.slow
def test_telegram_button_press_answers_the_callback_and_sends_the_payload(rasa, telegram_stub) -> None:
    stub, _ = telegram_stub
    stub.clear()
    update = {"update_id": 1002, "callback_query": {
        "id": "cbq-1", "chat_instance": "ci", "data": "/greet",
        "from": {"id": CHAT_ID, "is_bot": False, "first_name": "Test"},
        "message": {"message_id": 5, "date": int(time.time()), "chat": {"id": CHAT_ID, "type": "private"},
                    "text": "Chọn một mục"}}}
    assert tg_post(rasa, update).status_code == 200
    calls = stub.wait_for(lambda c: bool(sent_texts(c)))
    answered = [c for c in calls if c.path.endswith("/answerCallbackQuery")]
    assert answered and answered[0].body["callback_query_id"] == "cbq-1"
    assert any("Xin chào" in t for t in sent_texts(calls))


@pytest.mark.slow
def test_telegram_long_message_is_processed(rasa, telegram_stub) -> None:
    stub, _ = telegram_stub
    stub.clear()
    answer = tg_post(rasa, tg_message("xin chào " * 700, 1003))  # ~6,300 characters
    assert answer.status_code == 200
    assert any("Xin chào" in t for t in sent_texts(stub.wait_for(lambda c: bool(sent_texts(c)))))


@pytest.mark.slow
@pytest.mark.parametrize("secret", [None, "wrong-secret", WEBHOOK_SECRET + "x"])
def test_telegram_wrong_secret_is_403_and_nothing_processed(rasa, telegram_stub, secret) -> None:
    stub, _ = telegram_stub
    stub.clear()
    answer = tg_post(rasa, tg_message("xin chào", 1004), secret=secret)
    assert answer.status_code == 403
    time.sleep(1.0)
    assert stub.calls == []


@pytest.mark.slow
def test_telegram_malformed_json_is_400_and_server_keeps_running(rasa, telegram_stub) -> None:
    stub, _ = telegram_stub
    stub.clear()
    assert tg_post(rasa, None, raw=b'{"update_id": 1, "message": ').status_code == 400
    assert tg_post(rasa, None, raw=b"[]").status_code == 400
    assert tg_post(rasa, {"update_id": "x", "message": {"chat": 5}}).status_code == 400
    assert stub.calls == []
    assert tg_post(rasa, tg_message("xin chào", 1005)).status_code == 200
    assert sent_texts(stub.wait_for(lambda c: bool(sent_texts(c))))


@pytest.mark.slow
def test_telegram_unknown_update_type_is_ignored(rasa, telegram_stub) -> None:
    stub, _ = telegram_stub
    stub.clear()
    edited = tg_message("xin chào", 1006)
    edited["edited_message"] = edited.pop("message")
    for update in ({"update_id": 1007, "future_update_kind": {"id": "x", "value": 1}}, edited):
        answer = tg_post(rasa, update)
        assert answer.status_code == 200 and answer.json()["status"] == "ignored"
    time.sleep(1.0)
    assert stub.calls == []


@pytest.mark.slow
def test_telegram_help_and_non_text_messages(rasa, telegram_stub) -> None:
    stub, _ = telegram_stub
    stub.clear()
    assert tg_post(rasa, tg_message("/help", 1010)).json()["status"] == "help"
    photo = tg_message("", 1008)
    del photo["message"]["text"]
    photo["message"]["photo"] = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    assert tg_post(rasa, photo).json()["status"] == "not_text"
    texts = sent_texts(stub.wait_for(lambda c: len(sent_texts(c)) >= 2))
    assert "/tracuu" in texts[0] and "tin nhắn chữ" in texts[1]


@pytest.mark.slow
def test_telegram_polling_runner_forwards_updates(rasa, telegram_stub) -> None:
    stub, api = telegram_stub
    stub.clear()
    api.updates = [tg_message("xin chào", 2001, chat_id=CHAT_ID + 1)]
    env = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "TELEGRAM_API_BASE_URL": f"{stub.url}/bot", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.channels.telegram_polling", "--once", "--rasa-url", rasa.url],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "1 update(s) forwarded" in done.stderr
    assert BOT_TOKEN not in done.stderr + done.stdout
    calls = stub.wait_for(lambda c: bool(sent_texts(c)))
    assert [c.path.rsplit("/", 1)[-1] for c in calls][:2] == ["getMe", "deleteWebhook"]
    assert any(int(c.body["chat_id"]) == CHAT_ID + 1 for c in calls if c.path.endswith("/sendMessage"))
    api.updates = []


# --- Zalo in the real server --------------------------------------------------------------------------


def zalo_post(rasa: RasaServer, event: dict[str, Any], secret: str = ZALO_OA_SECRET,
              raw: bytes | None = None) -> httpx.Response:
    body = raw if raw is not None else json.dumps(event, ensure_ascii=False).encode("utf-8")
    timestamp = str(event.get("timestamp", "")) if event else ""
    mac = hashlib.sha256(ZALO_APP_ID.encode() + body + timestamp.encode() + secret.encode()).hexdigest()
    return httpx.post(f"{rasa.url}/webhooks/zalo/webhook", content=body,
                      headers={"X-ZEvent-Signature": f"mac={mac}", "Content-Type": "application/json"}, timeout=10)


def zalo_event(text: str, user_id: str = "zuser-1", name: str = "user_send_text", age_ms: int = 0) -> dict[str, Any]:
    return {"app_id": ZALO_APP_ID, "user_id_by_app": "app-" + user_id, "event_name": name,
            "sender": {"id": user_id}, "recipient": {"id": "oa-1"},
            "message": {"text": text, "msg_id": f"m-{time.time_ns()}"},
            "timestamp": str(int(time.time() * 1000) - age_ms)}


def zalo_texts(calls: list[Call]) -> list[str]:
    return [c.body["message"]["text"] for c in calls if c.path == "/v3.0/oa/message/cs"]


@pytest.mark.slow
def test_zalo_text_message_answered_fast_and_replied_async(rasa, zalo_stub) -> None:
    stub, _ = zalo_stub
    stub.clear()
    started = time.monotonic()
    answer = zalo_post(rasa, zalo_event("xin chào"))
    elapsed = time.monotonic() - started
    assert answer.status_code == 200 and answer.json()["status"] == "accepted"
    assert elapsed < 2.0, f"webhook answered in {elapsed:.2f}s"
    calls = stub.wait_for(lambda c: bool(zalo_texts(c)))
    sent = [c for c in calls if c.path == "/v3.0/oa/message/cs"]
    assert sent[0].headers["access_token"] == "live-token"
    assert sent[0].body["recipient"] == {"user_id": "zuser-1"}
    assert any("Xin chào" in t for t in zalo_texts(calls))


@pytest.mark.slow
def test_zalo_button_payload_comes_back_as_text(rasa, zalo_stub) -> None:
    stub, _ = zalo_stub
    stub.clear()
    assert zalo_post(rasa, zalo_event("/greet", user_id="zuser-2")).status_code == 200
    calls = stub.wait_for(lambda c: bool(zalo_texts(c)))
    assert any("Xin chào" in t for t in zalo_texts(calls))


@pytest.mark.slow
def test_zalo_long_message_is_processed(rasa, zalo_stub) -> None:
    stub, _ = zalo_stub
    stub.clear()
    assert zalo_post(rasa, zalo_event("xin chào " * 700, user_id="zuser-3")).status_code == 200
    assert zalo_texts(stub.wait_for(lambda c: bool(zalo_texts(c))))


@pytest.mark.slow
@pytest.mark.parametrize("case", ["bad_signature", "stale", "no_signature"])
def test_zalo_forged_or_stale_is_403_and_nothing_sent(rasa, zalo_stub, case) -> None:
    stub, _ = zalo_stub
    stub.clear()
    event = zalo_event("xin chào", age_ms=6 * 60 * 1000 if case == "stale" else 0)
    if case == "no_signature":
        answer = httpx.post(f"{rasa.url}/webhooks/zalo/webhook", json=event, timeout=10)
    else:
        answer = zalo_post(rasa, event, secret="forged" if case == "bad_signature" else ZALO_OA_SECRET)
    assert answer.status_code == 403
    time.sleep(1.5)
    assert stub.calls == []


@pytest.mark.slow
def test_zalo_malformed_json_is_400_and_server_keeps_running(rasa, zalo_stub) -> None:
    stub, _ = zalo_stub
    stub.clear()
    assert zalo_post(rasa, {}, raw=b'{"app_id": "4242", ').status_code == 400
    assert zalo_post(rasa, zalo_event("xin chào", user_id="zuser-4")).status_code == 200
    assert zalo_texts(stub.wait_for(lambda c: bool(zalo_texts(c))))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["user_send_sticker", "user_send_image"])
def test_zalo_non_text_gets_the_same_text_only_reply_as_telegram(rasa, zalo_stub, name) -> None:
    from bot.channels.common import NOT_TEXT_REPLY

    stub, _ = zalo_stub
    stub.clear()
    event = zalo_event("", user_id="zuser-nt", name=name)
    event["message"] = {"msg_id": f"m-{time.time_ns()}", "attachments": [{"type": name.rsplit("_", 1)[-1]}]}
    answer = zalo_post(rasa, event)
    assert answer.status_code == 200 and answer.json()["status"] == "not_text"
    assert zalo_texts(stub.wait_for(lambda c: bool(zalo_texts(c)))) == [NOT_TEXT_REPLY]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["oa_send_text", "user_seen_message", "follow"])
def test_zalo_echoes_and_unknown_events_are_ignored(rasa, zalo_stub, name) -> None:
    stub, _ = zalo_stub
    stub.clear()
    answer = zalo_post(rasa, zalo_event("xin chào", name=name))
    assert answer.status_code == 200 and answer.json()["status"].startswith("ignored")
    time.sleep(1.5)
    assert stub.calls == []


@pytest.mark.slow
def test_zalo_expired_token_is_refreshed_inside_the_server(rasa, zalo_stub) -> None:
    stub, api = zalo_stub
    stub.clear()
    api.revoked.add("live-token")
    assert zalo_post(rasa, zalo_event("xin chào", user_id="zuser-5")).status_code == 200
    calls = stub.wait_for(lambda c: any(x.path == "/v3.0/oa/message/cs" and x.headers.get("access_token",
                                                                                          "").startswith("fresh")
                                        for x in c))
    refresh = [c for c in calls if c.path == "/v4/oa/access_token"]
    assert len(refresh) == 1 and refresh[0].body["refresh_token"] == "live-refresh"


@pytest.mark.slow
def test_rest_still_served_and_no_secret_in_server_log(rasa) -> None:
    answer = httpx.post(f"{rasa.url}/webhooks/rest/webhook", json={"sender": "rest-1", "message": "xin chào"},
                        timeout=60)
    assert answer.status_code == 200 and answer.json()
    log = rasa.log_path.read_text(errors="replace") if rasa.log_path else ""
    for secret in (BOT_TOKEN, WEBHOOK_SECRET, ZALO_OA_SECRET, "live-app-secret", "live-refresh"):
        assert secret not in log
