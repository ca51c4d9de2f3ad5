"""BM25 over normalized syllable unigrams + bigrams (bm25s), one row per indexed text.

Also owns the vocabulary-based typo repair and the IDF-weighted coverage that
the decision uses: BM25 scores are unbounded, coverage says how much of the
question a text actually explains (0..1), which is comparable across queries.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Sequence

import bm25s
import numpy as np
from rapidfuzz.distance import Levenshtein

from bot.retrieval.normalize import BIGRAM_JOINER


class LexicalRanker:
    """BM25 index of term lists; rows are texts, not procedures."""

    def __init__(
        self, retriever: bm25s.BM25, rows: Sequence[Sequence[str]], groups: Sequence[int] | None = None
    ) -> None:
        self._retriever = retriever
        self.row_terms: list[frozenset[str]] = [frozenset(r) for r in rows]
        # Coverage IDF counts procedures, not rows: a curated procedure with thirty aliases that
        # all say "khai sinh" must not make "khai sinh" look like a common word.
        grouped: dict[int, set[str]] = {}
        for i, terms in enumerate(self.row_terms):
            grouped.setdefault(groups[i] if groups is not None else i, set()).update(terms)
        df: Counter[str] = Counter()
        for terms in grouped.values():
            df.update(terms)
        n = max(len(grouped), 1)
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._idf_unseen = math.log(1 + (n + 0.5) / 0.5)
        self._vocab_by_first: dict[str, list[tuple[str, int]]] = {}
        for term, count in df.items():
            if BIGRAM_JOINER not in term:
                self._vocab_by_first.setdefault(term[0], []).append((term, count))
        self._row_mass = [sum(self._idf[t] for t in terms) for terms in self.row_terms]

    @classmethod
    def build(
        cls, rows: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75, groups: Sequence[int] | None = None
    ) -> "LexicalRanker":
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index([list(r) or [""] for r in rows], show_progress=False)
        return cls(retriever, rows, groups)

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, rows: Sequence[Sequence[str]], groups: Sequence[int] | None = None) -> "LexicalRanker":
        retriever = bm25s.BM25.load(str(folder), show_progress=False)
        return cls(retriever, rows, groups)

    def idf(self, term: str) -> float:
        return self._idf.get(term, self._idf_unseen)

    def knows(self, term: str) -> bool:
        return term in self._idf

    def repair(self, word: str) -> str:
        """Closest known syllable (one edit, most frequent) for an unknown one; the word itself otherwise."""
        if len(word) < 4 or word in self._idf or word.isdigit():  # short syllables: too many false repairs
            return word
        best, best_count = word, 0
        for first in {word[0], *"cdgkqstx"}:
            for term, count in self._vocab_by_first.get(first, ()):
                if abs(len(term) - len(word)) <= 1 and count > best_count:
                    if Levenshtein.distance(term, word, score_cutoff=1) <= 1:
                        best, best_count = term, count
        return best

    def phrase_mass(self, weights: dict[str, float], row: int) -> float:
        """Summed IDF of the query's syllable bigrams found in `row`: matched phrases, not stray syllables."""
        present = self.row_terms[row]
        return sum(w for t, w in weights.items() if BIGRAM_JOINER in t and t in present)

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every row (unknown terms are ignored)."""
        known = [t for t in dict.fromkeys(terms) if t in self._idf]
        if not known:
            return np.zeros(len(self.row_terms), dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def query_weights(self, terms: Sequence[str]) -> dict[str, float]:
        """IDF of each distinct query term (unknown terms weigh as the rarest)."""
        return {t: self.idf(t) for t in dict.fromkeys(terms)}

    def overlap(self, weights: dict[str, float], row: int) -> tuple[float, float]:
        """(query coverage, text coverage): IDF-weighted share of the query found in the text, and
        of the text found in the query. The second penalizes texts about something more specific
        ("xóa đăng ký tạm trú" for "đăng ký tạm trú")."""
        present = self.row_terms[row]
        shared = sum(w for t, w in weights.items() if t in present)
        total = sum(weights.values())
        query_cover = shared / total if total > 0 else 0.0
        row_mass = self._row_mass[row]
        text_cover = shared / row_mass if row_mass > 0 else 0.0
        return query_cover, min(text_cover, 1.0)
