"""`python -m bot eval retrieval` (quality on the labelled query set) and `bench retrieval` (speed, memory)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.cli.main import command_group
from bot.settings import PROJECT_ROOT

DEFAULT_QUERIES = PROJECT_ROOT / "tests" / "data" / "queries.jsonl"


def register(subparsers: argparse._SubParsersAction) -> None:
    evals = command_group(subparsers, "eval", "measure quality")
    retrieval = evals.add_parser("retrieval", help="R@1, R@3, MRR, decisions, misses, latency on a query set")
    retrieval.add_argument("--catalog", type=Path, help="national catalogue file to add (default: settings)")
    retrieval.add_argument("--queries", type=Path, default=DEFAULT_QUERIES, help="labelled JSONL query set")
    retrieval.add_argument("--report", type=Path, help="write the full JSON report here")
    retrieval.add_argument("--top", type=int, default=10)
    retrieval.set_defaults(handler=run_eval)

    bench = command_group(subparsers, "bench", "measure speed and memory")
    bench_retrieval = bench.add_parser("retrieval", help="cold build, warm start, query latency, memory")
    bench_retrieval.add_argument("--catalog", type=Path, help="national catalogue file to add (default: settings)")
    bench_retrieval.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    bench_retrieval.add_argument("--report", type=Path, help="write the figures as JSON here")
    bench_retrieval.set_defaults(handler=run_bench)


def run_eval(args: argparse.Namespace) -> int:
    from bot.retrieval import open_engine, resolve_sources
    from bot.retrieval.evaluation import QuerySetError, evaluate, load_queries, print_report

    try:
        queries = load_queries(args.queries)
        engine = open_engine(resolve_sources(catalog=args.catalog))
    except (OSError, QuerySetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate(engine, queries, top=args.top)
    report["catalog"] = str(args.catalog) if args.catalog else None
    print_report(report, sys.stdout)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"report written to {args.report}", file=sys.stderr)
    return 0


def _warm_start_subprocess(catalog: Path | None, index_dir: Path) -> float:
    """Seconds for a fresh `python -m bot search` process to answer from the cached index."""
    command = [sys.executable, "-m", "bot", "search", "đăng ký tạm trú", "--top", "1"]
    if catalog:
        command += ["--catalog", str(catalog)]
    env = {**os.environ, "BOT_INDEX_DIR": str(index_dir)}
    started = time.perf_counter()
    subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def run_bench(args: argparse.Namespace) -> int:
    import psutil

    from bot.retrieval import open_engine, resolve_sources
    from bot.retrieval.evaluation import load_queries

    sources = resolve_sources(catalog=args.catalog)
    queries = [q.query for q in load_queries(args.queries)]
    process = psutil.Process()
    rss_before = process.memory_info().rss
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        index_dir = Path(tmp)
        started = time.perf_counter()
        open_engine(sources, index_dir, show_progress=True)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        engine = open_engine(sources, index_dir, show_progress=False)
        warm_in_process = time.perf_counter() - started
        warm_process = _warm_start_subprocess(args.catalog, index_dir)
    for query in queries[:20]:  # warm-up
        engine.search(query, top=10)
    latencies = []
    for _ in range(3):
        for query in queries:
            started = time.perf_counter()
            engine.search(query, top=10)
            latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    figures = {
        "procedures": len(engine.docs),
        "indexed_texts": len(engine.row_doc),
        "dense": engine.config.dense_weight > 0,
        "cold_build_s": round(cold, 2),
        "warm_start_in_process_s": round(warm_in_process, 3),
        "warm_start_new_process_s": round(warm_process, 2),
        "query_ms_p50": round(statistics.median(latencies), 2),
        "query_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
        "queries_timed": len(latencies),
        "rss_mb": round(process.memory_info().rss / 2**20, 1),
        "rss_engine_mb": round((process.memory_info().rss - rss_before) / 2**20, 1),
    }
    print(f"procedures indexed:        {figures['procedures']} ({figures['indexed_texts']} texts)")
    print(f"cold index build:          {figures['cold_build_s']:.2f} s (knowledge load + catalogue import + index)")
    print(f"warm start (in process):   {figures['warm_start_in_process_s']:.3f} s")
    print(f"warm start (new process):  {figures['warm_start_new_process_s']:.2f} s (python -m bot search, one query)")
    print(f"query latency:             p50 {figures['query_ms_p50']:.2f} ms, p95 {figures['query_ms_p95']:.2f} ms "
          f"({figures['queries_timed']} searches)")
    print(f"resident memory:           {figures['rss_mb']:.0f} MB (engine + knowledge: +{figures['rss_engine_mb']:.0f} MB)")
    if args.report:
        args.report.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0
