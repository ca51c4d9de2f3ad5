"""Channel logic without servers: parsing, signatures, message shapes, mounting rules (runs in .venv-rasa)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import urllib.parse
from pathlib import Path

import pytest

pytest.importorskip("rasa", reason="channel code runs inside the Rasa server: run with .venv-rasa (-m rasa_env)")

from bot.channels import common, kiosk, telegram, zalo  # noqa: E402
from bot.channels.common import BadRequest, Button, Reply  # noqa: E402
from bot.settings import PROJECT_ROOT  # noqa: E402

pytestmark = pytest.mark.rasa_env

SECRETS = (
    "TELEGRAM_BOT_TOKEN TELEGRAM_WEBHOOK_SECRET TELEGRAM_API_BASE_URL ZALO_APP_ID ZALO_OA_SECRET_KEY "
    "ZALO_ACCESS_TOKEN ZALO_REFRESH_TOKEN ZALO_APP_SECRET ZALO_API_BASE_URL ZALO_OAUTH_BASE_URL REGISTRY_EVENTS_SECRET"
).split()


# --- common -------------------------------------------------------------------------------------------


def test_split_text_keeps_words_and_limit() -> None:
    text = ("Tờ khai đăng ký khai sinh bản chính. " * 300).strip()
    pieces = common.split_text(text, 4096)
    assert len(pieces) == 3
    assert all(len(p) <= 4096 for p in pieces)
    assert " ".join(pieces).split() == text.split()  # no word lost or cut


def test_split_text_prefers_paragraphs_and_handles_giant_words() -> None:
    text = "a" * 50 + "\n\n" + "b" * 50
    assert common.split_text(text, 80) == ["a" * 50, "b" * 50]
    assert common.split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert common.split_text("", 10) == [""]
    with pytest.raises(ValueError):
        common.split_text("abc", 0)


def test_to_replies_keeps_buttons_and_joins_custom_to_its_text() -> None:
    messages = [
        {"recipient_id": "x", "text": "Chọn cách nộp", "buttons": [{"title": "Trực tuyến", "payload": "/choose_online"}]},
        {"recipient_id": "x", "text": "Giấy tờ cần chuẩn bị:"},
        {"recipient_id": "x", "custom": {"kind": "checklist", "code": "1.001193", "name": "Khai sinh", "items": ["A"]}},
        {"recipient_id": "x", "buttons": [{"title": "no payload"}]},
    ]
    replies = common.to_replies(messages)
    assert [r.text for r in replies] == ["Chọn cách nộp", "Giấy tờ cần chuẩn bị:"]
    assert replies[0].buttons == [Button("Trực tuyến", "/choose_online")]
    assert replies[1].custom and replies[1].custom["code"] == "1.001193"


def test_checklist_text() -> None:
    text = common.checklist_text({"kind": "checklist", "code": "1.001193", "name": "Đăng ký khai sinh",
                                  "items": ["Tờ khai", "Giấy chứng sinh"]})
    assert text == "Giấy tờ cần chuẩn bị - Đăng ký khai sinh (1.001193)\n1. Tờ khai\n2. Giấy chứng sinh"


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_parse_json_body_rejects_non_objects(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        common.parse_json_body(raw)


# --- mounting -----------------------------------------------------------------------------------------


def test_channels_without_secrets_are_not_mounted_and_say_so_once(monkeypatch, caplog) -> None:
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(common, "_warned_unmounted", set())
    with caplog.at_level(logging.WARNING, logger="bot.channels.common"):
        first = telegram.TelegramInput.from_credentials(None)
        telegram.TelegramInput.from_credentials(None)
        z = zalo.ZaloInput.from_credentials({})
    assert first.config is None and z.config is None
    lines = [r.getMessage() for r in caplog.records]
    assert sum("'telegram' is not mounted" in line for line in lines) == 1
    assert any("'zalo' is not mounted" in line and "ZALO_OA_SECRET_KEY" in line for line in lines)


def test_rasa_app_from_project_credentials_serves_rest_without_channel_secrets(monkeypatch) -> None:
    """The real Rasa start-up path: credentials.yml -> channels -> Sanic app routes."""
    from rasa.core.run import configure_app, create_http_input_channels
    from sanic import Sanic

    monkeypatch.setattr(Sanic, "test_mode", True)  # two apps with Rasa's name in one process
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    channels = create_http_input_channels(None, str(PROJECT_ROOT / "credentials.yml"))
    assert {c.name() for c in channels} == {"rest", "telegram", "zalo", "kiosk", "registry"}
    app = configure_app(channels, enable_api=False, port=0)
    paths = {route.path for route in app.router.routes}
    assert "webhooks/rest/webhook" in paths
    assert "webhooks/kiosk/webhook" in paths
    assert not any(p.startswith(("webhooks/telegram", "webhooks/zalo", "webhooks/registry")) for p in paths)


def test_rasa_app_mounts_channels_when_secrets_are_set(monkeypatch) -> None:
    from rasa.core.run import configure_app, create_http_input_channels
    from sanic import Sanic

    monkeypatch.setattr(Sanic, "test_mode", True)  # two apps with Rasa's name in one process
    env = {"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": "s", "ZALO_APP_ID": "1",
           "ZALO_OA_SECRET_KEY": "k", "ZALO_ACCESS_TOKEN": "t", "REGISTRY_EVENTS_SECRET": "r"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    channels = create_http_input_channels(None, str(PROJECT_ROOT / "credentials.yml"))
    app = configure_app(channels, enable_api=False, port=0)
    paths = {route.path for route in app.router.routes}
    assert {"webhooks/telegram/webhook", "webhooks/zalo/webhook", "webhooks/registry/events"} <= paths


def test_credentials_file_holds_no_secret_values() -> None:
    text = (PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8")
    for line in text.splitlines():
        stripped = line.split("#", 1)[0]
        assert "token:" not in stripped.lower() and "secret:" not in stripped.lower(), line


# --- telegram -----------------------------------------------------------------------------------------


def test_commands_become_rasa_messages() -> None:
    commands = dict(telegram.DEFAULT_COMMANDS)
    assert telegram.command_to_message("/start", commands) == "/greet"
    assert telegram.command_to_message("/start@TthcBot", commands) == "/greet"
    message = telegram.command_to_message('/tracuu HS-2026 "x"', commands)
    assert message is not None and message.startswith("/check_status{")
    assert json.loads(message[len("/check_status"):]) == {"dossier_code": 'HS-2026 "x"'}
    assert telegram.command_to_message("/tracuu", commands) == "/check_status"
    assert telegram.command_to_message("/khong_co", commands) is None
    assert telegram.command_to_message("xin chào", commands) is None
    assert telegram.command_to_message("/khaisinh", {"khaisinh": '/select_procedure{"procedure_code":"1.001193"}'}) == (
        '/select_procedure{"procedure_code":"1.001193"}')


def test_long_payloads_get_short_callback_data() -> None:
    store = telegram.PayloadStore(capacity=2)
    short = '/select_procedure{"procedure_code":"1.001193"}'
    assert store.to_callback_data(short) == short
    long_payload = '/answer_case{"case_answer":"' + "x" * 80 + '"}'
    key = store.to_callback_data(long_payload)
    assert len(key.encode()) <= 64 and store.resolve(key) == long_payload
    store.to_callback_data("/" + "a" * 70)
    store.to_callback_data("/" + "b" * 70)
    assert store.resolve(key) is None  # evicted: answered as an expired button


def test_keyboard_one_button_per_row() -> None:
    markup = telegram.keyboard([Button("Trực tuyến", "/choose_online"), Button("Trực tiếp", "/choose_in_person")],
                               telegram.PayloadStore())
    assert markup is not None
    rows = markup.to_dict()["inline_keyboard"]
    assert rows == [[{"text": "Trực tuyến", "callback_data": "/choose_online"}],
                    [{"text": "Trực tiếp", "callback_data": "/choose_in_person"}]]


# --- zalo ---------------------------------------------------------------------------------------------

ZALO = zalo.ZaloConfig(app_id="4242", oa_secret_key="oa-secret", access_token="tok")


def _signed(event: dict, secret: str = "oa-secret") -> tuple[dict, bytes]:
    raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
    mac = hashlib.sha256(b"4242" + raw + str(event["timestamp"]).encode() + secret.encode()).hexdigest()
    return {"X-ZEvent-Signature": f"mac={mac}"}, raw


def _event(**overrides: object) -> dict:
    event = {"app_id": "4242", "event_name": "user_send_text", "sender": {"id": "u1"},
             "recipient": {"id": "oa1"}, "message": {"text": "xin chào", "msg_id": "m1"},
             "timestamp": str(int(time.time() * 1000))}
    event.update(overrides)
    return event


def test_zalo_signature_accepted() -> None:
    headers, raw = _signed(_event())
    assert zalo.verify_event(ZALO, headers, raw)["sender"]["id"] == "u1"


@pytest.mark.parametrize(
    "case",
    ["no_header", "wrong_secret", "tampered", "stale", "other_app", "bad_timestamp"],
)
def test_zalo_forged_or_stale_events_rejected(case: str) -> None:
    event = _event()
    if case == "stale":
        event["timestamp"] = str(int(time.time() * 1000) - 6 * 60 * 1000)
    if case == "other_app":
        event["app_id"] = "9999"
    if case == "bad_timestamp":
        event["timestamp"] = "yesterday"
    headers, raw = _signed(event, secret="other" if case == "wrong_secret" else "oa-secret")
    if case == "no_header":
        headers = {}
    if case == "tampered":
        raw = raw.replace("xin chào".encode(), "chuyển tiền".encode())
    with pytest.raises(PermissionError):
        zalo.verify_event(ZALO, headers, raw)


def test_zalo_signature_is_checked_before_the_body_is_parsed() -> None:
    with pytest.raises(PermissionError):  # unsigned garbage: refused without being parsed
        zalo.verify_event(ZALO, {"X-ZEvent-Signature": "mac=00"}, b"{oops")
    mac = hashlib.sha256(b"4242" + b"{oops" + b"oa-secret").hexdigest()
    with pytest.raises(BadRequest):  # correctly signed but not JSON: 400
        zalo.verify_event(ZALO, {"X-ZEvent-Signature": f"mac={mac}"}, b"{oops")


@pytest.mark.parametrize("ahead_ms, accepted", [(10_000, True), (5 * 60 * 1000, False)])
def test_zalo_accepts_only_the_recent_past(ahead_ms: int, accepted: bool) -> None:
    headers, raw = _signed(_event(timestamp=str(int(time.time() * 1000) + ahead_ms)))
    if accepted:
        assert zalo.verify_event(ZALO, headers, raw)
    else:
        with pytest.raises(PermissionError, match="future"):
            zalo.verify_event(ZALO, headers, raw)


def test_zalo_signed_timestamp_must_be_the_events() -> None:
    event = _event()
    event["message"]["note"] = '"timestamp": "1"'  # a second timestamp-looking string inside the body
    headers, raw = _signed(event)
    assert zalo.verify_event(ZALO, headers, raw)["timestamp"] == event["timestamp"]


def test_zalo_delivery_id_is_msg_id_else_the_body() -> None:
    assert zalo.delivery_id(_event(), b"x") == "msg:m1"
    no_id = _event(message={"text": "a"})
    assert zalo.delivery_id(no_id, b"x") == zalo.delivery_id(no_id, b"x") != zalo.delivery_id(no_id, b"y")


def test_seen_deliveries_once_per_id_in_the_database_and_in_memory(db_target: str | Path) -> None:
    from bot.channels.dedup import SeenDeliveries
    from bot.storage import open_database

    for seen in (SeenDeliveries(open_database(db_target)), SeenDeliveries(None)):
        assert seen.first_time("zalo", "msg:1", now=1000.0)
        assert not seen.first_time("zalo", "msg:1", now=1001.0)
        assert seen.first_time("telegram", "msg:1", now=1001.0)  # another door, another id space
        assert seen.first_time("zalo", "msg:1", now=1000.0 + seen.keep_seconds + 120)  # forgotten after a day
    # a second process on the same database sees the first one's record (across processes: tests/test_database.py)
    first, second = SeenDeliveries(open_database(db_target)), SeenDeliveries(open_database(db_target))
    assert first.first_time("telegram", "42") and not second.first_time("telegram", "42")


def test_seen_deliveries_survive_a_database_outage_and_go_back_to_it(tmp_path: Path, caplog) -> None:
    from bot.channels.dedup import SeenDeliveries
    from bot.storage import open_database

    db = open_database(tmp_path / "bot.db")
    seen = SeenDeliveries(db)
    db.execute("ALTER TABLE seen_deliveries RENAME TO seen_elsewhere")  # the database stops answering
    with caplog.at_level(logging.ERROR, logger="bot.channels.dedup"):
        assert seen.first_time("zalo", "m1", now=1000.0) and not seen.first_time("zalo", "m1", now=1001.0)
    assert "remembering deliveries in memory" in caplog.text
    db.execute("ALTER TABLE seen_elsewhere RENAME TO seen_deliveries")  # back
    seen._database_down_until = 0.0  # the minute has passed
    assert seen.first_time("zalo", "m2", now=1002.0)
    assert db.execute("SELECT COUNT(*) FROM seen_deliveries").fetchone()[0] == 1  # recorded in the database again


def test_client_rate_limit_per_key_and_window() -> None:
    limit = common.ClientRateLimit(3, 60)
    assert [limit.retry_after("10.0.0.1", now=t) for t in (0, 1, 2)] == [0, 0, 0]
    assert limit.retry_after("10.0.0.1", now=3) == 57
    assert limit.retry_after("10.0.0.2", now=3) == 0
    assert limit.retry_after("10.0.0.1", now=60.5) == 0


def test_one_message_length_rule(monkeypatch) -> None:
    assert common.cut_message("  " + "a" * 5000) == "a" * 2000
    assert kiosk.parse_kiosk_request(json.dumps({"sender": "kiosk-0123abcd", "message": "b" * 3000}).encode())[1] == (
        "b" * 2000)
    from bot.channels import rest

    assert rest.parse_rest_request(json.dumps({"sender": "s", "message": "c" * 3000}).encode()) == ("s", "c" * 2000)
    for body in [b"[]", b'{"sender": 5, "message": "a"}', b'{"sender": "", "message": "a"}',
                 b'{"sender": "a\u0000b", "message": "a"}', b'{"sender": "s", "message": {"a": 1}}',
                 json.dumps({"sender": "s" * 129, "message": "a"}).encode()]:
        with pytest.raises(BadRequest):
            rest.parse_rest_request(body)


def test_rest_channel_by_profile(monkeypatch, caplog) -> None:
    from bot.channels import rest

    def build(env: dict[str, str]) -> rest.RestInput:
        for name in ("BOT_PROFILE", "BOT_REST_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        common.deployment.cache_clear()
        return rest.RestInput.from_credentials(None)

    monkeypatch.setattr(common, "_warned_unmounted", set())
    try:
        dev = build({})
        assert dev.mounted and dev.token is None and dev.prefix == ""
        with caplog.at_level(logging.WARNING, logger="bot.channels.common"):
            closed = build({"BOT_PROFILE": "production"})
        assert not closed.mounted and any("BOT_REST_TOKEN" in r.getMessage() for r in caplog.records)
        guarded = build({"BOT_PROFILE": "production", "BOT_REST_TOKEN": "t" * 20})
        assert guarded.mounted and guarded.token == "t" * 20 and guarded.prefix == "rest:"
    finally:
        common.deployment.cache_clear()


def test_zalo_messages_with_buttons_and_long_text() -> None:
    buttons = [Button(f"Lựa chọn {i}", f"/answer_case{{\"case_answer\":\"{i}\"}}") for i in range(7)]
    bodies = zalo.build_messages("u1", Reply(text="Chữ " * 1200, buttons=buttons))
    texts = [b["message"]["text"] for b in bodies]
    assert all(len(t) <= 2000 for t in texts) and len(bodies) == 4  # 3 text pieces + 1 for the extra buttons
    first_template = bodies[2]["message"]["attachment"]
    assert first_template["type"] == "template"
    assert [b["type"] for b in first_template["payload"]["buttons"]] == ["oa.query.show"] * 5
    assert first_template["payload"]["buttons"][0] == {
        "title": "Lựa chọn 0", "type": "oa.query.show", "payload": '/answer_case{"case_answer":"0"}'}
    assert len(bodies[3]["message"]["attachment"]["payload"]["buttons"]) == 2
    assert all(b["recipient"] == {"user_id": "u1"} for b in bodies)
    assert zalo.build_messages("u1", Reply(text="")) == []


# --- kiosk --------------------------------------------------------------------------------------------


def test_kiosk_request_validation() -> None:
    assert kiosk.parse_kiosk_request(b'{"sender": "kiosk-0123abcd", "message": " xin ch\\u00e0o "}') == (
        "kiosk-0123abcd", "xin chào")
    for body in [b'{"sender": "../../etc", "message": "a"}', b'{"sender": "kiosk-0123abcd", "message": ""}',
                 b'{"sender": "kiosk-0123abcd", "message": 5}', b"nope"]:
        with pytest.raises(BadRequest):
            kiosk.parse_kiosk_request(body)


def test_kiosk_checklist_reply_has_a_qr_code_of_the_checklist() -> None:
    custom = {"kind": "checklist", "code": "1.001193", "name": "Đăng ký khai sinh",
              "items": ["Tờ khai đăng ký khai sinh", "Giấy chứng sinh"]}
    data = kiosk.reply_to_json(Reply(text="Giấy tờ:", custom=custom))
    assert data["qr"]["svg"].startswith("data:image/svg+xml")
    svg = urllib.parse.unquote(data["qr"]["svg"].split(",", 1)[1])
    assert svg.startswith("<svg") and "<path" in svg
    assert "Giấy chứng sinh" in data["qr"]["text"]
    assert "qr" not in kiosk.reply_to_json(Reply(text="Xin chào", custom={"kind": "other"}))


def test_kiosk_qr_drops_items_that_do_not_fit() -> None:
    custom = {"kind": "checklist", "code": "1.000001", "name": "Thủ tục dài",
              "items": [f"Giấy tờ số {i} " + "rất dài " * 20 for i in range(40)]}
    qr = kiosk.reply_to_json(Reply(text="x", custom=custom))["qr"]
    assert "danh sách còn tiếp" in qr["text"]
    assert "Giấy tờ số 0" in qr["text"] and "Giấy tờ số 39" not in qr["text"]


def test_kiosk_static_files_exist_and_use_no_cdn() -> None:
    static = Path(kiosk.STATIC_DIR)
    html = (static / "index.html").read_text(encoding="utf-8")
    assert 'lang="vi"' in html and "Bắt đầu lại" in html and 'aria-live="polite"' in html
    for name in ["index.html", *kiosk.STATIC_FILES]:
        content = (static / name).read_text(encoding="utf-8")
        assert "http://" not in content and "https://" not in content, name
