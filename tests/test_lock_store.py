"""The cluster's lock store on a real Redis (run inside the Rasa env: `.venv-rasa`, marker rasa_env).

A replica killed while it holds a conversation's lock must not block that conversation for longer than the
lock lifetime, and the message waiting behind it must then go through (Rasa's own RedisLockStore lets the waiting
ticket expire together with the dead one and fails with LockError, see bot/lock_store.py).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time

import pytest

from tests.support.requirements import missing

pytestmark = pytest.mark.rasa_env

if sys.version_info >= (3, 11):
    pytest.skip("the lock store runs inside the Rasa server: run with .venv-rasa (-m rasa_env)", allow_module_level=True)

from bot.lock_store import KeepWaitingRedisLockStore  # noqa: E402
from bot.processes import RedisServer  # noqa: E402


@pytest.fixture(scope="module")
def redis_port():
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server not installed (apt-get install redis-server): lock store not tested")
    with RedisServer(binary) as redis:
        yield redis.port


def test_a_message_behind_a_dead_holder_goes_through_after_the_lifetime(redis_port: int) -> None:
    store = KeepWaitingRedisLockStore(host="127.0.0.1", port=redis_port, db=1)
    store.issue_ticket("citizen-1", 2.0)  # a replica took the lock and died: nobody will release it

    async def wait_behind() -> float:
        began = time.monotonic()
        async with store.lock("citizen-1", lock_lifetime=2.0, wait_time_in_seconds=0.25):
            return time.monotonic() - began

    waited = asyncio.run(asyncio.wait_for(wait_behind(), timeout=15))
    assert 1.5 <= waited <= 5.0, waited
    assert store.get_lock("citizen-1") is None  # released and cleaned up


def test_messages_of_one_conversation_take_turns(redis_port: int) -> None:
    store = KeepWaitingRedisLockStore(host="127.0.0.1", port=redis_port, db=1)
    inside: list[str] = []
    overlaps: list[bool] = []

    async def turn(name: str) -> None:
        async with store.lock("citizen-2", lock_lifetime=5.0, wait_time_in_seconds=0.05):
            overlaps.append(bool(inside))
            inside.append(name)
            await asyncio.sleep(0.2)
            inside.remove(name)

    async def all_turns() -> None:
        await asyncio.gather(*(turn(f"m{i}") for i in range(4)))

    asyncio.run(asyncio.wait_for(all_turns(), timeout=20))
    assert overlaps == [False] * 4
