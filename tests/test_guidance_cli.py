"""`eval nlu` report reading and `bench chat` arithmetic (bot/cli/dialogue_commands.py)."""

from __future__ import annotations

import json

from bot.cli.dialogue_commands import (
    BenchResult,
    confusion_pairs,
    format_nlu_report,
    intent_scores,
    macro_f1,
    percentile,
)
from bot.cli.main import build_parser, main

# The shape of Rasa 3.6's intent_report.json (cross-validation), trimmed.
REPORT = {
    "greet": {"precision": 1.0, "recall": 0.9, "f1-score": 0.947, "support": 20, "confused_with": {"affirm": 2}},
    "affirm": {"precision": 0.8, "recall": 1.0, "f1-score": 0.889, "support": 16, "confused_with": {}},
    "ask_fee": {"precision": 1.0, "recall": 0.8, "f1-score": 0.889, "support": 10,
                "confused_with": {"ask_time": 1, "nlu_fallback": 1}},
    "accuracy": 0.92,
    "macro avg": {"precision": 0.93, "recall": 0.9, "f1-score": 0.908, "support": 46},
    "weighted avg": {"precision": 0.93, "recall": 0.92, "f1-score": 0.91, "support": 46},
}


def test_scores_are_per_intent_worst_first_without_summaries():
    scores = intent_scores(REPORT)
    assert [s.intent for s in scores] == ["affirm", "ask_fee", "greet"]
    assert macro_f1(REPORT) == 0.908


def test_confusion_pairs_most_frequent_first():
    assert confusion_pairs(REPORT) == [("greet", "affirm", 2), ("ask_fee", "ask_time", 1), ("ask_fee", "nlu_fallback", 1)]


def test_report_flags_intents_and_overall_below_target():
    text = format_nlu_report(REPORT, target=0.92)
    assert "macro F1 = 0.908 (BELOW target 0.92)" in text
    assert "affirm" in text.splitlines()[1] and text.splitlines()[1].endswith("<")
    assert "greet -> affirm: 2" in text


def test_eval_nlu_prints_an_existing_report_and_fails_under_target(tmp_path, capsys):
    path = tmp_path / "intent_report.json"
    path.write_text(json.dumps(REPORT), encoding="utf-8")
    assert main(["eval", "nlu", "--report", str(path)]) == 0
    assert "macro F1 = 0.908" in capsys.readouterr().out
    assert main(["eval", "nlu", "--report", str(path), "--fail-under-target"]) == 1


def test_percentile_nearest_rank_and_result_line():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 95) == 95.0 and percentile([3.0], 95) == 3.0
    line = BenchResult(concurrency=20, messages=300, errors=0, seconds=10.0, p50_ms=80, p95_ms=200).line()
    assert "30.0 msg/s" in line and "p95 200 ms" in line


def test_bench_chat_rejects_bad_concurrency(capsys):
    assert main(["bench", "chat", "--concurrency", "0"]) == 2
    assert "positive integers" in capsys.readouterr().err
    assert build_parser().parse_args(["bench", "chat"]).url is None  # no URL: a private stack is started
    assert main(["bench", "chat", "--model", "/nonexistent/model.tar.gz"]) == 2
    assert "no trained model" in capsys.readouterr().err
