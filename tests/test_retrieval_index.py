"""On-disk index: built once, reused while fresh, rebuilt when knowledge or lexicon change."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from bot.retrieval.config import RetrievalConfig
from bot.retrieval.index import KEEP_INDEXES, SearchIndexError, Sources, load_lexical
from bot.retrieval.service import ensure_index, open_engine
from bot.settings import PROJECT_ROOT


@pytest.fixture()
def sources(tmp_path: Path) -> Sources:
    """A private copy of the curated knowledge and the lexicon, so the test can edit them."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", knowledge)
    config = dataclasses.replace(RetrievalConfig(), lexicon=str(knowledge / "lexicon.yml"))
    return Sources(knowledge_dir=knowledge, catalog=None, config=config)


def test_fresh_index_is_reused_and_stale_one_rebuilt(sources: Sources, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    folder, built = ensure_index(sources, index_dir, show_progress=False)
    assert built and (folder / "meta.json").is_file() and (folder / "bm25").is_dir()
    stamp = (folder / "meta.json").stat().st_mtime_ns

    again, built_again = ensure_index(sources, index_dir, show_progress=False)
    assert again == folder and not built_again
    assert (folder / "meta.json").stat().st_mtime_ns == stamp

    # editing a curated file changes the key: a new index is built and finds the new wording
    target = sorted((sources.knowledge_dir / "procedures").glob("*.yaml"))[0]
    code = target.stem
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("aliases:\n", 'aliases:\n  - "thủ tục kiểm thử xyzzyq"\n', 1), encoding="utf-8")
    edited, built_edited = ensure_index(sources, index_dir, show_progress=False)
    assert built_edited and edited != folder
    engine = open_engine(sources, index_dir, show_progress=False)
    assert engine.search("thủ tục kiểm thử xyzzyq").results[0].code == code

    # unchanged since: reused
    assert ensure_index(sources, index_dir, show_progress=False) == (edited, False)


def test_lexicon_change_rebuilds(sources: Sources, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    first, _ = ensure_index(sources, index_dir, show_progress=False)
    lexicon = Path(sources.config.lexicon)
    lexicon.write_text(lexicon.read_text(encoding="utf-8").replace("replace:\n", "replace:\n  zzq: tạm trú\n", 1), encoding="utf-8")
    second, built = ensure_index(sources, index_dir, show_progress=False)
    assert built and second != first
    engine = open_engine(sources, index_dir, show_progress=False)
    assert engine.search("zzq").results[0].code == "1.004194"


def test_model_name_is_part_of_the_key_when_dense_is_on(sources: Sources) -> None:
    dense_a = dataclasses.replace(sources.config, dense_weight=0.3, model="model-a")
    dense_b = dataclasses.replace(sources.config, dense_weight=0.3, model="model-b")
    key = lambda config: Sources(sources.knowledge_dir, None, config).key()  # noqa: E731
    assert key(dense_a) != key(dense_b)
    assert key(sources.config) == key(dataclasses.replace(sources.config, model="model-b"))  # dense off: no model


def test_old_indexes_are_pruned(sources: Sources, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    for k1 in (1.0, 1.1, 1.2, 1.3, 1.4, 1.5):
        variant = Sources(sources.knowledge_dir, None, dataclasses.replace(sources.config, bm25_k1=k1))
        ensure_index(variant, index_dir, show_progress=False)
    assert len(list(index_dir.glob("retrieval-*"))) <= KEEP_INDEXES
    assert not list(index_dir.glob(".building-*"))


def test_damaged_index_is_reported(sources: Sources, tmp_path: Path) -> None:
    folder, _ = ensure_index(sources, tmp_path / "index", show_progress=False)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    meta["version"] = -1
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(SearchIndexError, match="index version"):
        load_lexical(folder)
    (folder / "meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SearchIndexError, match="unreadable index"):
        load_lexical(folder)
