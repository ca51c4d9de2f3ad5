"""`python -m bot console add-user NAME` (password on standard input) and `python -m bot console serve`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    console = subparsers.add_parser("console", help="staff console: officers, web app")
    sub = console.add_subparsers(dest="console_command", metavar="SUBCOMMAND")
    add = sub.add_parser("add-user", help="create an officer (password read from standard input)")
    add.add_argument("name")
    add.add_argument("--replace", action="store_true", help="set a new password for an existing officer")
    add.set_defaults(handler=_add_user)
    serve = sub.add_parser("serve", help="serve the console (on 127.0.0.1 unless --host says otherwise)")
    serve.add_argument("--port", type=int, default=int(os.environ.get("CONSOLE_PORT", "5077")))
    # a container must listen on its own network interface (deploy/); a machine keeps the console on 127.0.0.1
    serve.add_argument("--host", default=os.environ.get("CONSOLE_HOST", "127.0.0.1"))
    serve.set_defaults(handler=_serve)
    console.set_defaults(handler=lambda _args: console.print_help() or 2)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Mật khẩu: ")
        if getpass.getpass("Nhập lại mật khẩu: ") != first:
            raise ValueError("hai lần nhập mật khẩu không khớp")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _add_user(args: argparse.Namespace) -> int:
    from bot.console.auth import AuthError, add_user
    from bot.db import DatabaseError
    from bot.settings import get_settings
    from bot.storage import open_database

    try:
        password = _read_password()
        conn = open_database(get_settings().database_target)
        add_user(conn, args.name, password, replace=args.replace)
    except (AuthError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except DatabaseError as exc:
        print(f"error: database: {exc}", file=sys.stderr)
        return 1
    print(f"officer {args.name} saved", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bot.console.service import serve

    serve(host=args.host, port=args.port)
    return 0
