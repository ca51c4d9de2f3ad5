"""The walk over every curated procedure of knowledge/: every message short, every path reachable."""

from __future__ import annotations

import pytest

from bot.guidance import MAX_MESSAGE_CHARS, Guide
from bot.knowledge import load_knowledge_base
from tests.guidance_support import Conversation, RecordedOutcome

KB = load_knowledge_base()  # the project's knowledge base must load (curated files + office.yml)


def _walk(code: str, channel_intent: str) -> list[str]:
    chat = Conversation(Guide(KB, lambda q, top: RecordedOutcome("unknown")))
    texts: list[str] = []

    def say(intent: str, **entities: str) -> None:
        chat.say(intent, **entities)
        texts.extend(chat.texts)

    say("select_procedure", procedure_code=code)
    say(channel_intent)
    for _ in range(12):
        if chat.state.procedure_code != code or chat.state.case_index >= len(KB.get(code).cases):
            break
        say("answer_case", case_answer="1")
    for intent in ("ask_fee", "ask_time", "ask_where", "ask_documents", "ask_steps"):
        say(intent)
    for _ in range(15):
        say("next_step")
        if chat.state.prompt == "feedback":
            break
    assert chat.state.prompt == "feedback", f"{code}: the walk never reached the recap"
    return texts


@pytest.mark.parametrize("code", sorted(KB.curated_codes))
@pytest.mark.parametrize("channel_intent", ["choose_online", "choose_in_person"])
def test_every_message_of_every_walk_is_short(code, channel_intent):
    for text in _walk(code, channel_intent):
        assert 0 < len(text) <= MAX_MESSAGE_CHARS, f"{code}: {len(text)} chars: {text[:80]}…"
