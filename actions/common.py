"""Helpers shared by the custom actions: reading the turn from the tracker, sending replies, slot events."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.guidance import GuideState, Reply, Turn
from bot.privacy import hash_sender, redact_text

log = logging.getLogger(__name__)

# Set by every action that ran: a `false` left after a custom action means the action server failed
# and Rasa answers with utter_service_down (data/rules/fallback.yml).
SERVER_OK = SlotSet("server_ok", True)


def turn_from(tracker: Tracker) -> Turn:
    message = tracker.latest_message or {}
    intent = (message.get("intent") or {}).get("name") or "nlu_fallback"
    entities = {e["entity"]: str(e.get("value", "")) for e in message.get("entities") or [] if e.get("entity")}
    return Turn(intent=intent, text=message.get("text") or "", entities=entities)


def state_from(tracker: Tracker) -> GuideState:
    return GuideState.from_slots(tracker.current_slot_values())


# Rasa's REST channel sends a message's `custom` payload as a message of its own, with no text: an empty
# bubble in a chat widget. Only our own channels (kiosk, Telegram, Zalo) merge it back or ignore it.
_NO_CUSTOM_CHANNELS = frozenset({"rest"})


def send(dispatcher: CollectingDispatcher, replies: list[Reply], channel: str | None = None) -> None:
    for reply in replies:
        kwargs: dict[str, Any] = {"text": reply.text}
        if reply.buttons:
            kwargs["buttons"] = [b.as_dict() for b in reply.buttons]
        if reply.custom and channel not in _NO_CUSTOM_CHANNELS:
            kwargs["json_message"] = reply.custom
        dispatcher.utter_message(**kwargs)


def slot_events(state: GuideState, tracker: Tracker | None = None) -> list[SlotSet]:
    """SlotSet for each guidance slot that changed (all of them without a tracker), then server_ok.

    Only changes are sent: Rasa serialises every event of the conversation on each action call, so
    fewer events keep long conversations fast.
    """
    current = tracker.current_slot_values() if tracker is not None else {}
    changed = [
        SlotSet(name, value)
        for name, value in state.to_slots().items()
        if tracker is None or current.get(name) != value
    ]
    return changed + [SERVER_OK]


def last_messages(tracker: Tracker, limit: int = 6) -> str:
    """The conversation's last messages as JSON, phone/ID numbers masked, for a handoff record."""
    found: list[dict[str, str]] = []
    for event in reversed(tracker.events):
        if event.get("event") in ("user", "bot") and event.get("text"):
            found.append({"from": event["event"], "text": redact_text(str(event["text"]))[:300]})
            if len(found) == limit:
                break
    return json.dumps(list(reversed(found)), ensure_ascii=False)


_DB_LOCK = threading.Lock()


def insert_conversation_row(tracker: Tracker, table: str, values: dict[str, Any]) -> int:
    """Insert one row about this conversation into `table` (handoff_requests, feedback); returns its id.

    Adds what every such row carries: the time (UTC), the sender id hashed, and the channel.
    `table` and the keys of `values` are code constants, never user input.
    """
    row = {
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "sender_hash": hash_sender(tracker.sender_id),
        "channel": tracker.get_latest_input_channel(),
        **values,
    }
    columns = ", ".join(row)
    placeholders = ", ".join("?" for _ in row)
    conn = database()
    try:
        inserted = conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id",
                                tuple(row.values()))
        return int(inserted.fetchone()[0])
    finally:
        conn.close()


def database():
    """The project's database (settings `database_url` / env DATABASE_URL, else the SQLite `database`)."""
    from bot.settings import get_settings
    from bot.storage import open_database

    with _DB_LOCK:
        return open_database(get_settings().database_target)
