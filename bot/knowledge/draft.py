"""`kb draft CODE --from SOURCE`: a starting YAML file for a curator, from the national record.

The facts (channels, documents, legal basis, result, source) come from the
importer; what only a person can write (aliases, example questions, cases,
plain-language steps, verified_on) is left empty with TODO comments, so the
draft fails validation until a curator has finished it. Drafts go to
`knowledge/drafts/` by default, outside the served `procedures/` folder.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.importer import CatalogError, find_record, record_to_procedure
from bot.knowledge.models import CODE_PATTERN, Procedure

HEADER = """\
# DRAFT from the national catalogue ({source}) - not served until finished and moved to procedures/.
# TODO (curator):
#   - check every fact against the national record: channels (time, fee), documents, legal_basis, result
#   - write aliases and example_questions in citizens' words
#   - split documents that depend on a case into `when:` + a `cases:` question that adds them
#   - rewrite steps_online / steps_in_person as short plain steps (VNeID, menu, attach, pay, dossier code...)
#   - set verified_on to the date you checked the record
#   - then: python -m bot kb validate {path}
"""


class DraftError(Exception):
    """The draft cannot be written (bad code, record not found, file exists)."""


def slugify(text: str, max_words: int = 5) -> str:
    """'Tờ khai đăng ký khai sinh' -> 'to_khai_dang_ky_khai_sinh' (document ids)."""
    text = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    words = re.findall(r"[a-z0-9]+", text)[:max_words]
    return "_".join(words) or "giay_to"


def draft_data(proc: Procedure) -> dict[str, Any]:
    """Schema-ordered mapping for the draft, with empty places for the curator's work."""
    data = proc.to_yaml_dict()
    seen: set[str] = set()
    for doc in data.get("documents", []):
        slug = slugify(doc["name"])
        base, n = slug, 2
        while slug in seen:
            slug, n = f"{base}_{n}", n + 1
        seen.add(slug)
        doc["id"] = slug
    order = [
        "code", "name", "short_name", "aliases", "example_questions", "field", "level", "who", "agency",
        "channels", "documents", "cases", "steps_online", "steps_in_person", "result", "legal_basis",
        "related", "source", "verified_on", "tips",
    ]
    blanks: dict[str, Any] = {"aliases": [], "example_questions": [], "cases": [], "verified_on": None}
    return {key: data.get(key, blanks.get(key)) for key in order if key in data or key in blanks}


def write_draft(code: str, source: Path, out_dir: Path, force: bool = False) -> Path:
    if not re.fullmatch(CODE_PATTERN, code):
        raise DraftError(f"{code}: not a national procedure code (expected like 1.001193)")
    try:
        record = find_record(source, code)
    except CatalogError as exc:
        raise DraftError(str(exc)) from exc
    if record is None:
        raise DraftError(f"{code}: not found in {source}")
    proc = record_to_procedure(record)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{code}.yaml"
    if path.exists() and not force:
        raise DraftError(f"{path}: already exists (use --force to overwrite)")
    body = yaml.safe_dump(draft_data(proc), allow_unicode=True, sort_keys=False, width=110)
    path.write_text(HEADER.format(source=proc.source or source, path=path) + body, encoding="utf-8")
    return path
