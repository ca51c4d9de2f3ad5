"""The redacting tracker store and the Rasa speed-up it installs (run inside the Rasa env: `.venv-rasa`, marker rasa_env)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest

pytestmark = pytest.mark.rasa_env

if sys.version_info >= (3, 11):
    pytest.skip("tracker store runs inside the Rasa server: run with .venv-rasa (-m rasa_env)", allow_module_level=True)

from jsonschema import ValidationError  # noqa: E402
from rasa.core.actions.action import RemoteAction  # noqa: E402
from rasa.core.brokers.broker import EventBroker  # noqa: E402
from rasa.shared.core.constants import ACTION_SESSION_START_NAME  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SessionStarted, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity  # noqa: E402

from bot.settings import PROJECT_ROOT  # noqa: E402
from bot.tracker_store import RedactingTrackerStore  # noqa: E402


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def _user(text: str, intent: str) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 1.0})


def _user_texts(tracker: DialogueStateTracker) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def test_saved_conversation_is_redacted(domain: Domain) -> None:
    store = RedactingTrackerStore(domain)
    tracker = DialogueStateTracker("citizen-1", domain.slots)
    tracker.update(_user("tra cứu hồ sơ 000.00.04.H51-261124-0001", "check_status"))
    tracker.update(ActiveLoop("case_status_form"))
    tracker.update(UserUttered("4821", {"name": "provide_verification", "confidence": 1.0},
                               [{"entity": "verification_code", "value": "4821", "start": 0, "end": 4}]))
    tracker.update(ActiveLoop(None))
    tracker.update(_user("sđt của tôi là 0912 345 678, cho xem bước 3", "next_step"))
    tracker.update(_user("năm 2024 tôi đã làm", "ask_procedure"))
    assert _user_texts(tracker)[1] == "4821"  # during the turn the actions see what was typed
    asyncio.run(store.save(tracker))

    stored = asyncio.run(store.retrieve("citizen-1"))
    texts = _user_texts(stored)
    assert texts[0] == "tra cứu hồ sơ 000.00.04.H51-261124-0001"  # the dossier code stays
    assert texts[1] == "****"
    assert "0912" not in texts[2] and "345 678" not in texts[2] and "bước 3" in texts[2]
    assert texts[3] == "năm 2024 tôi đã làm"  # outside the lookup, ordinary numbers stay
    everything = json.dumps(stored.current_state(EventVerbosity.ALL), ensure_ascii=False)  # events with parse data
    assert "4821" not in everything and "0912" not in everything and "345 678" not in everything


def test_digits_typed_in_a_later_turn_of_a_lookup_are_redacted_too(domain: Domain) -> None:
    store = RedactingTrackerStore(domain)
    tracker = DialogueStateTracker("citizen-2", domain.slots)
    tracker.update(_user("tra cứu hồ sơ", "check_status"))
    tracker.update(ActiveLoop("case_status_form"))
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve("citizen-2"))
    again.update(_user("5173", "inform"))  # the form is still active from the earlier turn
    asyncio.run(store.save(again))
    assert _user_texts(asyncio.run(store.retrieve("citizen-2")))[-1] == "****"


def test_unknown_conversation_and_keys(domain: Domain) -> None:
    store = RedactingTrackerStore(domain)
    assert asyncio.run(store.retrieve("nobody")) is None
    tracker = asyncio.run(store.get_or_create_tracker("someone"))
    assert tracker is not None
    assert list(asyncio.run(store.keys())) == ["someone"]


def test_retrieve_returns_the_last_session_and_full_tracker_keeps_all(domain: Domain) -> None:
    store = RedactingTrackerStore(domain)
    tracker = DialogueStateTracker("citizen-3", domain.slots)
    for text in ("xin chào", "làm giấy khai sinh"):
        tracker.update(ActionExecuted(ACTION_SESSION_START_NAME))
        tracker.update(SessionStarted())
        tracker.update(_user(text, "greet"))
    asyncio.run(store.save(tracker))
    assert _user_texts(asyncio.run(store.retrieve("citizen-3"))) == ["làm giấy khai sinh"]
    assert _user_texts(asyncio.run(store.retrieve_full_tracker("citizen-3"))) == ["xin chào", "làm giấy khai sinh"]


def test_conversations_idle_longer_than_record_exp_are_forgotten(domain: Domain, monkeypatch) -> None:
    import bot.tracker_store as module

    now = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    store = RedactingTrackerStore(domain, record_exp=60)
    for sender in ("old", "recent"):
        asyncio.run(store.save(DialogueStateTracker(sender, domain.slots)))
        now[0] += 50
    asyncio.run(store.save(DialogueStateTracker("new", domain.slots)))  # "old" is now 100 s idle, "recent" 50 s
    assert sorted(asyncio.run(store.keys())) == ["new", "recent"]
    assert asyncio.run(store.retrieve("old")) is None


class _ListBroker(EventBroker):
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


def test_an_event_broker_gets_each_new_event_once_and_redacted(domain: Domain) -> None:
    broker = _ListBroker()
    store = RedactingTrackerStore(domain, event_broker=broker)
    tracker = DialogueStateTracker("citizen-4", domain.slots)
    tracker.update(_user("số tôi 0912345678", "greet"))
    asyncio.run(store.save(tracker))
    tracker.update(_user("cảm ơn", "thank"))
    asyncio.run(store.save(tracker))
    texts = [e.get("text") for e in broker.published if e.get("event") == "user"]
    assert len(texts) == 2 and texts[1] == "cảm ơn"
    assert "0912345678" not in texts[0]


def test_action_response_validation_keeps_rasa_behaviour() -> None:
    action = RemoteAction("action_guide", None)
    assert action._validate_action_result({"events": [], "responses": [{"text": "Dạ"}]}) is True
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": "not a list", "responses": []})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": [{"event": "slot"}], "responses": []})  # slot event without name
