"""Finding the procedure a citizen means: Vietnamese normalization + BM25 (+ optional dense) ranking.

Only the app environment (`.venv`) imports this package (bm25s, numpy; torch and
faiss only when a dense model is configured). See docs/retrieval.md.
"""

from bot.retrieval.config import RetrievalConfig
from bot.retrieval.engine import Hit, SearchEngine, SearchOutcome
from bot.retrieval.service import get_engine, open_engine, reset_engine, resolve_sources

__all__ = [
    "Hit",
    "RetrievalConfig",
    "SearchEngine",
    "SearchOutcome",
    "get_engine",
    "open_engine",
    "reset_engine",
    "resolve_sources",
]
