"""Loads the knowledge base: curated files, the office, optionally the national catalogue.

All or nothing: if the validator finds any error the loader raises
`KnowledgeBaseError` with every error, so the bot never serves a half-broken
knowledge base. A curated file overrides the catalogue record with the same code.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bot.knowledge.models import ChannelGuides, Office, Procedure
from bot.knowledge.validator import PROCEDURES_DIR, validate_knowledge_dir


class KnowledgeBaseError(Exception):
    """The knowledge base is invalid; `errors` lists every `file: field: message`."""

    def __init__(self, errors: list[str], source: Path | None = None) -> None:
        self.errors = list(errors)
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"invalid knowledge base{where}: {len(self.errors)} error(s)\n" + "\n".join(self.errors))


@dataclass
class KnowledgeBase:
    procedures: dict[str, Procedure] = field(default_factory=dict)
    office: Office = field(default_factory=Office)
    # generic steps for channels the procedure files give no steps for (postal), from channels.yml
    channel_guides: ChannelGuides = field(default_factory=ChannelGuides)
    curated_codes: set[str] = field(default_factory=set)
    knowledge_dir: Path | None = None
    catalog: Path | None = None

    def get(self, code: str) -> Procedure | None:
        return self.procedures.get(code)

    def __len__(self) -> int:
        return len(self.procedures)

    def content_hash(self) -> str:
        """Stable hash of everything loaded: a cache key for search indexes built from it."""
        digest = hashlib.sha256()
        for code in sorted(self.procedures):
            digest.update(self.procedures[code].model_dump_json().encode("utf-8"))
        digest.update(self.office.model_dump_json().encode("utf-8"))
        return digest.hexdigest()


def _settings_paths() -> tuple[Path, Path | None]:
    from bot.settings import get_settings

    settings = get_settings()
    return settings.knowledge_dir, settings.catalog


def load_knowledge_base(knowledge_dir: Path | None = None, catalog: Path | None = None) -> KnowledgeBase:
    """Validate and load; raises `KnowledgeBaseError` listing every error (nothing partial).

    `knowledge_dir` defaults to the settings' `knowledge_dir`; `catalog` defaults to the
    settings' `catalog` only when `knowledge_dir` is not given either, so tests that pass a
    folder get exactly that folder.
    """
    if knowledge_dir is None:
        knowledge_dir, settings_catalog = _settings_paths()
        catalog = catalog if catalog is not None else settings_catalog
    knowledge_dir = Path(knowledge_dir)
    if not (knowledge_dir / PROCEDURES_DIR).is_dir():
        raise KnowledgeBaseError([f"{knowledge_dir}: (path): no '{PROCEDURES_DIR}' folder"], knowledge_dir)

    catalog_procs: dict[str, Procedure] = {}
    if catalog is not None:
        from bot.knowledge.importer import CatalogError, import_catalog

        try:
            catalog_procs = {p.code: p for p in import_catalog(Path(catalog)).procedures}
        except CatalogError as exc:
            raise KnowledgeBaseError([str(exc)], knowledge_dir) from exc

    result = validate_knowledge_dir(knowledge_dir, extra_codes=catalog_procs)
    if result.errors:
        raise KnowledgeBaseError(result.errors, knowledge_dir)
    procedures = {**catalog_procs, **result.procedures}
    return KnowledgeBase(
        procedures=procedures,
        office=result.office,
        channel_guides=result.channel_guides,
        curated_codes=set(result.procedures),
        knowledge_dir=knowledge_dir,
        catalog=Path(catalog) if catalog is not None else None,
    )


_LOCK = threading.Lock()
_CACHED: KnowledgeBase | None = None


def get_knowledge_base() -> KnowledgeBase:
    """Process-wide knowledge base from settings, loaded once (raises `KnowledgeBaseError`)."""
    global _CACHED
    with _LOCK:
        if _CACHED is None:
            _CACHED = load_knowledge_base()
        return _CACHED


def load_or_exit() -> KnowledgeBase:
    """For process start-up (action server, commands): the knowledge base, or exit 1 listing every error.

    Nothing partial: a process that needs the knowledge base never starts on a broken one.
    """
    try:
        return get_knowledge_base()
    except KnowledgeBaseError as exc:
        print(f"Refusing to start: {exc}", file=sys.stderr)
        print("Fix the files above, then check with: python -m bot kb validate", file=sys.stderr)
        raise SystemExit(1) from exc


def reset_knowledge_base() -> None:
    """Forget the process-wide instance (tests, reload after editing files)."""
    global _CACHED
    with _LOCK:
        _CACHED = None


def summary(kb: KnowledgeBase) -> str:
    """One line for logs: counts only."""
    return json.dumps(
        {"procedures": len(kb.procedures), "curated": len(kb.curated_codes), "hash": kb.content_hash()[:12]}
    )
