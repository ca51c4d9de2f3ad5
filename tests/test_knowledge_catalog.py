"""Tests over the real national catalogue (2,642 records): importer rates and curated-vs-national facts.

Needs the catalogue file (`catalog_path` fixture: skipped when absent, a failure under CI=true).
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from bot.knowledge.consistency import fact_differences
from bot.knowledge.importer import ImportReport, import_catalog, iter_records
from bot.knowledge.loader import load_knowledge_base
from bot.settings import PROJECT_ROOT

# A channel cell that states both a time (a number) and a fee (Miễn phí or an amount in VND), read
# straight from the raw text, independently of the importer's parser.
_STATED = re.compile(
    r"(?:Trực tuyến|Dịch vụ bưu chính|Trực tiếp)\d[\d.,]*\s*(?:Ngày làm việc|Ngày|Giờ|Tháng|Năm)?"
    r"(?:Miễn phí|[\d.,]+\s*(?:Việt Nam Đồng|VNĐ|Đồng))"
)


@pytest.fixture(scope="module")
def full_import(catalog_path: Path) -> ImportReport:
    return import_catalog(catalog_path)


def _rate(report: dict, key: str) -> float:
    return report[key] / report["records"]


def test_full_catalogue_counts(full_import: ImportReport) -> None:
    report = full_import.report
    print(json.dumps({k: (len(v) if isinstance(v, list) else v) for k, v in report.items()}))
    assert report["records"] == 2642
    assert len(full_import.procedures) == 2642  # every record parses into the schema
    assert _rate(report, "with_channels") >= 0.99
    assert _rate(report, "with_documents") >= 0.95
    assert _rate(report, "with_steps") >= 0.95


def test_importer_reads_every_stated_time_and_fee(full_import: ImportReport, catalog_path: Path) -> None:
    """Where the portal states a time and a fee for a channel, the importer must find them (≥ 99%)."""
    parsed = {
        p.code for p in full_import.procedures
        if any(c.processing_time is not None and c.fee is not None for c in p.channels)
    }
    stated = {r["ma_thu_tuc"] for r in iter_records(catalog_path) if _STATED.search(r["cach_thuc_thuc_hien"])}
    assert len(stated) > 2000
    assert len(stated & parsed) / len(stated) >= 0.99
    assert _rate(full_import.report, "with_fees") >= 0.82


@pytest.mark.xfail(
    strict=True,
    reason="issue target (≥ 95% with a channel with time and fee AND a document) is above what the portal "
    "states: about 453 of 2,642 records state no time or no fee for any channel (measured: 2,149 = 81.3%)",
)
def test_issue_target_95_percent_with_time_fee_and_document(full_import: ImportReport) -> None:
    report = full_import.report
    usable = report["records"] - len(report["failed"])
    assert usable / report["records"] >= 0.95


def _curated():
    return load_knowledge_base(PROJECT_ROOT / "knowledge")


def _plain(text: str | None) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text or "")).strip().rstrip(":.;").lower()


def test_every_curated_code_exists_in_the_national_catalogue(full_import: ImportReport) -> None:
    kb = _curated()
    national = {p.code: p for p in full_import.procedures}
    if not kb.curated_codes:
        pytest.skip("no curated procedure files yet")
    missing = sorted(kb.curated_codes - set(national))
    assert missing == []
    for code in sorted(kb.curated_codes):
        proc = kb.get(code)
        assert proc.source == national[code].source, f"{code}: source must be the record's detail_url"
        assert _plain(proc.name) == _plain(national[code].name), f"{code}: name differs from the national record"


def test_curated_fees_and_times_agree_with_the_national_record(full_import: ImportReport) -> None:
    """For each curated channel: the record has the same kind; stated time value+unit and fee (free / amount) match."""
    kb = _curated()
    national = {p.code: p for p in full_import.procedures}
    diffs = [d for code in sorted(kb.curated_codes & set(national))
             for d in fact_differences(kb.get(code), national[code])]
    assert diffs == []
