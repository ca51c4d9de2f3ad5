"""The HTTP registry against a real local stub of a one-stop-shop REST API."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from bot.cases.codes import DossierCodes
from bot.cases.config import load_cases_config
from bot.cases.http_registry import HttpCaseRegistry, parse_datetime
from bot.cases.models import Status
from bot.cases.registry import RegistryUnavailable
from bot.cases.service import CaseService
from bot.cases.verification import FailureLimiter
from bot.processes import free_port
from bot.storage import open_database

CODE = "000.00.04.H51-261120-0001"
TOKEN = "tok-123"

# A dossier as a (made-up) provincial one-stop-shop system answers, Vietnamese field names.
REMOTE = {
    "data": {
        "MaHoSo": CODE,
        "ThuTuc": {"Ma": "1.004222", "Ten": "Đăng ký thường trú"},
        "ChuHoSo": {"HoTen": "Trần Thị Bích Ngọc", "SoDienThoai": "0912 345 678", "SoGiayTo": "001190012345"},
        "TrangThai": "4",
        "NgayTiepNhan": "20/11/2026 09:05",
        "NgayHenTra": "29/11/2026 16:30",
        "GiayToThieu": "Hợp đồng thuê nhà có công chứng; Văn bản đồng ý của chủ hộ",
        "CoQuan": "Công an xã Nghĩa Hưng",
        "QuaTrinh": [
            {"ThoiGian": "21/11/2026 08:30", "TrangThai": "2"},
            {"ThoiGian": "20/11/2026 09:05", "TrangThai": "1"},
            {"ThoiGian": "25/11/2026 14:00", "TrangThai": "4", "GhiChu": "Thiếu giấy tờ chỗ ở"},
        ],
    }
}

SECTION = {
    "registry": "http",
    "http": {
        "dossier_path": "/api/hoso/{code}",
        "token": TOKEN,
        "timeout_seconds": 0.5,
        "retries": 2,
        "backoff_seconds": 0,
        "record_path": "data",
        "fields": {
            "code": "MaHoSo",
            "procedure_code": "ThuTuc.Ma",
            "procedure_name": "ThuTuc.Ten",
            "applicant_name": "ChuHoSo.HoTen",
            "phone": "ChuHoSo.SoDienThoai",
            "id_number": "ChuHoSo.SoGiayTo",
            "status": "TrangThai",
            "received_at": "NgayTiepNhan",
            "due_at": "NgayHenTra",
            "missing_documents": "GiayToThieu",
            "agency": "CoQuan",
            "events": "QuaTrinh",
        },
        "event_fields": {"at": "ThoiGian", "status": "TrangThai", "note": "GhiChu"},
        "status_map": {"1": "received", "2": "processing", "4": "supplement_required", "5": "done"},
    },
}


class Stub:
    """Per-test behaviour: a queue of (status, body, delay) answers, then the default."""

    def __init__(self) -> None:
        self.queue: list[tuple[int, Any, float]] = []
        self.default: tuple[int, Any, float] = (200, REMOTE, 0.0)
        self.requests: list[dict[str, str]] = []


@pytest.fixture()
def stub() -> Iterator[tuple[Stub, str]]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            state.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            status, body, delay = state.queue.pop(0) if state.queue else state.default
            if delay:
                time.sleep(delay)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                status, body = 401, {"error": "unauthorized"}
            elif status == 200 and not self.path.endswith(CODE):
                status, body = 404, {"error": "not found"}
            payload = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _registry(base_url: str, **overrides: Any) -> HttpCaseRegistry:
    section = json.loads(json.dumps(SECTION))
    section["http"].update(base_url=base_url, **overrides)
    config = load_cases_config(section)
    assert config.http is not None
    return HttpCaseRegistry(config.http)


def _service(registry: HttpCaseRegistry) -> CaseService:
    conn = open_database(":memory:")
    return CaseService(registry, FailureLimiter(conn), DossierCodes(), "phone_last4")


def test_success_maps_fields_statuses_dates_and_keeps_only_last4(stub: tuple[Stub, str]) -> None:
    state, url = stub
    registry = _registry(url)
    dossier = registry.get(CODE)
    assert dossier is not None
    assert dossier.code == CODE and dossier.procedure_code == "1.004222"
    assert dossier.status is Status.SUPPLEMENT_REQUIRED
    assert dossier.received_at.strftime("%d/%m/%Y %H:%M %z") == "20/11/2026 09:05 +0700"
    assert dossier.due_at is not None and dossier.due_at.day == 29
    assert dossier.missing_documents == ("Hợp đồng thuê nhà có công chứng", "Văn bản đồng ý của chủ hộ")
    assert [e.status for e in dossier.events] == [Status.RECEIVED, Status.PROCESSING, Status.SUPPLEMENT_REQUIRED]
    assert (dossier.phone_last4, dossier.id_last4) == ("5678", "2345")
    assert "0912" not in repr(dossier) and "Trần" not in repr(dossier)
    assert state.requests[0]["path"] == f"/api/hoso/{CODE}"
    assert state.requests[0]["authorization"] == f"Bearer {TOKEN}"
    registry.close()


def test_full_lookup_through_http_verifies_and_answers(stub: tuple[Stub, str]) -> None:
    _, url = stub
    service = _service(_registry(url))
    result = service.lookup("citizen-1", CODE.lower(), "5678")
    assert result.outcome == "found"
    text = service.reply(result).text
    assert "Cần bổ sung" in text and "Hợp đồng thuê nhà" in text
    assert "0912" not in text and "Trần Thị" not in text
    assert service.lookup("citizen-1", CODE, "1234").outcome == "no_match"


def test_404_is_not_found_and_answers_like_a_wrong_pair(stub: tuple[Stub, str]) -> None:
    state, url = stub
    registry = _registry(url)
    assert registry.get("000.00.04.H51-261120-0999") is None
    assert len(state.requests) == 1  # a 404 is an answer, not retried
    service = _service(registry)
    unknown = service.lookup("s", "000.00.04.H51-261120-0999", "5678")
    wrong = service.lookup("s2", CODE, "0000")
    assert unknown.outcome == wrong.outcome == "no_match"
    assert service.reply(unknown).text == service.reply(wrong).text


def test_null_record_is_not_found(stub: tuple[Stub, str]) -> None:
    state, url = stub
    state.default = (200, {"data": None}, 0.0)
    assert _registry(url).get(CODE) is None


def test_timeout_is_retried_then_unavailable(stub: tuple[Stub, str]) -> None:
    state, url = stub
    state.default = (200, REMOTE, 1.5)  # slower than the 0.5 s timeout
    registry = _registry(url, retries=1)
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable, match="timeout after 2 attempt"):
        registry.get(CODE)
    assert time.monotonic() - started < 3
    assert len(state.requests) == 2


def test_5xx_gives_an_honest_busy_reply_and_costs_no_attempt(stub: tuple[Stub, str]) -> None:
    state, url = stub
    state.default = (503, {"error": "maintenance"}, 0.0)
    service = _service(_registry(url))
    result = service.lookup("citizen-2", CODE, "5678")
    assert result.outcome == "unavailable"
    assert len(state.requests) == 3  # first try + 2 retries
    reply = service.reply(result)
    assert "hệ thống tra cứu hồ sơ đang bận" in reply.text.lower()
    assert "thử lại" in reply.text
    assert service.limiter.state("citizen-2").failures == 0  # the citizen is not punished for our outage


def test_a_5xx_then_success_recovers_within_the_retries(stub: tuple[Stub, str]) -> None:
    state, url = stub
    state.queue = [(500, {"error": "boom"}, 0.0), (502, b"<html>bad gateway</html>", 0.0)]
    dossier = _registry(url).get(CODE)
    assert dossier is not None and len(state.requests) == 3


def test_auth_failure_is_unavailable_without_retries(stub: tuple[Stub, str]) -> None:
    state, url = stub
    registry = _registry(url, token="wrong")
    with pytest.raises(RegistryUnavailable, match="HTTP 401"):
        registry.get(CODE)
    assert len(state.requests) == 1


def test_connection_refused_is_unavailable() -> None:
    registry = _registry(f"http://127.0.0.1:{free_port()}", retries=0)  # nothing listens there
    with pytest.raises(RegistryUnavailable):
        registry.get(CODE)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not json", "not JSON"),
        ({"data": {**REMOTE["data"], "TrangThai": "99"}}, "status_map"),
        ({"data": {**REMOTE["data"], "NgayTiepNhan": None}}, "received_at"),
    ],
)
def test_answer_not_fitting_the_mapping_is_unavailable(stub: tuple[Stub, str], body: Any, message: str) -> None:
    state, url = stub
    state.default = (200, body, 0.0)
    with pytest.raises(RegistryUnavailable, match=message) as info:
        _registry(url).get(CODE)
    assert "0912" not in str(info.value) and "Trần" not in str(info.value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-20T09:05:00+07:00", "2026-11-20 09:05 +0700"),
        ("2026-11-20T02:05:00Z", "2026-11-20 02:05 +0000"),
        ("20/11/2026", "2026-11-20 00:00 +0700"),
        ("5/1/2026 7:30:15", "2026-01-05 07:30 +0700"),
    ],
)
def test_parse_datetime_formats(value: str, expected: str) -> None:
    parsed = parse_datetime(value)
    assert parsed is not None and parsed.strftime("%Y-%m-%d %H:%M %z") == expected
