"""`python -m bot index build`: build the search index when missing or stale (a fast no-op when fresh)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("index", help="search index")
    commands = parser.add_subparsers(dest="index_command", metavar="SUBCOMMAND")
    build = commands.add_parser("build", help="build the search index if missing or stale")
    build.add_argument("--catalog", type=Path, help="national catalogue file to include (default: settings)")
    build.add_argument("--force", action="store_true", help="rebuild even when fresh")
    build.set_defaults(handler=run_build)
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def run_build(args: argparse.Namespace) -> int:
    from bot.knowledge import KnowledgeBaseError
    from bot.retrieval.service import ensure_index, resolve_sources
    from bot.settings import get_settings

    started = time.perf_counter()
    try:
        sources = resolve_sources(catalog=args.catalog)
        folder, built = ensure_index(sources, get_settings().index_dir, force=args.force)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KnowledgeBaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    state = "built" if built else "fresh, reused"
    print(f"index {state}: {folder} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0
