"""Dense ranker with the bundled offline MiniLM: encode, search, save/load, fusion hook."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("faiss")

from bot.retrieval.config import BUNDLED_MODEL, RetrievalConfig  # noqa: E402
from bot.retrieval.corpus import ProcedureDoc  # noqa: E402
from bot.retrieval.dense import DenseRanker, load_model, resolve_model  # noqa: E402
from bot.retrieval.service import engine_from_docs  # noqa: E402

TEXTS = ["register a birth certificate for a newborn", "renew a driving licence", "report a lost passport"]


@pytest.fixture(scope="module")
def model():
    return load_model(BUNDLED_MODEL)


def test_bundled_model_resolves_to_a_local_folder() -> None:
    assert Path(resolve_model(BUNDLED_MODEL)).is_dir()
    assert resolve_model("some/other-model") == "some/other-model"


@pytest.mark.slow
def test_nearest_text_and_roundtrip(model, tmp_path: Path) -> None:
    ranker = DenseRanker.build(BUNDLED_MODEL, TEXTS, model=model)
    sims, ids = ranker.row_scores("my passport was stolen")
    assert ids[0] == 2 and sims[0] > sims[1]
    ranker.save(tmp_path / "dense.faiss")
    loaded = DenseRanker.load(BUNDLED_MODEL, tmp_path / "dense.faiss", model=model)
    assert loaded.size == 3
    assert loaded.row_scores("my passport was stolen")[1][0] == 2
    per_doc = loaded.doc_scores("new baby birth", 2, np.array([0, 1, 1]))
    assert per_doc[0] > per_doc[1]
    with pytest.raises(FileNotFoundError):
        DenseRanker.load(BUNDLED_MODEL, tmp_path / "missing.faiss", model=model)


@pytest.mark.slow
def test_dense_scores_take_part_in_fusion(model) -> None:
    docs = [
        ProcedureDoc("1.000001", "Birth registration", ("xa",), False, ("register a birth certificate for a newborn",)),
        ProcedureDoc("1.000002", "Driving licence", ("bo",), False, ("renew a driving licence",)),
    ]
    config = dataclasses.replace(RetrievalConfig(), dense_weight=1.0)
    engine = engine_from_docs(docs, config)
    assert not engine.dense_ready
    engine.attach_dense(DenseRanker.build(BUNDLED_MODEL, [d.texts[0] for d in docs], model=model))
    # no shared word with either text: only the dense ranker can rank them
    outcome = engine.search("baby born yesterday paperwork")
    assert outcome.results and outcome.results[0].code == "1.000001"
