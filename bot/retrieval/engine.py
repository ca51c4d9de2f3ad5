"""The search engine: normalize → BM25 (+ optional dense) → priors → fusion → decision."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from bot.retrieval.config import RetrievalConfig
from bot.retrieval.corpus import ProcedureDoc, core_title
from bot.retrieval.decision import Decision, decide
from bot.retrieval.lexical import LexicalRanker
from bot.retrieval.normalize import Analysis, Normalizer

if TYPE_CHECKING:
    from bot.retrieval.dense import DenseRanker

MAX_QUERY_CHARS = 500  # a question longer than this is cut: latency stays bounded
# the next level a ward looks to when the preferred one has no such procedure
NEXT_LEVEL = {"xa": "tinh", "tinh": "bo"}
# "(thực hiện tại cấp huyện)": a national name that names the one level it is done at
_TITLE_LEVEL = re.compile(r"thực hiện tại (cấp xã|cấp huyện|cấp tỉnh|cấp trung ương|trung ương)\)?\s*$", re.IGNORECASE)
_TITLE_LEVELS = {"cấp xã": ("xa",), "cấp huyện": (), "cấp tỉnh": ("tinh",), "cấp trung ương": ("bo",), "trung ương": ("bo",)}


def title_levels(title: str) -> tuple[str, ...] | None:
    """Levels a name states for itself at its end ("... (thực hiện tại cấp huyện)"), else None.

    The catalogue lists twins that differ only by this tail with the same level field; the tail
    is the better evidence. Cấp huyện no longer exists, so it earns no ward boost.
    """
    match = _TITLE_LEVEL.search(title.strip())
    return _TITLE_LEVELS[match.group(1).lower()] if match else None


def _or(stated: tuple[str, ...] | None, listed: tuple[str, ...]) -> tuple[str, ...]:
    return listed if stated is None else stated


_CODE = re.compile(r"(?<![\d.])(\d\.\d{6})(?![\d])")  # a national procedure code typed as is, e.g. 1.001193


@dataclass(frozen=True)
class Hit:
    code: str
    title: str
    score: float


@dataclass(frozen=True)
class SearchOutcome:
    decision: Decision
    results: list[Hit] = field(default_factory=list)
    confidence: float = 0.0

    def to_json(self, query: str) -> dict:
        return {
            "query": query,
            "decision": self.decision,
            "results": [{"code": h.code, "title": h.title, "score": round(h.score, 4)} for h in self.results],
        }


class SearchEngine:
    """Ranks procedures for a citizen's question. Thread-safe for concurrent `search` calls."""

    def __init__(
        self,
        docs: Sequence[ProcedureDoc],
        row_doc: Sequence[int],
        normalizer: Normalizer,
        lexical: LexicalRanker,
        config: RetrievalConfig,
        dense: "DenseRanker | None" = None,
        row_kinds: Sequence[str] | None = None,
    ) -> None:
        self.docs = list(docs)
        self.row_doc = np.asarray(row_doc, dtype=np.int64)
        self.normalizer = normalizer
        self.lexical = lexical
        self.config = config
        self._dense = dense
        self._dense_lock = threading.Lock()
        # rows are stored grouped by procedure (index order); doc d owns rows [start[d], start[d+1])
        if len(self.row_doc) and np.any(np.diff(self.row_doc) < 0):
            raise ValueError("rows must be grouped by procedure")
        kinds = list(row_kinds) if row_kinds is not None else ["name"] * len(self.row_doc)
        kind_weight = {"name": 1.0, "alias": 1.0, "example": config.example_weight}
        self._row_weight = np.array([kind_weight.get(k, 1.0) for k in kinds], dtype=np.float32)
        self.row_kinds = kinds
        # each official name's core is analyzed once (2,642 names with the catalogue: a start-up cost)
        core_words = [self._core_words(d.title) for d in self.docs]
        self._doc_heads = [words[: config.qualifier_window] for words in core_words]
        self._doc_qualifiers = [
            self._title_qualifiers(head) | self._tail_qualifiers(words) for words, head in zip(core_words, self._doc_heads)
        ]
        self._doc_levels = [_or(title_levels(d.title), d.levels) for d in self.docs]
        # level twins: the same procedure listed once per level ("Cấp đổi thẻ căn cước (thực hiện tại cấp
        # tỉnh)"); their names' cores are equal once folded
        self._twin_key = [" ".join(words) for words in core_words]
        self._by_code = {d.code: i for i, d in enumerate(self.docs)}
        self._doc_start = np.searchsorted(self.row_doc, np.arange(len(self.docs) + 1), side="left")
        self._prior = self._priors_for(config.preferred_level)
        # a question that names a level ("... cấp tỉnh", "ở trung ương") moves the level prior there
        self._level_priors = {level: self._priors_for(level) for level in ("xa", "tinh", "bo")}

    def _core_words(self, title: str) -> tuple[str, ...]:
        """The syllables of an official name's core; its first `qualifier_window` ones are its head, where
        qualifiers and exclusions count (long names list who may apply, "... công dân Việt Nam, người nước
        ngoài đang cư trú ...", and that tail must not make them look like variants)."""
        return tuple(self.normalizer.analyze(core_title(title), query=False).words)

    def _title_qualifiers(self, head: tuple[str, ...]) -> frozenset[str]:
        """Qualifiers in the head of an official name: what makes it a variant ("đăng ký LẠI khai tử")."""
        return self.normalizer.qualifiers(Analysis(segments=[list(head)], out_of_scope=[]))

    def _tail_qualifiers(self, words: tuple[str, ...]) -> frozenset[str]:
        """Lexicon `tail_qualifiers` anywhere in the core of the name ("... đối với tổ chức ...")."""
        return self.normalizer.qualifiers(Analysis(segments=[list(words)], out_of_scope=[]), tail_only=True)

    @staticmethod
    def _head_has(head: tuple[str, ...], phrases: frozenset[tuple[str, ...]]) -> bool:
        return any(head[i : i + len(p)] == p for p in phrases for i in range(len(head) - len(p) + 1))

    def _priors_for(self, level: str | None) -> np.ndarray:
        """Level and curated priors; the level next to the preferred one gets a smaller boost
        (at a ward, a province procedure is nearer than a ministry one)."""
        cfg = self.config
        nearer = NEXT_LEVEL.get(level) if level else None

        def level_bonus(levels: tuple[str, ...]) -> float:
            if level and level in levels:
                return cfg.level_boost
            if nearer and nearer in levels:
                return cfg.next_level_boost
            return 0.0

        return np.array(
            [1.0 + level_bonus(levels) + (cfg.curated_boost if d.curated else 0.0) for d, levels in zip(self.docs, self._doc_levels)],
            dtype=np.float32,
        )

    @property
    def dense_ready(self) -> bool:
        return self._dense is not None

    def attach_dense(self, dense: "DenseRanker") -> None:
        """Called by the background loader once the dense index is in memory."""
        with self._dense_lock:
            self._dense = dense

    def analyze(self, query: str) -> tuple[Analysis, list[str]]:
        """Normalized query and its BM25 terms, unknown syllables repaired when enabled."""
        analysis = self.normalizer.analyze(query)
        if self.config.typo_correction:
            segments = [[self.lexical.repair(w) for w in seg] for seg in analysis.segments]
            analysis = Analysis(segments=segments, out_of_scope=analysis.out_of_scope)
        return analysis, analysis.terms()

    def _rows_of(self, doc: int) -> range:
        return range(self._doc_start[doc], self._doc_start[doc + 1])

    def _confidence(self, analysis: Analysis, weights: dict[str, float], query_cover: float, row: int) -> float:
        """How sure we are that the top text answers the question (0..1).

        The best of three kinds of evidence: the share of the question the text explains; when
        the lexicon recognized a situation ("bố tôi mất"), the share of its expansion the text
        explains; and the mass of matched two-syllable phrases (long questions full of words the
        catalogue never uses still match "khai tử" or "tạm trú" as phrases). A lexicon
        out-of-scope phrase ("giá vàng") scales the result down unless a situation was recognized.
        """
        cfg = self.config
        if row < 0:
            return 0.0
        evidence = [query_cover, min(1.0, self.lexical.phrase_mass(weights, row) / cfg.phrase_mass_full)]
        if len(analysis.segments) > 1:
            expansion_terms = Analysis(segments=analysis.segments[1:], out_of_scope=[]).terms()
            expansion_weights = {t: weights.get(t, self.lexical.idf(t)) for t in expansion_terms}
            evidence.append(self.lexical.overlap(expansion_weights, row)[0] * cfg.expansion_trust)
        confidence = max(evidence)
        if analysis.out_of_scope and len(analysis.segments) == 1:
            # an out-of-scope topic, unless the lexicon also recognized a procedure situation
            # ("mất thẻ căn cước trên xe buýt")
            confidence *= cfg.out_of_scope_penalty
        return confidence

    def _runner_up(self, scored: list[tuple[float, float, int, int]], top_doc: int) -> float:
        """The best score of a procedure that is not a level twin of the top one.

        Twins differ only by the level that handles them; the level prior already put the deployment's own
        first, and the walk says where the others are done. Counting a twin as a rival made "đổi thẻ căn
        cước" a choice between three copies of one name. Likewise a procedure the top one's case questions
        redirect to: the walk asks the question that tells them apart.
        """
        key, redirects = self._twin_key[top_doc], self.docs[top_doc].redirects
        return next(
            (s for s, _, d, _ in scored[1:] if self._twin_key[d] != key and self.docs[d].code not in redirects), 0.0
        )

    def search(self, query: str, top: int = 5) -> SearchOutcome:
        """Top `top` procedures with scores and the decision for the dialogue."""
        if not isinstance(query, str):
            raise TypeError("query must be text")
        if top < 1:
            raise ValueError("top must be at least 1")
        cfg = self.config
        query = query[:MAX_QUERY_CHARS]
        typed = [self._by_code[c] for c in _CODE.findall(query) if c in self._by_code]
        if typed:  # staff and the kiosk sometimes type the code itself
            hits = [Hit(self.docs[d].code, self.docs[d].title, 1.0) for d in dict.fromkeys(typed)][:top]
            return SearchOutcome(decision="sure" if len(hits) == 1 else "ambiguous", results=hits, confidence=1.0)
        analysis, terms = self.analyze(query)
        if not terms:
            return SearchOutcome(decision="unknown", results=[])
        row_scores = self.lexical.scores(terms)
        max_row = float(row_scores.max()) if len(row_scores) else 0.0
        dense_scores = None
        dense = self._dense
        if dense is not None and cfg.dense_weight > 0:
            dense_scores = dense.doc_scores(query, len(self.docs), self.row_doc)
        if max_row <= 0 and dense_scores is None:
            return SearchOutcome(decision="unknown", results=[])
        pool: set[int] = set()
        k = min(cfg.candidates, len(self.docs))
        if max_row > 0:
            top_rows = np.argsort(-row_scores)[: k * 4]
            pool.update(int(self.row_doc[r]) for r in top_rows if row_scores[r] > 0)
        if dense_scores is not None:
            pool.update(np.argpartition(-dense_scores, k - 1)[:k].tolist())
        weights = self.lexical.query_weights(terms)
        query_qualifiers = self.normalizer.qualifiers(analysis)
        asked = self.normalizer.asked_qualifiers(analysis)
        excluded = self.normalizer.excluded(query)
        named_levels = self.normalizer.levels(query)
        prior = self._level_priors[next(iter(named_levels))] if len(named_levels) == 1 else self._prior
        scored: list[tuple[float, float, int, int]] = []
        for d in pool:
            best, best_cover, best_row = 0.0, 0.0, -1
            for r in self._rows_of(d):
                if row_scores[r] <= 0:
                    continue
                query_cover, text_cover = self.lexical.overlap(weights, r)
                value = float(self._row_weight[r]) * (
                    cfg.bm25_weight * float(row_scores[r]) / max_row
                    + cfg.query_cover_weight * query_cover
                    + cfg.text_cover_weight * text_cover
                )
                if value > best:
                    best, best_cover, best_row = value, query_cover, r
            if dense_scores is not None:
                best += cfg.dense_weight * float(dense_scores[d])
            # a variant procedure ("đăng ký LẠI khai tử") the question gives no hint of ranks lower, and
            # (symmetric) a procedure sharing no qualifier with a question that asks for one ("GIA HẠN tạm trú")
            qualifiers = self._doc_qualifiers[d]
            asked_other = cfg.qualifier_symmetric and query_qualifiers and not qualifiers & query_qualifiers
            if (qualifiers and not qualifiers & query_qualifiers) or asked_other:
                penalty = cfg.qualifier_penalty
            else:
                penalty = 1.0
            # the citizen named a variant ("xin GIA HẠN", "XÓA tạm trú") this procedure is not
            if asked and not asked <= qualifiers:
                penalty *= cfg.asked_qualifier_penalty
            # the situation rules this procedure out ("đã có giấy khai sinh": not a "khai sinh ..." one)
            if excluded and self._head_has(self._doc_heads[d], excluded):
                penalty *= cfg.exclude_penalty
            scored.append((best * float(prior[d]) * penalty, best_cover, d, best_row))
        scored.sort(key=lambda item: (-item[0], self.docs[item[2]].code))
        top_score, top_cover, top_doc, top_row = scored[0]
        second = self._runner_up(scored, top_doc)
        confidence = self._confidence(analysis, weights, top_cover, top_row)
        decision = decide(
            confidence,
            top_score,
            second,
            sure_min_score=cfg.sure_min_score,
            sure_min_margin=cfg.sure_min_margin,
            unknown_below=cfg.unknown_below,
        )
        hits = [Hit(self.docs[d].code, self.docs[d].title, float(s)) for s, _, d, _ in scored[:top]]
        return SearchOutcome(decision=decision, results=hits, confidence=confidence)
