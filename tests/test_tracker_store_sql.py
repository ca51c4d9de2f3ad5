"""Conversations on PostgreSQL (cluster profile): stored redacted, and still there for a new store (a restart).

Runs inside the Rasa env (`.venv-rasa`, marker rasa_env) against a real PostgreSQL started for the module.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import uuid

import pytest

from bot.settings import PROJECT_ROOT
from tests.support.requirements import missing

pytestmark = pytest.mark.rasa_env

if sys.version_info >= (3, 11):
    pytest.skip("the tracker store runs inside the Rasa server: run with .venv-rasa (-m rasa_env)",
                allow_module_level=True)

import sqlalchemy as sa  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import ActiveLoop, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker  # noqa: E402

from bot.cluster_postgres import LocalPostgres, postgres_bin  # noqa: E402
from bot.tracker_store import RedactingSQLTrackerStore  # noqa: E402


@pytest.fixture(scope="module")
def database_url():
    if postgres_bin("postgres") is None:
        missing("PostgreSQL not installed (apt-get install postgresql): the SQL tracker store is not tested")
    # under the project's var/: the `postgres` user cannot enter pytest's private temporary folders
    folder = PROJECT_ROOT / "var" / f"test-pg-{uuid.uuid4().hex[:8]}"
    try:
        with LocalPostgres(folder / "data", log_path=folder / "postgresql.log") as pg:
            yield pg.database_url("rasa")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def test_conversation_is_stored_redacted_and_survives_a_new_store(database_url: str, domain: Domain) -> None:
    store = RedactingSQLTrackerStore(domain, host=database_url)
    sender = f"citizen-{uuid.uuid4().hex[:8]}"
    tracker = DialogueStateTracker(sender, domain.slots)
    tracker.update(UserUttered("sđt tôi là 0912 345 678, tôi cần làm giấy khai sinh", {"name": "ask_procedure"}))
    tracker.update(UserUttered("tra cứu hồ sơ 000.00.04.H51-261124-0001", {"name": "check_status"}))
    tracker.update(ActiveLoop("case_status_form"))
    tracker.update(UserUttered("4821", {"name": "provide_verification"}))
    asyncio.run(store.save(tracker))

    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        rows = [json.loads(r[0]) for r in connection.execute(
            sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender})]
    engine.dispose()
    stored = json.dumps(rows, ensure_ascii=False)
    assert "0912" not in stored and "345 678" not in stored and "4821" not in stored
    assert "000.00.04.H51-261124-0001" in stored and "khai sinh" in stored

    again = RedactingSQLTrackerStore(domain, host=database_url)  # what a restarted replica opens
    texts = [e.text for e in asyncio.run(again.retrieve(sender)).events if isinstance(e, UserUttered)]
    assert texts[2] == "****" and "giấy khai sinh" in texts[0]
    again.engine.dispose()
    store.engine.dispose()
