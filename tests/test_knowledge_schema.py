"""Schema round trip and model rules of bot.knowledge.models."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from bot.knowledge.models import Fee, Office, Procedure, ProcessingTime
from bot.knowledge.validator import parse_procedure_file
from bot.settings import PROJECT_ROOT

CURATED = sorted((PROJECT_ROOT / "knowledge" / "procedures").glob("*.yaml"))


def sample() -> dict:
    return {
        "code": "1.001193",
        "name": "Thủ tục đăng ký khai sinh",
        "short_name": "Đăng ký khai sinh",
        "aliases": ["làm giấy khai sinh"],
        "example_questions": ["con tôi mới sinh cần làm giấy gì"],
        "field": "Hộ tịch",
        "level": ["xa"],
        "who": "Cha, mẹ của trẻ",
        "agency": "Ủy ban nhân dân cấp xã",
        "channels": [
            {"kind": "online", "processing_time": {"value": 1, "unit": "working_days"},
             "fee": {"free": True, "note": "Miễn lệ phí"}},
            {"kind": "in_person", "processing_time": {"value": 1.5, "unit": "days"}, "fee": {"amount_vnd": 8000}},
        ],
        "documents": [
            {"id": "to_khai", "name": "Tờ khai đăng ký khai sinh", "copies": "1 bản chính", "form": "Mẫu TT 04"},
            {"id": "lam_chung", "name": "Văn bản làm chứng", "copies": "1 bản chính", "when": "Không có Giấy chứng sinh"},
        ],
        "cases": [{"id": "gcs", "question": "Có Giấy chứng sinh không?", "answers": [
            {"label": "Có"}, {"label": "Không", "adds_documents": ["lam_chung"]},
            {"label": "Cha nhận con", "redirect": "1.000689", "reason": "Làm khai sinh kết hợp nhận cha, mẹ, con."},
        ]}],
        "steps_online": ["Đăng nhập VNeID", "Nộp hồ sơ"],
        "steps_in_person": ["Mang giấy tờ đến phường"],
        "result": "Giấy khai sinh",
        "legal_basis": ["Luật Hộ tịch số 60/2014/QH13"],
        "related": ["1.000689"],
        "source": "https://dichvucong.gov.vn/x",
        "verified_on": dt.date(2026, 11, 27),
        "tips": ["Mang theo căn cước"],
    }


def test_round_trip_through_yaml_keeps_every_value() -> None:
    proc = Procedure.model_validate(sample())
    text = yaml.safe_dump(proc.to_yaml_dict(), allow_unicode=True, sort_keys=False)
    again = Procedure.model_validate(yaml.safe_load(text))
    assert again == proc
    assert "origin" not in text  # set by the loader, never written
    assert "value: 1\n" in text  # integral times stay "1", not "1.0"
    assert again.channels[1].processing_time.value == 1.5
    assert again.verified_on == dt.date(2026, 11, 27)


def test_helpers_give_vietnamese_wording() -> None:
    proc = Procedure.model_validate(sample())
    assert proc.channel("in_person").fee.text() == "8.000 đồng"
    assert proc.channel("online").fee.text() == "Miễn phí"
    assert proc.channel("online").processing_time.text() == "1 ngày làm việc"
    assert proc.channel("postal") is None
    assert [d.id for d in proc.base_documents()] == ["to_khai"]
    assert proc.display_name == "Đăng ký khai sinh"


@pytest.mark.parametrize(
    "bad",
    [
        {"free": True, "amount_vnd": 5000},
        {"note": "không rõ"},
        {"amount_vnd": -1},
    ],
)
def test_fee_must_be_free_or_a_non_negative_amount(bad: dict) -> None:
    with pytest.raises(ValidationError):
        Fee.model_validate(bad)


def test_processing_time_rejects_negative_and_unknown_unit() -> None:
    with pytest.raises(ValidationError):
        ProcessingTime.model_validate({"value": -2, "unit": "days"})
    with pytest.raises(ValidationError):
        ProcessingTime.model_validate({"value": 2, "unit": "weeks"})


def test_office_unknown_values_are_said_not_invented() -> None:
    office = Office.model_validate({"ward": "Phường Hoàn Kiếm", "phone": None})
    assert office.value_or_unknown("phone") == "chưa có thông tin"
    assert office.value_or_unknown("ward") == "Phường Hoàn Kiếm"
    assert "address" in office.missing_fields()
    with pytest.raises(ValidationError):
        Office.model_validate({"to_confirm": ["no_such_field"]})


@pytest.mark.skipif(not CURATED, reason="no curated procedure files yet")
@pytest.mark.parametrize("path", CURATED, ids=lambda p: p.stem)
def test_curated_files_round_trip(path: Path) -> None:
    proc, errors = parse_procedure_file(path)
    assert errors == []
    assert proc is not None and proc.origin == "curated"
    dumped = yaml.safe_dump(proc.to_yaml_dict(), allow_unicode=True, sort_keys=False)
    again = Procedure.model_validate({**yaml.safe_load(dumped), "origin": "curated"})
    assert again == proc
