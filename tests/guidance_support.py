"""Shared setup for the guidance tests: the fixture knowledge base and a real search engine over it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from bot.guidance import Guide, GuideState, Outcome, Turn
from bot.knowledge import KnowledgeBase, load_knowledge_base

FIXTURE_KB = Path(__file__).parent / "fixtures" / "guidance_kb"


def fixture_kb() -> KnowledgeBase:
    return load_knowledge_base(FIXTURE_KB)


def real_search(index_dir: Path, knowledge_dir: Path = FIXTURE_KB):
    """BM25 engine of bot.retrieval over a knowledge base (the fixture by default; index built in `index_dir`)."""
    from bot.retrieval import RetrievalConfig, open_engine
    from bot.retrieval.index import Sources

    sources = Sources(knowledge_dir=knowledge_dir, catalog=None, config=dataclasses.replace(RetrievalConfig(), dense_weight=0.0))
    engine = open_engine(sources, index_dir=index_dir, show_progress=False)
    return lambda query, top: engine.search(query, top=top)


@dataclass
class RecordedHit:
    code: str
    title: str
    score: float = 1.0


@dataclass
class RecordedOutcome:
    """A fixed search outcome, to drive the walk's ambiguous/unknown routing deterministically."""

    decision: str
    results: list[RecordedHit] = field(default_factory=list)


class Conversation:
    """Feeds turns to a Guide, carrying the state like Rasa's slots do (through to_slots/from_slots)."""

    def __init__(self, guide: Guide) -> None:
        self.guide = guide
        self.state = GuideState()
        self.last: Outcome | None = None

    def say(self, intent: str, text: str = "", **entities: str) -> Outcome:
        outcome = self.guide.handle(Turn(intent, text or f"/{intent}", dict(entities)), self.state)
        self.state = GuideState.from_slots(outcome.state.to_slots())
        self.last = outcome
        return outcome

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.last.replies] if self.last else []

    @property
    def payloads(self) -> list[str]:
        return [b.payload for r in (self.last.replies if self.last else []) for b in r.buttons]
