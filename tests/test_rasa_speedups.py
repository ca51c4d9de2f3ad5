"""The Rasa speed-ups (bot/rasa_speedups.py) give Rasa's own results, checked on the trained model (`.venv-rasa`)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest

pytestmark = pytest.mark.rasa_env

if sys.version_info >= (3, 11):
    pytest.skip("the speed-ups patch the Rasa server: run with .venv-rasa (-m rasa_env)", allow_module_level=True)

from rasa.core.agent import load_agent  # noqa: E402
from rasa.core.channels.channel import UserMessage  # noqa: E402
from rasa.core.processor import MessageProcessor  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from bot import rasa_speedups  # noqa: E402
from tests.support.stack import trained_model  # noqa: E402

# Payloads as the bot's buttons send them, plus ones Rasa's decoder rejects (they must go through the graph).
BUTTON_PAYLOADS = [
    "/next_step",
    "/affirm",
    "/ask_documents",
    '/answer_case{"case_answer": "2"}',
    '/select_procedure{"procedure_code": "1.001193"}',
    '/go_to_step{"step_number": "3"}',
    "/choose_online",
    "/next_step{broken json",  # Rasa's decoder keeps the intent and drops the rest: so must the fast path
]
NOT_PAYLOADS = ["/no_such_intent", "/", "tôi muốn làm giấy khai sinh", "//next_step"]


@pytest.fixture(scope="module")
def processor() -> MessageProcessor:
    rasa_speedups.install()
    agent = asyncio.run(load_agent(model_path=str(trained_model())))
    assert agent.processor is not None
    return agent.processor


def _graph(processor: MessageProcessor, text: str) -> dict[str, Any]:
    tracker = DialogueStateTracker.from_events("speedups", [])
    graph_only = MessageProcessor._parse_message_with_graph.__wrapped__  # type: ignore[attr-defined]
    return graph_only(processor, UserMessage(text, sender_id="speedups"), tracker)


@pytest.mark.parametrize("payload", BUTTON_PAYLOADS)
def test_button_payload_parses_as_the_nlu_graph_would(processor: MessageProcessor, payload: str) -> None:
    fast = rasa_speedups.parse_payload(payload, processor.domain)
    assert fast is not None
    assert json.dumps(fast, sort_keys=True, default=str) == json.dumps(_graph(processor, payload), sort_keys=True, default=str)


@pytest.mark.parametrize("text", NOT_PAYLOADS)
def test_anything_else_goes_through_the_graph(processor: MessageProcessor, text: str) -> None:
    assert rasa_speedups.parse_payload(text, processor.domain) is None
    parsed = asyncio.run(processor.parse_message(UserMessage(text, sender_id="speedups")))
    assert parsed["intent"]["name"] is not None and parsed["intent"]["name"] not in ("no_such_intent",)


def test_processor_uses_the_fast_path_for_payloads(processor: MessageProcessor) -> None:
    parsed = asyncio.run(processor.parse_message(UserMessage('/answer_case{"case_answer": "1"}', sender_id="speedups")))
    assert parsed["intent"] == {"name": "answer_case", "confidence": 1.0}
    assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [("case_answer", "1")]
