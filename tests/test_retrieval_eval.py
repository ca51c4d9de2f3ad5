"""The labelled query set and the measured targets over curated + national catalogue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.retrieval.evaluation import QuerySetError, evaluate, load_queries
from bot.settings import PROJECT_ROOT

QUERIES = PROJECT_ROOT / "tests" / "data" / "queries.jsonl"


def test_query_set_meets_the_issue_proportions() -> None:
    queries = load_queries(QUERIES)
    n = len(queries)
    share = lambda tag: sum(tag in q.tags for q in queries) / n  # noqa: E731
    assert n >= 300
    assert share("no_diacritics") >= 0.40
    assert share("abbrev_typo") >= 0.15
    assert share("situation") >= 0.20
    assert sum("out_of_scope" in q.tags for q in queries) >= 30
    assert len({q.query for q in queries}) == n  # no duplicates


def test_query_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"query": "a", "codes": ["1.000001"], "tags": []}\n{"query": "b", "codes": [], "tags": []}\n', encoding="utf-8")
    with pytest.raises(QuerySetError, match="q.jsonl:2"):
        load_queries(bad)
    bad.write_text('{"query": "a", "codes": ["1.000001"], "tags": ["slang"]}\n', encoding="utf-8")
    with pytest.raises(QuerySetError, match="unknown tags"):
        load_queries(bad)


@pytest.fixture(scope="module")
def full_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("full-index")


@pytest.fixture(scope="module")
def full_engine(catalog_path: Path, full_index_dir: Path):
    from bot.retrieval import open_engine, resolve_sources

    return open_engine(resolve_sources(catalog=catalog_path), full_index_dir, show_progress=False)


def test_targets_on_curated_plus_catalogue(full_engine) -> None:
    report = evaluate(full_engine, load_queries(QUERIES), top=10)
    assert len(full_engine.docs) >= 2642
    assert report["r@1"] >= 0.95, report["misses"]
    assert report["r@3"] >= 0.99
    assert report["out_of_scope_unknown"] >= 0.90
    assert report["latency_ms"]["p95"] < 100  # generous: shared CI machine


def test_every_acceptable_code_exists(full_engine) -> None:
    known = {doc.code for doc in full_engine.docs}
    missing = {code for q in load_queries(QUERIES) for code in q.codes} - known
    assert not missing


def test_batch_cli_with_catalog(catalog_path: Path, full_engine, full_index_dir: Path, tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    questions = ["cấp hộ chiếu phổ thông", "đổi giấy phép lái xe", "lam lai cccd bi mat"]
    batch.write_text("\n".join(json.dumps({"query": q}, ensure_ascii=False) for q in questions), encoding="utf-8")
    env = {**os.environ, "BOT_INDEX_DIR": str(full_index_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "search", "--batch", str(batch), "--top", "10", "--catalog", str(catalog_path)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["query"] for r in records] == questions
    assert all(len(r["results"]) == 10 for r in records)
    assert records[0]["results"][0]["code"] in {"1.001456", "1.001471"}
    assert records[1]["results"][0]["code"] == "3.000347"
    assert records[2]["results"][0]["code"] == "1.014064"
