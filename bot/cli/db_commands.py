"""`python -m bot db upgrade` / `python -m bot db current`: the project database's schema (bot/migrations).

Every process migrates on first use anyway; `upgrade` lets a deployment do it once, before the replicas start
(e.g. a Kubernetes init container), and says which database it reached (password masked).
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="project database: schema migrations (SQLite or DATABASE_URL)")
    sub = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND")
    upgrade = sub.add_parser("upgrade", help="create or migrate the database to the latest schema")
    upgrade.add_argument("--database", help="SQLite file or PostgreSQL URL (default: settings / DATABASE_URL)")
    upgrade.set_defaults(handler=_upgrade)
    current = sub.add_parser("current", help="print the schema revision of the database")
    current.add_argument("--database", help="SQLite file or PostgreSQL URL (default: settings / DATABASE_URL)")
    current.set_defaults(handler=_current)
    db.set_defaults(handler=lambda _args: db.print_help() or 2)


def _target(args: argparse.Namespace) -> str:
    from bot.settings import get_settings

    return str(args.database or get_settings().database_target)


def _shown(target: str) -> str:
    from bot.db import database_url, redacted

    return redacted(database_url(target))


def _upgrade(args: argparse.Namespace) -> int:
    from bot.db import DatabaseError, open_database

    target = _target(args)
    try:
        db = open_database(target)
        revision = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    except DatabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{_shown(target)}: schema at revision {revision}", file=sys.stderr)
    return 0


def _current(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from bot.db import create_engine, database_url
    from bot.migrations.runner import current_revision

    target = _target(args)
    engine = create_engine(database_url(target))
    try:
        with engine.connect() as connection:
            print(current_revision(connection) or "none")
    except sa.exc.SQLAlchemyError as exc:
        print(f"error: {_shown(target)}: {exc.__class__.__name__}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0
