"""A Rasa tracker store that keeps no verification digits and no full phone / ID numbers.

Runs inside the Rasa server (Python 3.10): configured in endpoints.yml as
`tracker_store: {type: bot.tracker_store.RedactingTrackerStore}`.

The dossier-status form never puts the verification digits in a slot, but Rasa also keeps every user message as
typed. This store masks them when the turn is saved, i.e. after the turn's actions have run (the action server
sees the digits once, to verify): phone and ID numbers in every user message; standalone 4–6-digit numbers in
messages of the status lookup (while `case_status_form` is active, or with intent check_status /
provide_verification). Dossier codes stay (their digits are joined by '.' and '-', so they are not standalone).

Two stores, same redaction:
- `RedactingTrackerStore` (one Rasa process): keeps tracker objects in memory instead of JSON text (Rasa's
  InMemoryTrackerStore). Serialising the whole conversation on every save and rebuilding every event on every
  retrieve cost ≈ 20 % of the Rasa server's CPU per message (py-spy under `make bench-chat`). Only one message per
  conversation is processed at a time (Rasa's lock store), so the stored object is the one the next turn
  continues. Lost on restart, like Rasa's in-memory store.
- `RedactingRedisTrackerStore` (several Rasa worker processes, `server.workers` in settings.yml): conversations
  shared through the private, memory-only Redis that `python -m bot run` starts; entries expire after
  `record_exp` seconds of inactivity.
- `RedactingSQLTrackerStore` (the cluster profile, several Rasa replicas): Rasa's SQL tracker store on
  PostgreSQL, kept across restarts. Rasa appends only the events it has not stored yet, so each turn's events are
  masked before they are written and never rewritten.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from typing import Any, Iterable

from rasa.core.tracker_store import SerializedTrackerAsText, SQLTrackerStore, TrackerStore
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, get_trackers_for_conversation_sessions

from bot import rasa_speedups
from bot.privacy import redact_text

CASE_FORM = "case_status_form"
LOOKUP_INTENTS = frozenset({"check_status", "provide_verification"})
_STANDALONE_DIGITS = re.compile(r"(?<![\w.\-])\d{4,6}(?![\w.\-])")

rasa_speedups.install()


def _mask(text: str, lookup: bool) -> str:
    text = redact_text(text)
    return _STANDALONE_DIGITS.sub(lambda m: "*" * len(m.group(0)), text) if lookup else text


def redact_tracker(tracker: DialogueStateTracker, start: int = 0) -> None:
    """Mask personal numbers in the user events of a live tracker, in place, from event number `start` on.

    Events before `start` were redacted when they were saved; the form state is still followed from the
    beginning, because a lookup can span turns.
    """
    form_active = False
    for number, event in enumerate(tracker.events):
        if isinstance(event, ActiveLoop):
            form_active = event.name == CASE_FORM
        elif isinstance(event, UserUttered) and number >= start:
            lookup = form_active or (event.intent or {}).get("name") in LOOKUP_INTENTS
            if isinstance(event.text, str):
                event.text = _mask(event.text, lookup)
            parse_data = event.parse_data or {}  # a separate dict: Rasa copies the text into it
            if isinstance(parse_data.get("text"), str):
                parse_data["text"] = _mask(parse_data["text"], lookup)
            for entity in [*(event.entities or []), *(parse_data.get("entities") or [])]:
                if isinstance(entity.get("value"), str):
                    entity["value"] = _mask(entity["value"], lookup)


class RedactingTrackerStore(TrackerStore):
    """In-memory tracker store whose saved conversations are redacted (see module docstring).

    A conversation without a message for `record_exp` seconds (endpoints.yml; default one day) is forgotten, so
    a server that runs for months does not keep every conversation it ever had.
    """

    def __init__(
        self, domain: Domain, event_broker: Any = None, record_exp: float | str | None = 86400, **kwargs: Any
    ) -> None:
        self._trackers: dict[str, DialogueStateTracker] = {}
        self._saved_events: dict[str, int] = {}  # events already redacted and streamed, per conversation
        self._last_saved: OrderedDict[str, float] = OrderedDict()  # oldest first
        self.record_exp = float(record_exp) if record_exp else None
        super().__init__(domain, event_broker, **kwargs)

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender = tracker.sender_id
        already = self._saved_events.get(sender, 0) if self._trackers.get(sender) is tracker else 0
        redact_tracker(tracker, start=already)
        if self.event_broker is not None:
            new_events = list(tracker.events)[already:]
            await self._stream_new_events(self.event_broker, new_events, sender)
        self._trackers[sender] = tracker
        self._saved_events[sender] = len(tracker.events)
        self._last_saved[sender] = time.monotonic()
        self._last_saved.move_to_end(sender)
        self._forget_expired()

    def _forget_expired(self) -> None:
        if self.record_exp is None:
            return
        horizon = time.monotonic() - self.record_exp
        while self._last_saved:
            sender, saved = next(iter(self._last_saved.items()))
            if saved >= horizon:
                break
            del self._last_saved[sender]
            self._trackers.pop(sender, None)
            self._saved_events.pop(sender, None)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation's last session, like Rasa's own stores (earlier sessions only via the full tracker)."""
        return _last_session(self._trackers.get(sender_id))

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        return self._trackers.get(sender_id)

    async def keys(self) -> Iterable[str]:
        return list(self._trackers)


class RedactingRedisTrackerStore(TrackerStore, SerializedTrackerAsText):
    """Redacted conversations in Redis, shared by Rasa's worker processes (see module docstring)."""

    KEY_PREFIX = "tthc:tracker:"

    def __init__(
        self,
        domain: Domain,
        host: str | None = "127.0.0.1",
        port: int | str = 6379,
        db: int | str = 0,
        password: str | None = None,
        record_exp: float | str | None = 86400,
        event_broker: Any = None,
        **kwargs: Any,
    ) -> None:
        import redis

        self.red = redis.StrictRedis(
            host=host or "127.0.0.1", port=int(port), db=int(db), password=password, decode_responses=True
        )
        self.record_exp = int(float(record_exp)) if record_exp else None
        super().__init__(domain, event_broker, **kwargs)

    async def save(self, tracker: DialogueStateTracker) -> None:
        redact_tracker(tracker)
        await self.stream_events(tracker)
        self.red.set(self.KEY_PREFIX + tracker.sender_id, self.serialise_tracker(tracker), ex=self.record_exp)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return _last_session(await self.retrieve_full_tracker(sender_id))

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        stored = self.red.get(self.KEY_PREFIX + sender_id)
        return None if stored is None else self.deserialise_tracker(sender_id, stored)

    async def keys(self) -> Iterable[str]:
        return [key[len(self.KEY_PREFIX):] for key in self.red.scan_iter(self.KEY_PREFIX + "*")]


class RedactingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store (PostgreSQL in the cluster profile) whose saved turns are redacted.

    Configured as `tracker_store: {type: bot.tracker_store.RedactingSQLTrackerStore, url: postgresql://...}`;
    Rasa passes `url` as `host`, and a host with a scheme is used as the whole database URL.
    """

    async def save(self, tracker: DialogueStateTracker) -> None:
        redact_tracker(tracker)
        await super().save(tracker)


def _last_session(tracker: DialogueStateTracker | None) -> DialogueStateTracker | None:
    """The tracker itself when it holds one session (the usual case, no copy); else its last session."""
    if tracker is None:
        return None
    starts = sum(
        1 for e in tracker.events if isinstance(e, ActionExecuted) and e.action_name == ACTION_SESSION_START_NAME
    )
    return tracker if starts <= 1 else get_trackers_for_conversation_sessions(tracker)[-1]
