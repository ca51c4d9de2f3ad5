"""The derived catalogue shipped with the project (`knowledge/catalog/*.procedures.jsonl.gz`).

The raw portal crawl may not be redistributed (its owner asks not to copy it), so the
project ships only what the importer parses out of it: one `Procedure` per line, the
fields the assistant uses. The first line is a header naming the format and the source.
`export_catalog` writes it from the raw crawl (`python -m bot kb export-catalog`);
`load_derived` reads it back, validating every record, in well under a second.
Byte-identical output for identical input (sorted records, gzip mtime 0), so a
regeneration that changes nothing shows no diff.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.knowledge.models import Procedure

FORMAT = "tthc-procedures/1"


class DerivedCatalogError(Exception):
    """The derived catalogue cannot be read or a record is invalid (message names file, line, field)."""


def is_derived(path: Path) -> bool:
    """Whether `path` is a derived catalogue (header line with our format) rather than a raw crawl."""
    try:
        opener = gzip.open if Path(path).suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            first = handle.readline()
        return json.loads(first).get("format") == FORMAT
    except (OSError, EOFError, ValueError, AttributeError):
        return False


def export_catalog(source: Path, dest: Path) -> dict[str, Any]:
    """Import the raw crawl `source` and write the derived file `dest`; returns the importer's report."""
    from bot.knowledge.importer import import_catalog

    imported = import_catalog(source)
    procedures = sorted(imported.procedures, key=lambda p: p.code)
    header = {
        "format": FORMAT,
        "source": Path(source).name,
        "records": len(procedures),
        "note": "Derived from the national public service portal crawl; fields parsed by bot.knowledge.importer.",
    }
    lines = [json.dumps(header, ensure_ascii=False)]
    for proc in procedures:
        data = proc.model_dump(mode="json", exclude={"origin"}, exclude_none=True, exclude_defaults=True)
        data["code"], data["name"] = proc.code, proc.name
        lines.append(json.dumps(data, ensure_ascii=False, sort_keys=True))
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as handle:
        handle.write(("\n".join(lines) + "\n").encode("utf-8"))
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(buffer.getvalue())
    return {**imported.report, "written": len(procedures), "warnings": len(imported.warnings)}


def load_derived(path: Path) -> tuple[dict[str, Any], list[Procedure]]:
    """(header, procedures) of a derived file; every record validated, errors name line and field."""
    path = Path(path)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            raw_lines = handle.read().splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DerivedCatalogError(f"{path}: cannot read derived catalogue: {exc}") from exc
    if not raw_lines:
        raise DerivedCatalogError(f"{path}: empty file")
    header = json.loads(raw_lines[0])
    procedures: list[Procedure] = []
    errors: list[str] = []
    for number, line in enumerate(raw_lines[1:], start=2):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            procedures.append(Procedure.model_validate({**data, "origin": "catalog"}))
        except json.JSONDecodeError as exc:
            errors.append(f"{path}: line {number}: not valid JSON: {exc.msg}")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(record)"
            errors.append(f"{path}: line {number}: {where}: {first['msg']}")
    if errors:
        raise DerivedCatalogError("\n".join(errors))
    if header.get("records") not in (None, len(procedures)):
        raise DerivedCatalogError(f"{path}: header says {header.get('records')} records, file has {len(procedures)}")
    return header, procedures
