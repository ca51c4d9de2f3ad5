"""The derived catalogue shipped in knowledge/catalog/: loads without ../shared, matches the crawl, fails loudly."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bot.knowledge.catalog_file import FORMAT, export_catalog, is_derived, load_derived
from bot.knowledge.importer import CatalogError, import_catalog
from bot.knowledge.loader import KnowledgeBaseError, load_knowledge_base
from bot.settings import PROJECT_ROOT, load_settings

SHIPPED = PROJECT_ROOT / "knowledge" / "catalog" / "tthc-national-2026.procedures.jsonl.gz"
EXCERPT = PROJECT_ROOT / "tests" / "fixtures" / "catalog_excerpt.jsonl"


def test_settings_default_is_the_shipped_catalogue() -> None:
    settings = load_settings(PROJECT_ROOT / "settings.yml")
    assert settings.catalog == SHIPPED
    assert SHIPPED.is_file() and is_derived(SHIPPED)


def test_shipped_catalogue_loads_with_curated_overrides() -> None:
    kb = load_knowledge_base(PROJECT_ROOT / "knowledge", SHIPPED)
    assert len(kb) >= 2642
    curated = kb.curated_codes
    assert len(curated) >= 35
    assert all(kb.get(code).origin == "curated" for code in curated)
    catalogue_only = [p for p in kb.procedures.values() if p.origin == "catalog"]
    assert len(catalogue_only) == len(kb) - len(curated)
    idp = kb.get("3.000353")
    assert idp.source and idp.source.startswith("https://dichvucong.gov.vn/")


def test_shipped_catalogue_is_what_the_importer_makes_of_the_crawl(catalog_path: Path, tmp_path: Path) -> None:
    """Regenerating from the raw crawl gives the same bytes: the shipped file is not stale or hand-edited."""
    out = tmp_path / "regen.procedures.jsonl.gz"
    export_catalog(catalog_path, out)
    assert out.read_bytes() == SHIPPED.read_bytes(), (
        "knowledge/catalog is stale: run python -m bot kb export-catalog --from $TTHC_CATALOG"
    )


def test_export_round_trip_on_the_excerpt(tmp_path: Path) -> None:
    out = tmp_path / "excerpt.procedures.jsonl.gz"
    report = export_catalog(EXCERPT, out)
    header, procedures = load_derived(out)
    assert header["format"] == FORMAT and header["records"] == report["written"] == len(procedures)
    raw = {p.code: p for p in import_catalog(EXCERPT).procedures}
    assert {p.code: p for p in procedures} == raw
    assert import_catalog(out, level="xa").report["records"] == import_catalog(EXCERPT, level="xa").report["records"]


def test_invalid_derived_record_names_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.procedures.jsonl.gz"
    lines = [
        json.dumps({"format": FORMAT, "records": 2}),
        json.dumps({"code": "1.000001", "name": "Thủ tục A"}),
        json.dumps({"code": "1.000002", "name": "Thủ tục B", "channels": [{"kind": "fax"}]}),
    ]
    bad.write_bytes(gzip.compress("\n".join(lines).encode()))
    with pytest.raises(CatalogError, match=r"line 3: channels\.0\.kind"):
        import_catalog(bad)
    with pytest.raises(KnowledgeBaseError, match="line 3"):
        load_knowledge_base(PROJECT_ROOT / "knowledge", bad)


def test_empty_bot_catalog_means_curated_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_CATALOG", "")
    assert load_settings(PROJECT_ROOT / "settings.yml").catalog is None
    monkeypatch.setenv("BOT_CATALOG", str(EXCERPT))
    assert load_settings(PROJECT_ROOT / "settings.yml").catalog == EXCERPT
