"""Rasa's Redis lock store, with waiting tickets that stay alive while they wait (runs inside the Rasa server).

Rasa serialises the messages of one conversation with a ticket lock: each message takes a ticket that expires after
TICKET_LOCK_LIFETIME seconds, and waits until its ticket is the first one. When a replica dies while it holds the
first ticket, the message waiting behind it (typically the same message, sent again by HAProxy to another replica)
holds a ticket taken a few milliseconds later, which therefore expires at almost the same moment: Rasa's waiting
loop then finds both gone and stays stuck behind an empty queue until some cleanup deletes the lock, and then fails
with LockError ("Could not acquire lock"). Measured with `make bench-cluster`: a message stuck 91 s, then HTTP 500.

Here a waiting message renews its own ticket on every poll and takes its place back (same number) if it vanished,
so only the ticket of a holder that stopped polling (a dead replica) runs out. A live holder is not renewed: a
turn longer than the lifetime would let the next message in (keep `cluster.lock_lifetime_seconds` well above the
slowest turn).
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockStore, RedisLockStore


class _KeepWaitingTickets(LockStore):
    """The waiting part, for any Rasa lock store (storage methods come from the store it is mixed with)."""

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncGenerator[TicketLock, None]:
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            yield await self._wait_for_turn(conversation_id, ticket, lock_lifetime, wait_time_in_seconds)
        finally:
            self.cleanup(conversation_id, ticket)

    async def _wait_for_turn(self, conversation_id: str, ticket: int, lifetime: float, wait: float) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id) or self.create_lock(conversation_id)
            lock.remove_expired_tickets()
            mine = next((t for t in lock.tickets if t.number == ticket), None)
            if mine is None:  # expired or deleted while we waited: back in the queue at our own number
                mine = Ticket(ticket, 0.0)
                lock.tickets.append(mine)
                lock.tickets = type(lock.tickets)(sorted(lock.tickets, key=lambda t: t.number))
            mine.expires = time.time() + lifetime
            self.save_lock(lock)
            if lock.now_serving == ticket:
                return lock
            await asyncio.sleep(wait)


class KeepWaitingRedisLockStore(_KeepWaitingTickets, RedisLockStore):
    """`lock_store: {type: bot.lock_store.KeepWaitingRedisLockStore, url: ..., port: ..., db: ...}`."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # how Rasa builds a lock store named by module path
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)
