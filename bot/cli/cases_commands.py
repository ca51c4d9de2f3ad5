"""`python -m bot cases ...`: seed and list the demo dossiers, try a lookup from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path


def _registry(args: argparse.Namespace):
    from bot.cases.config import load_cases_config
    from bot.cases.sqlite_registry import SQLiteCaseRegistry
    from bot.settings import PROJECT_ROOT, get_settings

    settings = get_settings()
    path = args.database or load_cases_config(settings.section("cases"), PROJECT_ROOT).sqlite_path or settings.database_target
    from bot.db import redacted

    shown = redacted(str(path)) if "://" in str(path) else str(Path(path))  # no password in messages
    return SQLiteCaseRegistry.open(path), shown


def _today(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SystemExit(f"--today: expected YYYY-MM-DD, got {value!r}") from None


def _seed(args: argparse.Namespace) -> int:
    from bot.cases.demo import seed_demo

    registry, path = _registry(args)
    dossiers = seed_demo(registry, _today(args.today))
    print(f"seeded {len(dossiers)} demo dossiers into {path}", file=sys.stderr)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.cases.config import load_cases_config
    from bot.cases.demo import DEMO_SOURCE, seed_demo
    from bot.cases.verification import expected_value
    from bot.settings import PROJECT_ROOT, get_settings

    mode = load_cases_config(get_settings().section("cases"), PROJECT_ROOT).verification
    registry, path = _registry(args)
    codes = registry.codes(source=DEMO_SOURCE)
    if not codes:
        seed_demo(registry)
        codes = registry.codes(source=DEMO_SOURCE)
        print(f"no demo dossiers in {path}: seeded them", file=sys.stderr)
    rows = []
    for code in codes:
        dossier = registry.get(code)
        assert dossier is not None
        rows.append(
            {
                "code": dossier.code,
                "procedure_code": dossier.procedure_code,
                "status": dossier.status.value,
                "verification": expected_value(dossier, mode),  # type: ignore[arg-type]
                "verification_mode": mode,
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            print(f"{row['code']:<28} {row['procedure_code']:<9} {row['status']:<20} {row['verification']}")
    return 0


def _lookup(args: argparse.Namespace) -> int:
    from bot.cases.service import build_case_service
    from bot.settings import get_settings

    service = build_case_service(get_settings())
    result = service.lookup(args.sender, args.code, args.verification)
    reply = service.reply(result)
    print(reply.text)
    for button in reply.buttons:
        print(f"[{button['title']}] {button['payload']}")
    return 0 if result.outcome == "found" else 1


def _set_status(args: argparse.Namespace) -> int:
    """Change a dossier in the embedded registry and tell the subscription watcher (issue 15)."""
    import uuid
    from datetime import datetime, timezone

    from bot.cases.codes import DossierCodes
    from bot.cases.config import load_cases_config
    from bot.cases.models import VIETNAM_TZ, Status
    from bot.settings import PROJECT_ROOT, get_settings
    from bot.subscriptions.store import SubscriptionStore

    try:
        status = Status.parse(args.status)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    settings = get_settings()
    code = DossierCodes(load_cases_config(settings.section("cases"), PROJECT_ROOT).code_patterns).match(args.code)
    code = code or args.code.strip().upper()
    registry, path = _registry(args)
    now = datetime.now(VIETNAM_TZ).replace(microsecond=0)
    missing = tuple(args.missing) if args.missing else None
    if not registry.set_status(code, status, now, args.note, missing):
        print(f"no dossier {code} in {path}", file=sys.stderr)
        return 1
    store = SubscriptionStore.open(settings.database_target)
    store.add_event(f"local-{uuid.uuid4().hex}", code, datetime.now(timezone.utc))
    store.close()
    print(f"{code}: {status.value} (timeline row added; followers are notified by the watcher)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cases", help="dossier status lookup (demo registry)")
    sub = parser.add_subparsers(dest="cases_command", metavar="SUBCOMMAND")

    seed = sub.add_parser("seed-demo", help="(re)create the demo dossiers in the SQLite registry")
    seed.add_argument("--database", help="SQLite file or PostgreSQL URL (default: cases.sqlite_path, else the settings' database)")
    seed.add_argument("--today", help="date the demo is built around, YYYY-MM-DD (default: today)")
    seed.set_defaults(handler=_seed)

    demo = sub.add_parser("demo", help="list the demo dossiers with the verification value to type")
    demo.add_argument("--database", help="SQLite file or PostgreSQL URL (default: cases.sqlite_path, else the settings' database)")
    demo.add_argument("--json", action="store_true", help="print a JSON list")
    demo.set_defaults(handler=_demo)

    lookup = sub.add_parser("lookup", help="look a dossier up as a citizen would (prints the reply)")
    lookup.add_argument("code")
    lookup.add_argument("verification", help="the last four digits")
    lookup.add_argument("--sender", default="cli", help="sender id the failure limit counts against")
    lookup.set_defaults(handler=_lookup)

    set_status = sub.add_parser("set-status", help="change a dossier's status in the embedded registry (staff, demos)")
    set_status.add_argument("code")
    set_status.add_argument("status", help="received | processing | supplement_required | done | returned | rejected")
    set_status.add_argument("--note", help="timeline note (e.g. what to add, the reason of a rejection)")
    set_status.add_argument("--missing", action="append", help="a document to add (supplement_required); repeat")
    set_status.add_argument("--database", help="SQLite file or PostgreSQL URL (default: cases.sqlite_path, else the settings' database)")
    set_status.set_defaults(handler=_set_status)

    parser.set_defaults(handler=lambda args: parser.print_help() or 0)
