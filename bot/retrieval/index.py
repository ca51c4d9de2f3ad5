"""The on-disk index: built once per knowledge content + lexicon + model, reused after.

Layout: `<index_dir>/retrieval-<key>/` with `meta.json` (procedures, texts, terms),
`bm25/` (bm25s) and, when the dense ranker is on, `dense.faiss`. The key hashes the
bytes of every source file (curated YAML, lexicon, catalogue file), the model name and
the index parameters, so checking freshness costs a few file reads and no model or
knowledge-base load. A folder appears only complete (written aside, then renamed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from bot.retrieval.config import RetrievalConfig
from bot.retrieval.corpus import ProcedureDoc, docs_digest
from bot.retrieval.lexical import LexicalRanker
from bot.retrieval.normalize import Normalizer, load_lexicon

log = logging.getLogger(__name__)

INDEX_VERSION = 6  # bump when the index layout, the stored docs or the term analysis change
KEEP_INDEXES = 4  # older index folders beyond this many are removed


class SearchIndexError(RuntimeError):
    """The index cannot be built or read."""


@dataclass(frozen=True)
class Sources:
    """What an index is built from."""

    knowledge_dir: Path
    catalog: Path | None
    config: RetrievalConfig

    def key(self) -> str:
        """Hash of source bytes + model name + parameters (cheap: no parsing)."""
        digest = hashlib.sha256()
        digest.update(f"v{INDEX_VERSION}".encode())
        params = {
            "k1": self.config.bm25_k1,
            "b": self.config.bm25_b,
            "model": self.config.model if self.config.dense_weight > 0 else None,
        }
        digest.update(json.dumps(params, sort_keys=True).encode())
        files = sorted((self.knowledge_dir / "procedures").glob("*.yaml"))
        files.append(self.config.lexicon_path())
        if self.catalog is not None:
            files.append(self.catalog)
        for path in files:
            digest.update(str(path.name).encode())
            try:
                with path.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
            except OSError as exc:
                raise SearchIndexError(f"{path}: cannot read: {exc}") from exc
        return digest.hexdigest()[:20]


@dataclass
class LexicalParts:
    docs: list[ProcedureDoc]
    row_doc: list[int]
    rows: list[list[str]]
    row_kinds: list[str]
    lexical: LexicalRanker


def analyze_docs(
    docs: Sequence[ProcedureDoc], normalizer: Normalizer, progress: Callable[[int], None] | None = None
) -> tuple[list[int], list[list[str]], list[str], list[str]]:
    """One term list per text (row): which procedure each row belongs to, its text and kind."""
    row_doc: list[int] = []
    rows: list[list[str]] = []
    row_texts: list[str] = []
    row_kinds: list[str] = []
    for i, doc in enumerate(docs):
        for j, text in enumerate(doc.texts):
            terms = normalizer.analyze(text, query=False).terms()
            if terms:
                rows.append(terms)
                row_doc.append(i)
                row_texts.append(text)
                row_kinds.append(doc.kind(j))
        if progress:
            progress(1)
    return row_doc, rows, row_texts, row_kinds


def index_folder(index_dir: Path, key: str) -> Path:
    return index_dir / f"retrieval-{key}"


def _load_docs(sources: Sources) -> list[ProcedureDoc]:
    from bot.knowledge import load_knowledge_base
    from bot.retrieval.corpus import docs_from_knowledge_base

    kb = load_knowledge_base(sources.knowledge_dir, catalog=sources.catalog)
    return docs_from_knowledge_base(kb)


def build_index(
    index_dir: Path,
    sources: Sources,
    docs: Sequence[ProcedureDoc] | None = None,
    show_progress: bool = True,
) -> Path:
    """Build (or rebuild) the index for `sources`; returns its folder. Progress goes to stderr."""
    from tqdm import tqdm

    key = sources.key()
    target = index_folder(index_dir, key)
    started = time.perf_counter()
    if docs is None:
        log.info("loading knowledge base (%s%s)", sources.knowledge_dir, f" + {sources.catalog}" if sources.catalog else "")
        docs = _load_docs(sources)
    normalizer = Normalizer(load_lexicon(sources.config.lexicon_path()))
    with tqdm(total=len(docs), desc="index: texts", unit="proc", disable=not show_progress, leave=False) as bar:
        row_doc, rows, row_texts, row_kinds = analyze_docs(docs, normalizer, bar.update)
    lexical = LexicalRanker.build(rows, k1=sources.config.bm25_k1, b=sources.config.bm25_b, groups=row_doc)
    index_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=index_dir))
    try:
        lexical.save(work / "bm25")
        if sources.config.dense_weight > 0:
            from bot.retrieval.dense import DenseRanker

            dense = DenseRanker.build(sources.config.model, row_texts, show_progress=show_progress)
            dense.save(work / "dense.faiss")
        meta = {
            "version": INDEX_VERSION,
            "key": key,
            "model": sources.config.model if sources.config.dense_weight > 0 else None,
            "docs_digest": docs_digest(docs),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "docs": [d.to_json() for d in docs],
            "row_doc": row_doc,
            "rows": rows,
            "row_kinds": row_kinds,
        }
        (work / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(work, target)
        except OSError:
            if not (target / "meta.json").is_file():
                raise
            shutil.rmtree(work, ignore_errors=True)  # another process finished the same index first
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _prune(index_dir, keep=target)
    log.info("index built in %.1f s: %d procedures, %d texts → %s", time.perf_counter() - started, len(docs), len(rows), target)
    return target


def _prune(index_dir: Path, keep: Path) -> None:
    """Remove the oldest index folders beyond KEEP_INDEXES (never the one just built)."""
    folders = sorted(
        (p for p in index_dir.glob("retrieval-*") if p.is_dir() and p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in folders[KEEP_INDEXES - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def load_lexical(folder: Path) -> LexicalParts:
    """Read procedures, rows and the BM25 index of a built folder."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SearchIndexError(f"{folder}: unreadable index: {exc}") from exc
    if meta.get("version") != INDEX_VERSION:
        raise SearchIndexError(f"{folder}: index version {meta.get('version')} != {INDEX_VERSION}")
    docs = [ProcedureDoc.from_json(d) for d in meta["docs"]]
    rows = [list(r) for r in meta["rows"]]
    lexical = LexicalRanker.load(folder / "bm25", rows, groups=meta["row_doc"])
    kinds = list(meta.get("row_kinds") or ["name"] * len(rows))
    return LexicalParts(docs=docs, row_doc=list(meta["row_doc"]), rows=rows, row_kinds=kinds, lexical=lexical)
