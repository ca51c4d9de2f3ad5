"""Container entry point: the start-up checks of `make run`, then exec the server in the same process.

In a container each server is started on its own, not by `python -m bot run`, so the refusal of the production
profile (default privacy salt, missing tokens: bot/deployment.py) would be skipped. The images start through this:

    python -m bot.preflight [--require NAME ...] [--rasa-api] -- COMMAND [ARGS ...]

--require NAME   refuse to start while environment variable NAME is unset or blank (e.g. DATABASE_URL in a
                 cluster, where each pod falling back to its own SQLite file would split the state).
--rasa-api       append Rasa's `--enable-api --auth-token $RASA_AUTH_TOKEN` when settings.yml turns the HTTP API
                 on (`deployment.http_api`), as the runner does; nothing when it is off.

Standard library + bot.deployment only: runs in both images (Python 3.10 Rasa, Python 3.11 actions/console).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from bot.deployment import API_TOKEN_ENV, DeploymentError, describe, load_deployment, production_problems, secret


def problems(required: Sequence[str]) -> list[str]:
    """Why this container must not start (empty: it may)."""
    found = [f"{name} is unset (required here)" for name in required if secret(name) is None]
    found.extend(production_problems(load_deployment()))
    return found


def server_command(command: Sequence[str], rasa_api: bool) -> list[str]:
    """`command`, with the Rasa HTTP API switches added when asked for and enabled in settings.yml."""
    argv = list(command)
    if rasa_api and load_deployment().http_api:
        argv.append("--enable-api")
        token = secret(API_TOKEN_ENV)
        if token:
            argv.extend(["--auth-token", token])
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.preflight", description=__doc__.split("\n\n")[0])
    parser.add_argument("--require", action="append", default=[], metavar="NAME")
    parser.add_argument("--rasa-api", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to start after --")
    try:
        refused = problems(args.require)
        final = server_command(command, args.rasa_api)
    except DeploymentError as exc:
        print(f"error: settings.yml: {exc}", file=sys.stderr)
        return 2
    if refused:
        print("error: refusing to start:", file=sys.stderr)
        for problem in refused:
            print(f"  - {problem}", file=sys.stderr)
        print("see docs/deployment.md (secrets) and docs/security.md", file=sys.stderr)
        return 2
    print(describe(load_deployment()), file=sys.stderr, flush=True)
    os.execvp(final[0], final)
    return 127  # not reached: execvp replaces this process or raises


if __name__ == "__main__":
    sys.exit(main())
