"""`python -m bot search`: find procedures for a question, or a batch of questions.

Batch mode writes exactly one JSON line per input line to stdout, in order;
progress and logs go to stderr so the output can be piped into a scorer.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search",
        help="find the procedure for a question",
        description="Rank procedures for a citizen's question (curated knowledge + the national catalogue of settings.yml).",
    )
    parser.add_argument("query", nargs="?", help="the question, in quotes")
    parser.add_argument("--top", type=int, default=5, help="how many results (default 5)")
    parser.add_argument("--batch", type=Path, help='JSONL file of {"query": "..."}; writes JSONL results to stdout')
    parser.add_argument("--catalog", type=Path, help="another national catalogue file (raw crawl or derived) instead of settings.yml's (shipped in knowledge/catalog/)")
    parser.set_defaults(handler=run)


def _read_batch(path: Path) -> list[str]:
    queries: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from exc
            query = data.get("query") if isinstance(data, dict) else None
            if not isinstance(query, str):
                raise ValueError(f'{path}:{number}: expected {{"query": "..."}}')
            queries.append(query)
    return queries


def print_table(query: str, outcome: Any, out: TextIO) -> None:
    """Readable ranking: decision, then rank, code, score and title per line."""
    labels = {"sure": "chắc chắn", "ambiguous": "cần chọn", "unknown": "không rõ"}
    out.write(f"Câu hỏi: {query}\nKết luận: {outcome.decision} ({labels[outcome.decision]})\n")
    if not outcome.results:
        out.write("(không tìm thấy thủ tục nào)\n")
        return
    out.write(f"{'#':>2}  {'mã':<9} {'điểm':>6}  tên thủ tục\n")
    for rank, hit in enumerate(outcome.results, 1):
        title = hit.title if len(hit.title) <= 100 else hit.title[:99] + "…"
        out.write(f"{rank:>2}  {hit.code:<9} {hit.score:>6.3f}  {title}\n")


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        print("error: --top must be at least 1", file=sys.stderr)
        return 2
    if (args.query is None) == (args.batch is None):
        print('error: give either a question ("...") or --batch FILE', file=sys.stderr)
        return 2
    try:
        queries = _read_batch(args.batch) if args.batch else [args.query]
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from bot.retrieval import open_engine, resolve_sources

    try:
        engine = open_engine(resolve_sources(catalog=args.catalog), show_progress=True)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.batch:
        out = sys.stdout
        for query in queries:
            out.write(json.dumps(engine.search(query, top=args.top).to_json(query), ensure_ascii=False) + "\n")
        out.flush()
        return 0
    print_table(args.query, engine.search(args.query, top=args.top), sys.stdout)
    return 0
