"""Subscriptions without servers (issue 15): real SQLite, a real HTTP stub for the Telegram sender,
a fixed clock for quiet hours, back-off, Zalo's window, expiry and the kiosk → phone tokens."""

from __future__ import annotations

import json
import stat
import threading
from datetime import date, datetime, time, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from bot.cases.demo import seed_demo
from bot.cases.models import VIETNAM_TZ, Dossier, Status
from bot.cases.sqlite_registry import SQLiteCaseRegistry
from bot.processes import free_port
from bot.settings import Settings, SettingsError
from bot.storage import open_database
from bot.subscriptions.config import SubscriptionsConfig, load_subscriptions_config
from bot.subscriptions.handoff import create_token, deep_link, handed_over, redeem_token
from bot.subscriptions.notices import fingerprint
from bot.subscriptions.protect import RecipientCipher, load_key
from bot.subscriptions.senders import SendFailed, TelegramSender
from bot.subscriptions.signing import sign, signature_ok
from bot.subscriptions.store import SubscriptionStore
from bot.subscriptions.watcher import Watcher, in_quiet_hours

NOON = datetime(2026, 12, 2, 5, 0, tzinfo=timezone.utc)  # 12:00 in Vietnam


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """Outbound transport for the watcher tests: records, or fails while `failing` is set."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failing = False

    def send(self, recipient: str, text: str, buttons: list[dict[str, str]]) -> None:
        if self.failing:
            raise SendFailed("down")
        self.sent.append((recipient, text))


@pytest.fixture
def world(tmp_path: Path, db_target: str | Path) -> Iterator[dict[str, Any]]:
    db = db_target
    registry = SQLiteCaseRegistry.open(db)
    dossiers = seed_demo(registry, date(2026, 12, 1))
    store = SubscriptionStore.open(db)
    cipher = RecipientCipher(load_key(tmp_path / "key"))
    clock = Clock(NOON)
    senders = {"telegram": Recorder(), "zalo": Recorder()}
    config = SubscriptionsConfig(key_file=tmp_path / "key", backoff_seconds=30, max_attempts=3)
    watcher = Watcher(config, store, registry, cipher, senders, clock)
    yield {"db": db, "registry": registry, "store": store, "cipher": cipher, "clock": clock, "senders": senders,
           "watcher": watcher, "dossiers": dossiers}
    store.close()
    registry.close()


def _dossier(world: dict[str, Any], status: Status) -> Dossier:
    return next(d for d in world["dossiers"] if d.status is status)


def _follow(world: dict[str, Any], dossier: Dossier, sender: str = "telegram:42", channel: str = "telegram") -> None:
    created = world["store"].subscribe(sender, channel, sender.split(":")[1], dossier.code, fingerprint(dossier),
                                       world["clock"](), world["cipher"])
    assert created


def _move(world: dict[str, Any], dossier: Dossier, status: Status, minutes: int = 1) -> None:
    world["clock"].now += timedelta(minutes=minutes)
    assert world["registry"].set_status(dossier.code, status, world["clock"]().astimezone(VIETNAM_TZ), "ghi chú")
    world["store"].add_event(f"evt-{dossier.code}-{status.value}", dossier.code, world["clock"]())


def test_one_notice_per_change_never_twice_and_masked(world) -> None:
    dossier = _dossier(world, Status.PROCESSING)
    _follow(world, dossier)
    assert not world["store"].subscribe("telegram:42", "telegram", "42", dossier.code, None, NOON, world["cipher"])
    assert world["watcher"].tick() == 0  # nothing changed since subscribing
    _move(world, dossier, Status.SUPPLEMENT_REQUIRED)
    assert world["watcher"].tick() == 1
    recipient, text = world["senders"]["telegram"].sent[0]
    assert recipient == "42" and dossier.code in text and "Cần bổ sung giấy tờ" in text and "Việc cần làm" in text
    assert dossier.applicant_name not in text and dossier.phone_last4 not in text
    world["store"].add_event("evt-again", dossier.code, world["clock"]())  # same state announced again
    world["watcher"]._last_poll = None  # and a full poll
    assert world["watcher"].tick() == 0
    assert len(world["senders"]["telegram"].sent) == 1


def test_two_replicas_watching_one_database_send_each_notice_once(world) -> None:

    class Slow(Recorder):
        def send(self, recipient: str, text: str, buttons: list[dict[str, str]]) -> None:
            threading.Event().wait(0.2)  # both replicas have read the outbox before either has sent
            super().send(recipient, text, buttons)

    dossier = _dossier(world, Status.PROCESSING)
    _follow(world, dossier)
    _move(world, dossier, Status.SUPPLEMENT_REQUIRED)
    assert world["watcher"].detect() == 1
    replicas = [Watcher(world["watcher"].config, SubscriptionStore.open(world["db"]), world["registry"],
                        world["cipher"], {"telegram": Slow()}, world["clock"]) for _ in range(2)]
    threads = [threading.Thread(target=replica.deliver) for replica in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(len(replica.senders["telegram"].sent) for replica in replicas) == 1
    assert world["store"].sent_count(dossier.code) == 1


def test_recipient_id_is_encrypted_at_rest(world, tmp_path: Path) -> None:
    _follow(world, _dossier(world, Status.PROCESSING), sender="telegram:987654321")
    row = world["store"].conn.execute("SELECT recipient_hash, recipient_enc FROM subscriptions").fetchone()
    assert "987654321" not in row[0] + row[1]
    assert world["cipher"].open(row[1]) == "987654321"
    assert stat.S_IMODE((tmp_path / "key").stat().st_mode) == 0o600
    assert RecipientCipher(load_key(tmp_path / "other-key")).open(row[1]) is None


def test_quiet_hours_hold_notices_until_morning(world) -> None:
    dossier = _dossier(world, Status.PROCESSING)
    _follow(world, dossier)
    world["clock"].now = datetime(2026, 12, 2, 14, 30, tzinfo=timezone.utc)  # 21:30 in Vietnam
    _move(world, dossier, Status.DONE)
    assert world["watcher"].tick() == 0 and world["senders"]["telegram"].sent == []
    world["clock"].now = datetime(2026, 12, 2, 23, 59, tzinfo=timezone.utc)  # 06:59
    assert world["watcher"].tick() == 0
    world["clock"].now = datetime(2026, 12, 3, 0, 1, tzinfo=timezone.utc)  # 07:01
    assert world["watcher"].tick() == 1


@pytest.mark.parametrize("local, quiet", [(time(20, 59), False), (time(21, 0), True), (time(3, 0), True),
                                          (time(7, 0), False), (time(12, 0), False)])
def test_quiet_hours_window_crosses_midnight(local: time, quiet: bool) -> None:
    moment = datetime.combine(date(2026, 12, 2), local, tzinfo=VIETNAM_TZ)
    assert in_quiet_hours(moment, time(21, 0), time(7, 0)) is quiet
    assert in_quiet_hours(moment, None, None) is False


def test_failed_sends_are_retried_with_back_off_then_given_up(world) -> None:
    dossier = _dossier(world, Status.PROCESSING)
    _follow(world, dossier)
    sender = world["senders"]["telegram"]
    sender.failing = True
    _move(world, dossier, Status.DONE)
    assert world["watcher"].tick() == 0
    world["clock"].now += timedelta(seconds=20)
    world["watcher"].tick()
    assert world["store"].conn.execute("SELECT attempts FROM subscription_notices").fetchone()[0] == 1  # waits 30 s
    world["clock"].now += timedelta(seconds=15)
    world["watcher"].tick()
    row = world["store"].conn.execute("SELECT attempts, next_attempt_at FROM subscription_notices").fetchone()
    assert row[0] == 2
    assert datetime.fromisoformat(row[1]) - world["clock"]() == timedelta(seconds=60)  # doubled
    sender.failing = False
    world["clock"].now += timedelta(seconds=61)
    assert world["watcher"].tick() == 1
    # a notice that keeps failing is given up after max_attempts (3 here)
    other = _dossier(world, Status.RECEIVED)
    _follow(world, other, sender="telegram:43")
    sender.failing = True
    _move(world, other, Status.PROCESSING)
    for _ in range(5):
        world["watcher"].tick()
        world["clock"].now += timedelta(minutes=10)
    gave_up = world["store"].conn.execute(
        "SELECT attempts, gave_up_at FROM subscription_notices WHERE sent_at IS NULL").fetchone()
    assert gave_up[0] == 3 and gave_up[1] is not None


def test_zalo_notice_waits_for_the_citizen_inside_the_7_day_window(world) -> None:
    dossier = _dossier(world, Status.PROCESSING)
    store, clock = world["store"], world["clock"]
    _follow(world, dossier, sender="zalo:z1", channel="zalo")
    store.touch_contact("zalo", "zalo:z1", clock() - timedelta(days=8))  # last message 8 days ago
    _move(world, dossier, Status.DONE)
    assert world["watcher"].tick() == 0 and world["senders"]["zalo"].sent == []
    store.touch_contact("zalo", "zalo:z1", clock())  # the citizen writes again
    assert world["watcher"].tick() == 1
    assert world["senders"]["zalo"].sent[0][0] == "z1"


def test_unsubscribe_drops_pending_notices_and_list_shows_what_is_followed(world) -> None:
    a, b = _dossier(world, Status.PROCESSING), _dossier(world, Status.RECEIVED)
    _follow(world, a)
    _follow(world, b)
    assert world["store"].followed_by("telegram:42", NOON) == sorted([a.code, b.code])
    world["clock"].now = datetime(2026, 12, 2, 15, 0, tzinfo=timezone.utc)  # quiet: the notice waits
    _move(world, a, Status.DONE)
    world["watcher"].tick()
    assert world["store"].unsubscribe("telegram:42", a.code, world["clock"]()) == [a.code]
    assert world["store"].followed_by("telegram:42", world["clock"]()) == [b.code]
    world["clock"].now = datetime(2026, 12, 3, 1, 0, tzinfo=timezone.utc)
    assert world["watcher"].tick() == 0


def test_subscription_ends_30_days_after_completion(world) -> None:
    dossier = _dossier(world, Status.PROCESSING)
    _follow(world, dossier)
    _move(world, dossier, Status.DONE)
    world["watcher"].tick()
    expires = world["store"].conn.execute("SELECT expires_at FROM subscriptions").fetchone()[0]
    assert datetime.fromisoformat(expires) == world["clock"]().replace(microsecond=0) + timedelta(days=30)
    assert world["store"].followed_by("telegram:42", world["clock"]() + timedelta(days=31)) == []


def test_events_are_idempotent_by_id(world) -> None:
    assert world["store"].add_event("e-1", "X", NOON) is True
    assert world["store"].add_event("e-1", "X", NOON) is False
    assert world["store"].pending_events() == [("e-1", "X")]


def test_signature() -> None:
    body = b'{"event_id": "1"}'
    assert signature_ok("s3cret", body, sign("s3cret", body))
    assert not signature_ok("s3cret", body, sign("other", body))
    assert not signature_ok("s3cret", body, None)
    assert not signature_ok("s3cret", body + b" ", sign("s3cret", body))


def test_phone_token_works_once_and_expires(db_target: str | Path) -> None:
    conn = open_database(db_target)
    walk = {"procedure_code": "1.001193", "channel": "online", "case_answers": {"a": 1}, "step_index": 2.0}
    token = create_token(conn, "kiosk-abcdefgh", walk, NOON, minutes=10)
    assert len(token) <= 64 and deep_link("@tthc_bot", token) == f"https://t.me/tthc_bot?start={token}"
    assert not handed_over(conn, "kiosk-abcdefgh")
    assert redeem_token(conn, token, NOON + timedelta(minutes=9)) == walk
    assert handed_over(conn, "kiosk-abcdefgh")
    assert redeem_token(conn, token, NOON + timedelta(minutes=9)) is None  # reused
    late = create_token(conn, "kiosk-abcdefgh", walk, NOON, minutes=10)
    assert redeem_token(conn, late, NOON + timedelta(minutes=10, seconds=1)) is None  # expired
    assert redeem_token(conn, "not a token!", NOON) is None
    stored = conn.execute("SELECT token_hash FROM phone_handoffs").fetchall()
    assert all(token not in row[0] for row in stored)  # only a hash is kept


def test_settings_section_fails_loudly_with_field() -> None:
    with pytest.raises(SettingsError, match="quiet_hours.start"):
        load_subscriptions_config(Settings(raw={"subscriptions": {"quiet_hours": {"start": "9pm", "end": "07:00"}}}))
    config = load_subscriptions_config(Settings(raw={"subscriptions": {"quiet_hours": None, "poll_minutes": 1}}))
    assert config.quiet_start is None and config.poll_seconds == 60


class _BotApi(BaseHTTPRequestHandler):
    bodies: list[Any] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _BotApi.bodies.append((self.path, body))
        ok = body["chat_id"] != 500
        data = json.dumps({"ok": ok, "result": {"message_id": 1}}).encode()
        self.send_response(200 if ok else 400)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_telegram_sender_against_a_local_bot_api() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _BotApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sender = TelegramSender("TOKEN", f"http://127.0.0.1:{server.server_address[1]}/bot")
        sender.send("42", "Hồ sơ X", [{"title": "Hủy theo dõi", "payload": "/unsubscribe_case"}])
        path, body = _BotApi.bodies[-1]
        assert path == "/botTOKEN/sendMessage" and body["chat_id"] == 42 and body["text"] == "Hồ sơ X"
        assert body["reply_markup"]["inline_keyboard"] == [[{"text": "Hủy theo dõi",
                                                             "callback_data": "/unsubscribe_case"}]]
        with pytest.raises(SendFailed):
            sender.send("500", "x", [])
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(SendFailed):  # nobody listening any more
        TelegramSender("TOKEN", f"http://127.0.0.1:{server.server_address[1]}/bot", timeout=2).send("42", "x", [])


class _OneStopShop(BaseHTTPRequestHandler):
    """A one-stop-shop REST API whose dossier status the test changes."""

    record: dict[str, Any] = {}

    def do_GET(self) -> None:  # noqa: N802
        data = json.dumps(_OneStopShop.record, ensure_ascii=False).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_watcher_polls_the_http_registry_on_schedule(tmp_path: Path) -> None:
    import copy

    from tests.test_cases_http import CODE, REMOTE, _registry

    _OneStopShop.record = copy.deepcopy(REMOTE)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _OneStopShop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    registry = _registry(f"http://127.0.0.1:{server.server_address[1]}")
    store = SubscriptionStore.open(tmp_path / "bot.db")
    cipher = RecipientCipher(load_key(tmp_path / "key"))
    clock = Clock(NOON)
    sender = Recorder()
    watcher = Watcher(SubscriptionsConfig(poll_seconds=300), store, registry, cipher, {"telegram": sender}, clock)
    try:
        first = registry.get(CODE)
        assert first is not None
        store.subscribe("telegram:7", "telegram", "7", CODE, fingerprint(first), NOON, cipher)
        assert watcher.tick() == 0  # first poll: nothing new
        _OneStopShop.record["data"]["TrangThai"] = "5"
        _OneStopShop.record["data"]["QuaTrinh"].append({"ThoiGian": "02/12/2026 10:00", "TrangThai": "5"})
        clock.now += timedelta(seconds=120)
        assert watcher.tick() == 0  # the next poll is not due yet
        clock.now += timedelta(seconds=200)
        assert watcher.tick() == 1
        assert CODE in sender.sent[0][1] and "Đã có kết quả, chờ nhận" in sender.sent[0][1]
        assert "Trần Thị Bích Ngọc" not in sender.sent[0][1] and "0912" not in sender.sent[0][1]
    finally:
        server.shutdown()
        server.server_close()
        registry.close()
        store.close()
