"""National catalogue importer on 16 real portal records (tests/fixtures/catalog_excerpt.jsonl).

The excerpt holds the records as crawled (the `raw_text` field dropped for size; some records keep the
portal's decomposed Unicode). Expected values below were read by hand from each record's
`cach_thuc_thuc_hien` and `thanh_phan_ho_so` cells.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml

from bot.knowledge.importer import (
    CatalogError,
    import_catalog,
    parse_channels,
    parse_legal_basis,
    record_to_procedure,
)
from bot.knowledge.models import Procedure
from bot.knowledge.validator import parse_procedure_file
from bot.settings import PROJECT_ROOT

EXCERPT = PROJECT_ROOT / "tests" / "fixtures" / "catalog_excerpt.jsonl"

# code -> ({kind: (time value, unit) or None}, {kind: fee amount, "free" or None}, document count)
EXPECTED: dict[str, tuple[dict, dict, int]] = {
    # khai sinh: bare "1" (portal unit = working days), Miễn phí, 4 documents to submit + 2 to show
    "1.001193": ({"online": (1, "working_days"), "postal": (1, "working_days"), "in_person": (1, "working_days")},
                 {"online": "free", "postal": "free", "in_person": "free"}, 6),
    # chứng thực bản sao: time "Không có thông tin", "2,000 Việt Nam Đồng(/trang)"; the 2nd in-person row
    # (10 USD at embassies) is ignored
    "2.000815": ({"in_person": None}, {"in_person": 2000}, 1),
    "1.000894": ({"online": (1, "working_days"), "postal": (1, "working_days"), "in_person": (1, "working_days")},
                 {"online": "free", "postal": "free", "in_person": "free"}, 2),
    # "Trực tuyến120,000 VNĐ(...lệ phí hải quan)": 1 day glued to 20,000 đ
    "1.000005": ({"online": (1, "working_days")}, {"online": 20000}, 23),
    "1.004002": ({k: (2, "working_days") for k in ("online", "postal", "in_person")},
                 {k: 70000 for k in ("online", "postal", "in_person")}, 2),
    "1.011325": ({k: (5, "working_days") for k in ("online", "postal", "in_person")},
                 {k: 2000000 for k in ("online", "postal", "in_person")}, 8),
    # "60 Ngày làm việcKhông có thông tin": time known, fee not stated
    "1.000178": ({"postal": (60, "working_days"), "in_person": (60, "working_days")},
                 {"postal": None, "in_person": None}, 8),
    # "20 Ngày" whose description says "20 ngày làm việc"
    "2.000986": ({"in_person": (20, "working_days")}, {"in_person": "free"}, 5),
    "1.013065": ({"online": (8, "hours")}, {"online": "free"}, 2),
    # "6 Tháng" -> 180 days; fee in USD is not a VND amount
    "1.001010": ({"in_person": (180, "days")}, {"in_person": None}, 6),
    # time cell "Không phải trả kết quả cho người nộp thuế", fee "Miễn phí"
    "1.007689": ({"online": None, "postal": None, "in_person": None},
                 {"online": "free", "postal": "free", "in_person": "free"}, 2),
    # the portal's own figures: 5,000 đ online, "40 Việt Nam Đồng" in person (its note says 4.000 đ)
    "1.003133": ({"online": (1, "working_days"), "in_person": (1, "working_days")},
                 {"online": 5000, "in_person": 40}, 6),
    "1.000232": ({"in_person": None, "postal": None, "online": None},
                 {"in_person": None, "postal": None, "online": None}, 1),
    "1.000656": ({k: (1, "working_days") for k in ("online", "postal", "in_person")},
                 {k: "free" for k in ("online", "postal", "in_person")}, 6),
    "1.004873": ({k: (3, "working_days") for k in ("online", "postal", "in_person")},
                 {k: "free" for k in ("online", "postal", "in_person")}, 4),
    "1.000689": ({k: (3, "working_days") for k in ("online", "postal", "in_person")},
                 {k: "free" for k in ("online", "postal", "in_person")}, 8),
}


@pytest.fixture(scope="module")
def imported() -> dict[str, Procedure]:
    return {p.code: p for p in import_catalog(EXCERPT).procedures}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_record_channels_fees_times_and_documents(imported: dict[str, Procedure], code: str) -> None:
    times, fees, doc_count = EXPECTED[code]
    proc = imported[code]
    assert proc.origin == "catalog"
    assert sorted(proc.channel_kinds) == sorted(times)
    for kind, expected in times.items():
        time = proc.channel(kind).processing_time
        assert (None if time is None else (time.value, time.unit)) == expected, kind
    for kind, expected in fees.items():
        fee = proc.channel(kind).fee
        if expected is None:
            assert fee is None, kind
        elif expected == "free":
            assert fee.free and fee.amount_vnd is None, kind
        else:
            assert not fee.free and fee.amount_vnd == expected, kind
    assert len(proc.documents) == doc_count


def test_documents_keep_copies_forms_and_presented_papers(imported: dict[str, Procedure]) -> None:
    birth = imported["1.001193"]
    assert birth.documents[3].name.startswith("Giấy chứng sinh")
    assert [d.copies for d in birth.documents].count("1 bản chính (xuất trình)") == 2
    boat = imported["1.004002"]
    assert boat.documents[0].form == "Mauon.docx"
    assert boat.documents[0].name == "Đơn đề nghị đăng ký lại phương tiện thủy nội địa theo quy định"
    assert boat.documents[1].copies == "1 bản chính, 1 bản sao"
    assert imported["1.013065"].documents[0].form == "MauKX11 (1).docx"
    assert imported["1.011325"].documents[2].form == "Mẫu số 01.docx"


def test_decomposed_unicode_is_normalised(imported: dict[str, Procedure]) -> None:
    line = next(line for line in EXCERPT.open(encoding="utf-8") if '"1.003133"' in line)
    assert unicodedata.normalize("NFC", line) != line  # the portal record carries decomposed (NFD) text
    dumped = imported["1.003133"].model_dump_json()
    assert unicodedata.normalize("NFC", dumped) == dumped
    assert "Giấy thông hành" in imported["1.003133"].result


def test_legal_basis_result_and_steps(imported: dict[str, Procedure]) -> None:
    complaint = imported["1.000178"]
    assert "Luật Khiếu nại năm 2011 (02/2011/QH13)" in complaint.legal_basis
    assert complaint.legal_basis[0].endswith("(68/2013/TT-BCA)")
    assert complaint.result == "Quyết định giải quyết khiếu nại lần 1, lần 2"
    assert imported["1.001193"].result == "Giấy khai sinh"
    assert "Nghị định số 123/2015/NĐ-CP ngày 15/11/2015 của Chính phủ quy định chi tiết một số điều và biện pháp " \
           "thi hành Luật Hộ tịch" in imported["1.001193"].legal_basis
    birth = imported["1.001193"]
    assert birth.steps_online and birth.steps_online == birth.steps_in_person
    assert birth.level == ["xa"]
    assert birth.source.startswith("https://dichvucong.gov.vn/")


def test_report_and_warnings() -> None:
    result = import_catalog(EXCERPT)
    report = result.report
    assert report["records"] == 16
    assert report["with_channels"] == 16
    assert report["with_fees"] == 11
    assert report["with_documents"] == 16
    assert report["with_steps"] == 16
    assert sorted(report["failed"]) == sorted(["2.000815", "1.000178", "1.001010", "1.007689", "1.000232"])
    assert "1.000232: no channel with time and fee parsed" in result.warnings
    assert any(w.startswith("1.003133: channels[in_person].fee: amount 40 đồng") for w in result.warnings)


def test_level_filter() -> None:
    report = import_catalog(EXCERPT, level="bo").report
    codes = {
        json.loads(line)["ma_thu_tuc"] for line in EXCERPT.open(encoding="utf-8")
        if "Cấp bộ" in json.loads(line)["cap_thuc_hien"]
    }
    assert report["records"] == len(codes) == 3


def test_parsers_on_small_cells() -> None:
    channels = parse_channels("Hình thức nộpThời gianPhí, lệ phíMô tảTrực tiếp05 Ngày làm việcLệ phí : 8.000 đồng")
    assert channels[0].processing_time.value == 5
    assert parse_legal_basis("Tên văn bản pháp lýMã văn bảnLuật Hộ tịch60/2014/QH13") == [
        "Luật Hộ tịch (60/2014/QH13)"
    ]


def test_broken_catalogue_line_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"ma_thu_tuc": "1.000001"}\n{not json\n', encoding="utf-8")
    with pytest.raises(CatalogError, match="line 2: not valid JSON"):
        import_catalog(bad)
    with pytest.raises(CatalogError, match="not found"):
        import_catalog(tmp_path / "missing.jsonl.gz")


def test_record_without_code_fails_with_a_warning(tmp_path: Path) -> None:
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"ma_thu_tuc": "", "ten_thu_tuc": "X"}) + "\n", encoding="utf-8")
    result = import_catalog(source)
    assert result.report["failed"] == ["?"]
    assert result.warnings and result.warnings[0].startswith("?: cannot parse record")


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_import_writes_yaml_and_prints_the_report(tmp_path: Path) -> None:
    gz = tmp_path / "excerpt.jsonl.gz"
    gz.write_bytes(gzip.compress(EXCERPT.read_bytes()))
    run = _cli("kb", "import", str(gz), "--out", str(tmp_path / "out"), "--level", "xa")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    files = sorted((tmp_path / "out").glob("*.yaml"))
    assert report["records"] == len(files) > 0
    assert "WARNING" in run.stderr
    data = yaml.safe_load((tmp_path / "out" / "1.001193.yaml").read_text(encoding="utf-8"))
    again = Procedure.model_validate({**data, "origin": "catalog"})
    assert again.channel("online").fee.free


def test_cli_draft_writes_a_file_a_curator_must_finish(tmp_path: Path) -> None:
    run = _cli("kb", "draft", "1.000656", "--from", str(EXCERPT), "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    path = tmp_path / "1.000656.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# DRAFT")
    proc, errors = parse_procedure_file(path)
    # facts are in; the curator's part (aliases, examples, verified_on) is missing
    assert proc is not None and len(proc.channels) == 3 and len(proc.documents) == 6
    assert {e.split(": ")[1] for e in errors} == {"aliases", "example_questions", "verified_on"}
    again = _cli("kb", "draft", "1.000656", "--from", str(EXCERPT), "--out", str(tmp_path))
    assert again.returncode == 1 and "already exists" in again.stderr
    missing = _cli("kb", "draft", "1.999999", "--from", str(EXCERPT), "--out", str(tmp_path))
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_record_to_procedure_drops_unknown_related_codes() -> None:
    record = json.loads(EXCERPT.open(encoding="utf-8").readline())
    record["thu_tuc_lien_quan"] = "Xem 1.000689 và 9.999999"
    proc = record_to_procedure(record, known_codes={"1.000689", "1.001193"})
    assert proc.related == ["1.000689"]
