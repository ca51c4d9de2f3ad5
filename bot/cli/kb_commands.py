"""`python -m bot kb ...`: validate the knowledge base, import the national catalogue, draft a file.

Heavy imports (pydantic models, importer) stay inside the handlers so
`python -m bot --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    kb = subparsers.add_parser("kb", help="knowledge base: validate, import, draft")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="SUBCOMMAND")

    validate = kb_sub.add_parser(
        "validate", help="check procedure files; exit 1 listing every error as 'file: field: message'"
    )
    validate.add_argument(
        "path", nargs="?", type=Path,
        help="knowledge dir, procedures folder or one file (default: settings knowledge_dir)",
    )
    validate.add_argument(
        "--catalog", type=Path, default=None,
        help="national catalogue whose codes count as known for related/redirect (default: settings catalog)",
    )
    validate.set_defaults(handler=_validate)

    imp = kb_sub.add_parser("import", help="import national catalogue records into YAML files (JSON report on stdout)")
    imp.add_argument("source", type=Path, help="catalogue file (.jsonl or .jsonl.gz)")
    imp.add_argument("--out", type=Path, required=True, help="folder for the <code>.yaml files")
    imp.add_argument("--level", choices=["xa", "tinh", "bo"], help="only records of this level")
    imp.set_defaults(handler=_import)

    export = kb_sub.add_parser(
        "export-catalog",
        help="write the derived catalogue shipped with the project (parsed records only) from the raw portal crawl",
    )
    export.add_argument("--from", dest="source", type=Path, required=True, help="raw crawl (.jsonl or .jsonl.gz)")
    export.add_argument(
        "--out", type=Path, default=None,
        help="derived file (default: knowledge/catalog/<crawl name>.procedures.jsonl.gz)",
    )
    export.set_defaults(handler=_export_catalog)

    draft = kb_sub.add_parser("draft", help="write a draft procedure file from a catalogue record, for a curator")
    draft.add_argument("code", help="national procedure code, e.g. 1.001193")
    draft.add_argument("--from", dest="source", type=Path, required=True, help="catalogue file")
    draft.add_argument(
        "--out", type=Path, default=None,
        help="folder (default: <knowledge_dir>/drafts; move the file to procedures/ once it validates)",
    )
    draft.add_argument("--force", action="store_true", help="overwrite an existing file")
    draft.set_defaults(handler=_draft)

    kb.set_defaults(handler=lambda args: (kb.print_help(), 0 if args.kb_command else 2)[1])


def _validate(args: argparse.Namespace) -> int:
    from bot.knowledge.validator import validate_knowledge_dir
    from bot.settings import get_settings

    settings = get_settings()
    path = args.path or settings.knowledge_dir
    catalog = args.catalog or settings.catalog
    extra: set[str] = set()
    if catalog is not None:
        from bot.knowledge.importer import CatalogError, catalog_codes

        try:
            extra = catalog_codes(catalog)
        except CatalogError as exc:
            print(str(exc), file=sys.stderr)
            return 1
    result = validate_knowledge_dir(path, extra_codes=extra)
    for error in result.errors:
        print(error)
    if result.errors:
        print(f"INVALID: {len(result.errors)} error(s) in {path}", file=sys.stderr)
        return 1
    print(f"OK: {len(result.procedures)} procedure file(s) valid in {path}", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    from bot.knowledge.importer import CatalogError, import_catalog, write_yaml

    try:
        imported = import_catalog(args.source, level=args.level)
    except CatalogError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    for warning in imported.warnings:
        print(f"WARNING {warning}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    for proc in imported.procedures:
        write_yaml(proc, args.out / f"{proc.code}.yaml", header="Imported from the national catalogue; not curated.")
    print(json.dumps(imported.report, ensure_ascii=False))
    return 0


def _export_catalog(args: argparse.Namespace) -> int:
    from bot.knowledge.catalog_file import export_catalog
    from bot.knowledge.importer import CatalogError
    from bot.settings import PROJECT_ROOT

    stem = args.source.name.split(".")[0]
    out = args.out or PROJECT_ROOT / "knowledge" / "catalog" / f"{stem}.procedures.jsonl.gz"
    try:
        report = export_catalog(args.source, out)
    except CatalogError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    report["failed"] = len(report["failed"])
    print(json.dumps(report, ensure_ascii=False))
    print(f"derived catalogue written: {out}", file=sys.stderr)
    return 0


def _draft(args: argparse.Namespace) -> int:
    from bot.knowledge.draft import DraftError, write_draft
    from bot.settings import get_settings

    out = args.out or get_settings().knowledge_dir / "drafts"
    try:
        path = write_draft(args.code, args.source, out, force=args.force)
    except DraftError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"draft written: {path}", file=sys.stderr)
    print(f"finish the TODO fields, check it with: python -m bot kb validate {path}", file=sys.stderr)
    return 0
