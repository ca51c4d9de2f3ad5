"""Follow a dossier end to end (issue 15): real Rasa server + real action server (with its watcher thread),
a local stub of the Telegram Bot API, the real SQLite registry and `python -m bot cases set-status`.

Quiet hours are switched off in this test's settings file so it gives the same result at any hour
(the quiet-hours rule itself is tested with a fixed clock in tests/test_subscriptions.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import yaml

from bot.cases.demo import seed_demo
from bot.cases.models import VIETNAM_TZ, Dossier, Status
from bot.cases.sqlite_registry import SQLiteCaseRegistry
from bot.settings import PROJECT_ROOT
from tests.support.stack import ActionServer, RasaServer, free_port, trained_model

pytestmark = pytest.mark.slow

BOT_TOKEN = "123456:SUBS-test-token"
WEBHOOK_SECRET = "tg-secret-subs"
EVENTS_SECRET = "registry-shared-secret"
BOT_USERNAME = "tthc_test_bot"


class TelegramStub:
    """Bot API stand-in on localhost: records every call, answers sendMessage like Telegram."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.cond = threading.Condition()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "json" in self.headers.get("Content-Type", ""):
                    body = json.loads(raw or b"{}")
                else:
                    from urllib.parse import parse_qs

                    body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
                method = self.path.rsplit("/", 1)[-1]
                with stub.cond:
                    stub.calls.append((method, body))
                    stub.cond.notify_all()
                result: Any = True
                if method == "sendMessage":
                    result = {"message_id": len(stub.calls), "date": int(time.time()),
                              "chat": {"id": int(body["chat_id"]), "type": "private"}, "text": body["text"]}
                ok = self.path.startswith(f"/bot{BOT_TOKEN}/")
                data = json.dumps({"ok": ok, "result": result} if ok else {"ok": False, "error_code": 401}).encode()
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        with self.cond:
            return [b for m, b in self.calls if m == "sendMessage" and int(b["chat_id"]) == chat_id]

    def wait_sent(self, chat_id: int, predicate, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [b for m, b in self.calls if m == "sendMessage" and int(b["chat_id"]) == chat_id
                         and predicate(b["text"])]
                if found:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching sendMessage to {chat_id} within {timeout}s: "
                                         f"{[b['text'][:80] for b in self.sent_unlocked(chat_id)]}")
                self.cond.wait(remaining)

    def sent_unlocked(self, chat_id: int) -> list[dict[str, Any]]:
        return [b for m, b in self.calls if m == "sendMessage" and int(b["chat_id"]) == chat_id]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Stack:
    def __init__(self, rasa: RasaServer, tg: TelegramStub, db: Path, env: dict[str, str], dossiers: list[Dossier]):
        self.rasa, self.tg, self.db, self.env, self.dossiers = rasa, tg, db, env, dossiers
        self.update_id = 5000

    def dossier(self, status: Status) -> Dossier:
        return next(d for d in self.dossiers if d.status is status)

    def _post(self, update: dict[str, Any]) -> None:
        answer = httpx.post(f"{self.rasa.url}/webhooks/telegram/webhook", json=update, timeout=60,
                            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
        assert answer.status_code == 200, answer.text

    def say(self, chat_id: int, text: str) -> list[dict[str, Any]]:
        """One Telegram message; returns what the bot sent back to that chat for it."""
        before = len(self.tg.sent(chat_id))
        self.update_id += 1
        self._post({"update_id": self.update_id, "message": {
            "message_id": self.update_id, "date": int(time.time()), "text": text,
            "chat": {"id": chat_id, "type": "private"}, "from": {"id": chat_id, "is_bot": False, "first_name": "T"}}})
        return self.tg.sent(chat_id)[before:]

    def press(self, chat_id: int, payload: str) -> list[dict[str, Any]]:
        before = len(self.tg.sent(chat_id))
        self.update_id += 1
        self._post({"update_id": self.update_id, "callback_query": {
            "id": f"cb-{self.update_id}", "chat_instance": "ci", "data": payload,
            "from": {"id": chat_id, "is_bot": False, "first_name": "T"},
            "message": {"message_id": 1, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                        "text": "..."}}})
        return self.tg.sent(chat_id)[before:]

    def look_up(self, chat_id: int, dossier: Dossier) -> dict[str, Any]:
        self.say(chat_id, "tra cứu hồ sơ")
        self.say(chat_id, dossier.code)
        answer = self.say(chat_id, dossier.phone_last4)
        status = next(m for m in answer if dossier.code in m["text"])
        return status

    def set_status(self, code: str, status: str) -> None:
        done = subprocess.run([sys.executable, "-m", "bot", "cases", "set-status", code, status,
                               "--note", "Cán bộ đã cập nhật"],
                              cwd=PROJECT_ROOT, env={**self.env, "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    def event(self, body: dict[str, Any], secret: str = EVENTS_SECRET) -> httpx.Response:
        from bot.subscriptions.signing import sign

        raw = json.dumps(body).encode("utf-8")
        return httpx.post(f"{self.rasa.url}/webhooks/registry/events", content=raw, timeout=10,
                          headers={"Content-Type": "application/json", "X-Registry-Signature": sign(secret, raw)})


def buttons(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup")
    markup = json.loads(markup) if isinstance(markup, str) else (markup or {})
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model = trained_model()
    tmp = tmp_path_factory.mktemp("subs-live")
    db = tmp / "bot.db"
    registry = SQLiteCaseRegistry.open(db)
    dossiers = seed_demo(registry, date.today())
    registry.close()
    settings = yaml.safe_load((PROJECT_ROOT / "settings.yml").read_text(encoding="utf-8"))
    settings["subscriptions"].update({"quiet_hours": None, "tick_seconds": 0.5, "key_file": str(tmp / "key")})
    settings_file = tmp / "settings.yml"
    settings_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    tg = TelegramStub()
    env = {
        "BOT_DATABASE": str(db),
        "BOT_SETTINGS": str(settings_file),
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE_URL": f"{tg.url}/bot",
        "TELEGRAM_BOT_USERNAME": BOT_USERNAME,
        "REGISTRY_EVENTS_SECRET": EVENTS_SECRET,
    }
    credentials = {
        "rest": None,
        "bot.channels.telegram.TelegramInput": None,
        "bot.channels.kiosk.KioskInput": None,
        "bot.channels.registry_events.RegistryEventsInput": None,
    }
    try:
        with ActionServer(env=env) as actions:
            with RasaServer(model=model, actions_url=actions.webhook_url, credentials=credentials, env=env) as rasa:
                yield Stack(rasa, tg, db, env, dossiers)
    finally:
        tg.stop()


def test_subscribe_then_set_status_sends_exactly_one_notice_and_unsubscribe_stops_them(stack: Stack) -> None:
    chat = 880001
    dossier = stack.dossier(Status.PROCESSING)
    status = stack.look_up(chat, dossier)
    assert "/subscribe_case" in buttons(status)
    confirmed = stack.press(chat, "/subscribe_case")
    assert any("Đã đăng ký" in m["text"] and dossier.code in m["text"] for m in confirmed)
    before = len(stack.tg.sent(chat))

    started = time.monotonic()
    stack.set_status(dossier.code, "supplement_required")
    notice = stack.tg.wait_sent(chat, lambda t: "vừa có cập nhật" in t, timeout=10)
    elapsed = time.monotonic() - started
    assert dossier.code in notice[0]["text"] and "Cần bổ sung giấy tờ" in notice[0]["text"]
    assert dossier.applicant_name not in notice[0]["text"] and dossier.phone_last4 not in notice[0]["text"]
    time.sleep(3)
    assert len(stack.tg.sent(chat)[before:]) == 1, f"notice after {elapsed:.1f}s, then more messages"

    stopped = stack.say(chat, "hủy theo dõi")
    assert any("Đã hủy theo dõi" in m["text"] for m in stopped)
    before = len(stack.tg.sent(chat))
    stack.set_status(dossier.code, "done")
    time.sleep(5)
    assert stack.tg.sent(chat)[before:] == []


def test_signed_registry_event_is_idempotent_and_a_forged_one_is_refused(stack: Stack) -> None:
    chat = 880002
    dossier = stack.dossier(Status.RECEIVED)
    stack.look_up(chat, dossier)
    assert any("Đã đăng ký" in m["text"] for m in stack.press(chat, "/subscribe_case"))
    assert any(dossier.code in m["text"] for m in stack.say(chat, "tôi đang theo dõi hồ sơ nào"))
    before = len(stack.tg.sent(chat))
    # the one-stop-shop system changed the dossier (no local event): only its push can tell us
    registry = SQLiteCaseRegistry.open(stack.db)
    registry.set_status(dossier.code, Status.PROCESSING, datetime.now(VIETNAM_TZ))
    registry.close()

    event = {"event_id": "motcua-evt-1", "dossier_code": dossier.code, "status": "processing"}
    assert stack.event(event, secret="forged-secret").status_code == 401
    time.sleep(4)
    assert stack.tg.sent(chat)[before:] == []

    first = stack.event(event)
    second = stack.event(event)
    assert (first.status_code, first.json()["status"]) == (202, "accepted")
    assert (second.status_code, second.json()["status"]) == (200, "duplicate")
    notice = stack.tg.wait_sent(chat, lambda t: "vừa có cập nhật" in t, timeout=10)
    assert dossier.code in notice[0]["text"] and "Đang giải quyết" in notice[0]["text"]
    time.sleep(3)
    assert len(stack.tg.sent(chat)[before:]) == 1
    assert httpx.post(f"{stack.rasa.url}/webhooks/registry/events", content=b"{", timeout=10,
                      headers={"X-Registry-Signature": "sha256=00"}).status_code == 401


def test_kiosk_walk_continues_on_the_phone_once(stack: Stack) -> None:
    kiosk = "kiosk-subslive0001"

    def kiosk_say(text: str) -> list[dict[str, Any]]:
        answer = httpx.post(f"{stack.rasa.url}/webhooks/kiosk/webhook", json={"sender": kiosk, "message": text},
                            timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.json()

    kiosk_say("tôi muốn làm giấy khai sinh cho con")
    kiosk_say("/choose_in_person")
    kiosk_slots = httpx.get(f"{stack.rasa.url}/conversations/{kiosk}/tracker", timeout=30).json()["slots"]
    assert kiosk_slots["procedure_code"] and kiosk_slots["channel"] == "in_person"
    replies = kiosk_say("/continue_on_phone")
    qr = next(r["qr"] for r in replies if r.get("qr"))
    assert qr["kind"] == "phone" and qr["svg"].startswith("data:image/svg+xml")
    assert qr["text"].startswith(f"https://t.me/{BOT_USERNAME}?start=")
    token = qr["text"].split("start=", 1)[1]
    assert httpx.get(f"{stack.rasa.url}/webhooks/kiosk/handoff", params={"sender": kiosk}).json() == {"taken": False}

    chat = 880003
    welcome = stack.say(chat, f"/start {token}")
    assert any("tiếp tục từ máy tra cứu" in m["text"] for m in welcome)
    phone_slots = httpx.get(f"{stack.rasa.url}/conversations/telegram:{chat}/tracker", timeout=30).json()["slots"]
    assert phone_slots["procedure_code"] == kiosk_slots["procedure_code"]
    assert phone_slots["channel"] == "in_person"
    assert httpx.get(f"{stack.rasa.url}/webhooks/kiosk/handoff", params={"sender": kiosk}).json() == {"taken": True}

    again = stack.say(880004, f"/start {token}")  # a reused token: a polite new start
    assert any("đã hết hạn hoặc đã được dùng" in m["text"] for m in again)
