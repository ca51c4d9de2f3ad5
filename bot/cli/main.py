"""Builds the `python -m bot` argument parser from one module per command group.

Each command module exposes `register(subparsers)` and keeps its heavy imports
inside the handler, so `python -m bot --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from typing import Sequence

# (module path) of every command group; each module defines `register(subparsers)`.
COMMAND_MODULES: tuple[str, ...] = (
    "bot.cli.kb_commands",
    "bot.cli.search_commands",
    "bot.cli.index_commands",
    "bot.cli.cases_commands",
    "bot.cli.eval_commands",
    "bot.cli.dialogue_commands",
    "bot.cli.dialogue_eval_commands",
    "bot.cli.stack_commands",
    "bot.cli.cluster_commands",
    "bot.cli.console_commands",
    "bot.cli.db_commands",
    "bot.cli.deploy_commands",
)

_GROUPS: dict[int, dict[str, argparse._SubParsersAction]] = {}


def command_group(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> argparse._SubParsersAction:
    """Sub-commands of group `name` (e.g. `eval`, `bench`), shared by several command modules.

    `eval retrieval` and `eval nlu` live in different modules; the first caller creates the group.
    """
    groups = _GROUPS.setdefault(id(subparsers), {})
    if name not in groups:
        parser = subparsers.add_parser(name, help=help_text)
        groups[name] = parser.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")
    return groups[name]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Trợ lý thủ tục hành chính — administrative procedure assistant tools.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_path in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_path)
        except ModuleNotFoundError as exc:
            if exc.name == module_path:
                continue  # command group not written yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `python -m bot ... | head` ends quietly
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request is noise here
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0 if args.command is None else 2
    return int(handler(args) or 0)
