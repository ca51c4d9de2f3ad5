"""Several Rasa worker processes sharing conversations through Redis (settings.yml `server.workers`).

A live stack: redis-server, the action server and a Rasa server with 2 Sanic workers. Every request opens a new
connection, so the kernel hands requests to both workers; a conversation must go on whichever worker answers,
concurrent messages of one citizen must not lose each other (Redis lock store), and the shared store must keep
conversations redacted.
"""

from __future__ import annotations

import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bot.processes import RedisServer, rasa_scaling
from tests.support.requirements import missing
from tests.support.stack import ActionServer, RasaServer, trained_model

pytestmark = pytest.mark.slow

CODE = "1.001193"  # khai sinh


def _redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server not installed (apt-get install redis-server): multi-worker mode not tested")
    return binary


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    model = trained_model()
    tmp = tmp_path_factory.mktemp("scaling")
    env = {"BOT_DATABASE": str(tmp / "bot.db"), "BOT_INDEX_DIR": str(tmp / "index")}
    with RedisServer(_redis_binary()) as redis, ActionServer(env=env) as actions:
        with RasaServer(model=model, actions_url=actions.webhook_url, workers=2, redis_port=redis.port) as rasa:
            yield rasa


def _text(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def _tracker(rasa: RasaServer, sender: str) -> dict:
    response = httpx.get(f"{rasa.url}/conversations/{sender}/tracker", timeout=30)
    response.raise_for_status()
    return response.json()


def _worker_processes(rasa: RasaServer) -> list[int]:
    assert rasa.process is not None
    children = Path(f"/proc/{rasa.process.pid}/task/{rasa.process.pid}/children").read_text().split()
    return [int(pid) for pid in children if b"rasa" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_rasa_runs_two_worker_processes(stack):
    assert len(_worker_processes(stack)) == 2


def test_a_conversation_continues_on_whichever_worker_answers(stack):
    sender = f"scale-{uuid.uuid4().hex[:8]}"
    assert CODE in _text(stack.rest(sender, "tôi muốn làm giấy khai sinh"))
    # each mid-way question only makes sense with the procedure chosen earlier, stored in the shared tracker
    for question in ("lệ phí bao nhiêu?", "mất mấy ngày?", "nộp ở đâu?", "lệ phí bao nhiêu?", "mất mấy ngày?", "nộp ở đâu?"):
        reply = _text(stack.rest(sender, question))
        assert "khai sinh" in reply.lower() or CODE in reply, (question, reply)
        assert "thủ tục nào" not in reply, (question, reply)


def test_concurrent_messages_of_one_citizen_are_all_kept(stack):
    sender = f"scale-{uuid.uuid4().hex[:8]}"
    stack.rest(sender, "tôi muốn làm giấy khai sinh")
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda _: stack.rest(sender, "lệ phí bao nhiêu?"), range(6)))
    assert all(replies)
    users = [e for e in _tracker(stack, sender)["events"] if e["event"] == "user"]
    assert len(users) == 7  # without the shared lock, two workers saving at once would drop messages


def test_the_shared_store_keeps_conversations_redacted(stack):
    sender = f"scale-{uuid.uuid4().hex[:8]}"
    stack.rest(sender, "số điện thoại của tôi là 0912345678, tôi cần làm giấy khai sinh")
    stored = str(_tracker(stack, sender))
    assert "0912345678" not in stored and "khai sinh" in stored


def test_scaling_falls_back_to_one_worker_without_redis(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    scaling = rasa_scaling(2)
    assert scaling.workers == 1 and scaling.redis_binary is None and "redis-server" in scaling.note
    assert rasa_scaling("1").workers == 1
    with pytest.raises(Exception, match="positive number or auto"):
        rasa_scaling("zero")


def test_scaled_endpoints_keep_the_action_endpoint_and_expiry():
    import yaml

    from bot.processes import scaled_endpoints
    from bot.settings import PROJECT_ROOT

    data = yaml.safe_load(scaled_endpoints(PROJECT_ROOT / "endpoints.yml", None, 6390).read_text())
    assert data["action_endpoint"]["url"] == "http://127.0.0.1:${ACTIONS_PORT}/webhook"  # Rasa expands it
    assert data["lock_store"] == {"type": "redis", "url": "127.0.0.1", "port": 6390, "db": 1}
    assert data["tracker_store"]["type"] == "bot.tracker_store.RedactingRedisTrackerStore"
    assert data["tracker_store"]["record_exp"] == 86400
