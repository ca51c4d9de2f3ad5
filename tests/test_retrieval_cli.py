"""`python -m bot search` / `index build` as a user runs them: output format, order, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    index_dir = tmp_path_factory.mktemp("index")
    return {**os.environ, "BOT_INDEX_DIR": str(index_dir), "PYTHONPATH": str(PROJECT_ROOT)}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_index_build_then_noop(env: dict[str, str]) -> None:
    first = run(["index", "build"], env)
    assert first.returncode == 0, first.stderr
    assert "index built" in first.stderr and first.stdout == ""
    second = run(["index", "build"], env)
    assert second.returncode == 0 and "fresh, reused" in second.stderr


def test_batch_writes_one_json_line_per_query_in_order(env: dict[str, str], tmp_path: Path) -> None:
    queries = ["đăng ký khai tử", "thời tiết hôm nay", "dk tam tru cho sinh vien", "xin giấy độc thân", ""]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(json.dumps({"query": q}, ensure_ascii=False) for q in queries) + "\n", encoding="utf-8")
    result = run(["search", "--batch", str(batch), "--top", "3"], env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(queries)  # nothing else on stdout
    records = [json.loads(line) for line in lines]
    assert [r["query"] for r in records] == queries
    for record in records:
        assert set(record) == {"query", "decision", "results"}
        assert record["decision"] in {"sure", "ambiguous", "unknown"}
        assert len(record["results"]) <= 3
        for hit in record["results"]:
            assert set(hit) == {"code", "title", "score"} and isinstance(hit["score"], float)
    assert records[0]["results"][0]["code"] == "1.000656"
    assert records[1]["decision"] == "unknown"
    assert records[2]["results"][0]["code"] == "1.004194"
    assert records[3]["results"][0]["code"] == "1.004873"
    assert records[4] == {"query": "", "decision": "unknown", "results": []}


def test_single_query_prints_a_table(env: dict[str, str]) -> None:
    result = run(["search", "làm lại cccd bị mất", "--top", "2"], env)
    assert result.returncode == 0, result.stderr
    assert "1.014064" in result.stdout and "Cấp lại thẻ căn cước" in result.stdout
    assert len([line for line in result.stdout.splitlines() if line[:2].strip().isdigit()]) == 2


def test_bad_input_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    batch = tmp_path / "bad.jsonl"
    batch.write_text('{"query": "ok"}\n{"q": "missing key"}\n', encoding="utf-8")
    result = run(["search", "--batch", str(batch)], env)
    assert result.returncode == 2 and "bad.jsonl:2" in result.stderr and result.stdout == ""
    assert run(["search"], env).returncode == 2
    missing = run(["search", "x", "--catalog", str(tmp_path / "nope.jsonl.gz")], env)
    assert missing.returncode == 2 and "not found" in missing.stderr
