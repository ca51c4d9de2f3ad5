"""Measuring retrieval on a labelled query set (`tests/data/queries.jsonl`).

Each line: {"query": str, "codes": [acceptable codes], "tags": [...]}; out-of-scope
queries have no codes and must come back `unknown`. A decision is right when an
in-scope query is `sure` with a right top hit or `ambiguous` with a right hit in
the top 3, and when an out-of-scope query is `unknown`.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, TextIO

from bot.retrieval.engine import SearchEngine, SearchOutcome

# colloquial / faq: styles of the independently written held-out set (tests/data/heldout_queries.jsonl)
KNOWN_TAGS = {"no_diacritics", "abbrev_typo", "situation", "out_of_scope", "colloquial", "faq"}


class QuerySetError(ValueError):
    """A query file line is malformed."""


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    codes: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def in_scope(self) -> bool:
        return bool(self.codes)


def load_queries(path: Path) -> list[LabelledQuery]:
    """Read and check a labelled query file (error text: `file:line: message`)."""
    result: list[LabelledQuery] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise QuerySetError(f"{where}: not JSON: {exc}") from exc
            query, codes, tags = data.get("query"), data.get("codes", []), data.get("tags", [])
            if not isinstance(query, str) or not query.strip():
                raise QuerySetError(f"{where}: query must be non-empty text")
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise QuerySetError(f"{where}: codes must be a list of codes")
            unknown = set(tags) - KNOWN_TAGS
            if unknown:
                raise QuerySetError(f"{where}: unknown tags {sorted(unknown)}")
            if ("out_of_scope" in tags) == bool(codes):
                raise QuerySetError(f"{where}: out_of_scope queries, and only they, have no codes")
            result.append(LabelledQuery(query, tuple(codes), tuple(tags)))
    return result


def _rank(outcome: SearchOutcome, codes: Iterable[str]) -> int | None:
    wanted = set(codes)
    for position, hit in enumerate(outcome.results, 1):
        if hit.code in wanted:
            return position
    return None


def decision_correct(item: LabelledQuery, outcome: SearchOutcome, rank: int | None) -> bool:
    if not item.in_scope:
        return outcome.decision == "unknown"
    if outcome.decision == "sure":
        return rank == 1
    if outcome.decision == "ambiguous":
        return rank is not None and rank <= 3
    return False


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def evaluate(engine: SearchEngine, queries: list[LabelledQuery], top: int = 10) -> dict[str, Any]:
    """Run every query; R@1/R@3/MRR over in-scope queries, decisions over all, latency per query."""
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    for item in queries:
        started = time.perf_counter()
        outcome = engine.search(item.query, top=top)
        latencies.append((time.perf_counter() - started) * 1000)
        rank = _rank(outcome, item.codes) if item.in_scope else None
        rows.append(
            {
                "query": item.query,
                "codes": list(item.codes),
                "tags": list(item.tags),
                "decision": outcome.decision,
                "rank": rank,
                "decision_ok": decision_correct(item, outcome, rank),
                "top": [{"code": h.code, "title": h.title, "score": round(h.score, 4)} for h in outcome.results[:3]],
            }
        )
    in_scope = [r for r in rows if r["codes"]]
    oos = [r for r in rows if not r["codes"]]

    def recall(subset: list[dict[str, Any]], k: int) -> float:
        return sum(1 for r in subset if r["rank"] and r["rank"] <= k) / len(subset) if subset else 0.0

    by_tag = {}
    for tag in sorted(KNOWN_TAGS - {"out_of_scope"}):
        subset = [r for r in in_scope if tag in r["tags"]]
        mrr = sum(1 / r["rank"] for r in subset if r["rank"]) / len(subset) if subset else 0.0
        by_tag[tag] = {"n": len(subset), "r@1": round(recall(subset, 1), 4), "r@3": round(recall(subset, 3), 4),
                       "mrr": round(mrr, 4)}
    decisions = {d: sum(1 for r in rows if r["decision"] == d) for d in ("sure", "ambiguous", "unknown")}
    return {
        "queries": len(rows),
        "in_scope": len(in_scope),
        "out_of_scope": len(oos),
        "r@1": round(recall(in_scope, 1), 4),
        "r@3": round(recall(in_scope, 3), 4),
        "r@10": round(recall(in_scope, 10), 4),
        "mrr": round(sum(1 / r["rank"] for r in in_scope if r["rank"]) / len(in_scope), 4) if in_scope else 0.0,
        "decision_accuracy": round(sum(r["decision_ok"] for r in rows) / len(rows), 4) if rows else 0.0,
        "out_of_scope_unknown": round(sum(r["decision"] == "unknown" for r in oos) / len(oos), 4) if oos else 0.0,
        "in_scope_unknown": round(sum(r["decision"] == "unknown" for r in in_scope) / len(in_scope), 4) if in_scope else 0.0,
        "sure_precision": round(
            sum(1 for r in in_scope if r["decision"] == "sure" and r["rank"] == 1)
            / max(1, sum(1 for r in rows if r["decision"] == "sure")),
            4,
        ),
        "decisions": decisions,
        "by_tag": by_tag,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2) if latencies else 0.0,
            "p95": round(_percentile(latencies, 95), 2),
            "max": round(max(latencies), 2) if latencies else 0.0,
        },
        "misses": [r for r in rows if (r["codes"] and r["rank"] != 1) or not r["decision_ok"]],
    }


def print_report(report: dict[str, Any], out: TextIO) -> None:
    """Human-readable summary and every miss."""
    w = out.write
    w(f"queries: {report['queries']} ({report['in_scope']} in scope, {report['out_of_scope']} out of scope)\n")
    w(f"R@1 {report['r@1']:.3f}   R@3 {report['r@3']:.3f}   R@10 {report['r@10']:.3f}   MRR {report['mrr']:.3f}\n")
    w(
        f"decision accuracy {report['decision_accuracy']:.3f}   out-of-scope → unknown {report['out_of_scope_unknown']:.3f}"
        f"   in-scope → unknown {report['in_scope_unknown']:.3f}   sure precision {report['sure_precision']:.3f}\n"
    )
    w(f"decisions: {report['decisions']}\n")
    for tag, values in report["by_tag"].items():
        if values["n"]:  # tags the set does not use are not printed
            w(f"  {tag:<14} n={values['n']:<4} R@1 {values['r@1']:.3f}  R@3 {values['r@3']:.3f}  MRR {values['mrr']:.3f}\n")
    lat = report["latency_ms"]
    w(f"latency per query: p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, max {lat['max']:.1f} ms\n")
    w(f"misses ({len(report['misses'])}): rank 1 wrong or decision wrong\n")
    for miss in report["misses"]:
        top = "; ".join(f"{h['code']} {h['title'][:50]} ({h['score']:.2f})" for h in miss["top"])
        want = ",".join(miss["codes"]) or "unknown"
        w(f"  - {miss['query']!r} want {want} got rank {miss['rank']} [{miss['decision']}] → {top}\n")
