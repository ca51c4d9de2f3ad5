"""The redacting tracker store (runs inside the Rasa server: `.venv-rasa`, marker rasa_env)."""

from __future__ import annotations

import asyncio
import sys

import pytest

pytestmark = pytest.mark.rasa_env

if sys.version_info >= (3, 11):
    pytest.skip("tracker store runs inside the Rasa server: run with .venv-rasa (-m rasa_env)", allow_module_level=True)

from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActiveLoop, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from bot.settings import PROJECT_ROOT  # noqa: E402
from bot.tracker_store import RedactingTrackerStore  # noqa: E402


def _user(text: str, intent: str) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 1.0})


def test_saved_conversation_is_redacted_but_live_tracker_is_not() -> None:
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    store = RedactingTrackerStore(domain)
    tracker = DialogueStateTracker("citizen-1", domain.slots)
    tracker.update(_user("tra cứu hồ sơ 000.00.04.H51-261124-0001", "check_status"))
    tracker.update(ActiveLoop("case_status_form"))
    tracker.update(_user("4821", "provide_verification"))
    tracker.update(ActiveLoop(None))
    tracker.update(_user("sđt của tôi là 0912 345 678, cho xem bước 3", "next_step"))
    tracker.update(_user("năm 2024 tôi đã làm", "ask_procedure"))
    asyncio.run(store.save(tracker))

    stored = asyncio.run(store.retrieve("citizen-1"))
    texts = [e.text for e in stored.events if isinstance(e, UserUttered)]
    assert texts[0] == "tra cứu hồ sơ 000.00.04.H51-261124-0001"  # the dossier code stays
    assert texts[1] == "****"
    assert "0912" not in texts[2] and "345 678" not in texts[2] and "bước 3" in texts[2]
    assert texts[3] == "năm 2024 tôi đã làm"  # outside the lookup, ordinary numbers stay
    assert "4821" not in store.store["citizen-1"]
    assert tracker.events[2].text == "4821"  # the live tracker of the turn is untouched
