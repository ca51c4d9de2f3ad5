"""Opening the search engine from settings: fresh index reused, stale one rebuilt.

`get_engine()` is the process-wide engine of the action server and the CLI. The
lexical part loads in well under a second from the cached index; when a dense
model is configured it loads in a background thread and the engine answers with
BM25 alone until it is ready, so a conversation never waits for torch.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from bot.retrieval.config import RetrievalConfig
from bot.retrieval.engine import SearchEngine
from bot.retrieval.index import Sources, build_index, index_folder, load_lexical
from bot.retrieval.normalize import Normalizer, load_lexicon

if TYPE_CHECKING:
    from bot.retrieval.corpus import ProcedureDoc

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_ENGINE: SearchEngine | None = None


def resolve_sources(
    knowledge_dir: Path | None = None,
    catalog: Path | None = None,
    config: RetrievalConfig | None = None,
) -> Sources:
    """Sources from explicit arguments, falling back to settings (catalog: settings only if not given)."""
    from bot.settings import get_settings

    settings = get_settings()
    if catalog is not None and not Path(catalog).is_file():
        raise FileNotFoundError(f"{catalog}: catalogue file not found")
    return Sources(
        knowledge_dir=Path(knowledge_dir) if knowledge_dir else settings.knowledge_dir,
        catalog=Path(catalog) if catalog else settings.catalog,
        config=config or RetrievalConfig.from_settings(settings),
    )


def ensure_index(sources: Sources, index_dir: Path, force: bool = False, show_progress: bool = True) -> tuple[Path, bool]:
    """Folder of a fresh index for `sources`, building it if missing or `force`; (folder, built?)."""
    folder = index_folder(index_dir, sources.key())
    if not force and (folder / "meta.json").is_file():
        return folder, False
    return build_index(index_dir, sources, show_progress=show_progress), True


def open_engine(
    sources: Sources,
    index_dir: Path | None = None,
    *,
    dense_in_background: bool = False,
    show_progress: bool = True,
) -> SearchEngine:
    """Engine over a fresh index (built when stale). Dense part loaded now or in a background thread."""
    from bot.settings import get_settings

    index_dir = Path(index_dir) if index_dir else get_settings().index_dir
    started = time.perf_counter()
    folder, built = ensure_index(sources, index_dir, show_progress=show_progress)
    parts = load_lexical(folder)
    normalizer = Normalizer(load_lexicon(sources.config.lexicon_path()))
    engine = SearchEngine(parts.docs, parts.row_doc, normalizer, parts.lexical, sources.config, row_kinds=parts.row_kinds)
    log.info(
        "search index %s (%d procedures) %s in %.2f s",
        folder.name,
        len(parts.docs),
        "built" if built else "loaded",
        time.perf_counter() - started,
    )
    if sources.config.dense_weight > 0:
        if dense_in_background:
            threading.Thread(target=_attach_dense, args=(engine, folder, sources.config), daemon=True).start()
        else:
            _attach_dense(engine, folder, sources.config)
    return engine


def _attach_dense(engine: SearchEngine, folder: Path, config: RetrievalConfig) -> None:
    from bot.retrieval.dense import DenseRanker

    try:
        started = time.perf_counter()
        engine.attach_dense(DenseRanker.load(config.model, folder / "dense.faiss"))
        log.info("dense ranker ready in %.1f s", time.perf_counter() - started)
    except Exception:  # the lexical engine keeps serving; the failure must be visible
        log.exception("dense ranker could not be loaded; searching with BM25 only")


def get_engine() -> SearchEngine:
    """Process-wide engine from settings (index built on first use if stale)."""
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            _ENGINE = open_engine(resolve_sources(), dense_in_background=True, show_progress=False)
        return _ENGINE


def reset_engine() -> None:
    """Forget the process-wide engine (tests; after the knowledge base changed)."""
    global _ENGINE
    with _LOCK:
        _ENGINE = None


def engine_from_docs(docs: "Sequence[ProcedureDoc]", config: RetrievalConfig | None = None) -> SearchEngine:
    """In-memory engine over given procedures (no disk cache): tests, experiments, small corpora."""
    from bot.retrieval.index import analyze_docs
    from bot.retrieval.lexical import LexicalRanker

    config = config or RetrievalConfig()
    normalizer = Normalizer(load_lexicon(config.lexicon_path()))
    row_doc, rows, _, kinds = analyze_docs(docs, normalizer)
    lexical = LexicalRanker.build(rows, k1=config.bm25_k1, b=config.bm25_b, groups=row_doc)
    return SearchEngine(list(docs), row_doc, normalizer, lexical, config, row_kinds=kinds)
