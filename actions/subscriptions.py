"""Follow a dossier (issue 15): subscribe after a verified lookup, unsubscribe, list; kiosk → phone.

Importing this module inside the action server starts the watcher thread (bot/subscriptions/watcher.py),
so `make run` needs no extra process.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import SERVER_OK, database, send, state_from
from bot.cases.replies import BUTTON_SUBSCRIBE, Reply as CaseReply
from bot.cases.registry import RegistryUnavailable
from bot.guidance import GuideState
from bot.privacy import hash_sender
from bot.subscriptions.handoff import create_token, deep_link, redeem_token
from bot.subscriptions.notices import expiry, fingerprint, unsubscribe_payload
from bot.subscriptions.service import get_subscriptions, start_watcher_in_action_server

log = logging.getLogger(__name__)

NOTIFY_CHANNELS = ("telegram", "zalo")
BUTTON_LIST = {"title": "Hồ sơ đang theo dõi", "payload": "/list_subscriptions"}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _channel(tracker: Tracker) -> str | None:
    return tracker.get_latest_input_channel()


def _recipient(sender_id: str) -> str:
    """The channel's own id: 'telegram:777' -> '777'."""
    return sender_id.split(":", 1)[1] if ":" in sender_id else sender_id


def _case_service():
    from actions.case_status import _service

    return _service()


def offer_subscription(tracker: Tracker, outcome: str, code: str | None, reply: CaseReply) -> CaseReply:
    """Called by the status answer: after a verified lookup on Telegram / Zalo, remember the dossier and
    add the "notify me" button (before "Tra cứu hồ sơ khác")."""
    if outcome != "found" or not code or _channel(tracker) not in NOTIFY_CHANNELS:
        return reply
    try:
        store = get_subscriptions().store
        store.record_verified(tracker.sender_id, code, _now())
        store.touch_contact(_channel(tracker) or "", tracker.sender_id, _now())
    except Exception:  # the status answer must go out even if this part fails
        log.exception("subscriptions: could not record the verified lookup")
        return reply
    buttons = list(reply.buttons)
    buttons.insert(max(0, len(buttons) - 1), BUTTON_SUBSCRIBE)
    return CaseReply(reply.text, buttons)


def _code_from(tracker: Tracker) -> str | None:
    entity = next(tracker.get_latest_entity_values("dossier_code"), None)
    text = (tracker.latest_message or {}).get("text") or ""
    codes = _case_service().codes
    return (codes.find(str(entity)) if entity else None) or codes.find(text)


class ActionSubscribeCase(Action):
    """'Nhận thông báo khi hồ sơ thay đổi': follow the dossier this sender verified in the last 30 minutes."""

    def name(self) -> str:
        return "action_subscribe_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        channel = _channel(tracker)
        if channel not in NOTIFY_CHANNELS:
            dispatcher.utter_message(text="Dạ, thông báo hồ sơ hiện chỉ gửi được qua Telegram hoặc Zalo. "
                                          "Anh/chị có thể tra cứu lại bất cứ lúc nào.")
            return [SERVER_OK]
        subs = get_subscriptions()
        now = _now()
        code = await asyncio.to_thread(subs.store.verified_code, tracker.sender_id, now)
        if code is None:
            dispatcher.utter_message(
                text="Để nhận thông báo, anh/chị tra cứu hồ sơ trước (mã hồ sơ và 4 số xác minh), "
                     "rồi bấm «Nhận thông báo khi hồ sơ thay đổi».",
                buttons=[{"title": "Tra cứu hồ sơ", "payload": "/check_status"}],
            )
            return [SERVER_OK]
        try:
            dossier = await asyncio.to_thread(_case_service().registry.get, code)
        except RegistryUnavailable:
            dossier = None
        if dossier is None:
            dispatcher.utter_message(text="Hệ thống tra cứu hồ sơ đang bận, tôi chưa đăng ký được. "
                                          "Anh/chị vui lòng thử lại sau ít phút.")
            return [SERVER_OK]
        ends = expiry(dossier, now, subs.config.keep_days_after_completion)
        await asyncio.to_thread(
            subs.store.subscribe, tracker.sender_id, channel, _recipient(tracker.sender_id), code,
            fingerprint(dossier), now, subs.cipher, ends,
        )
        await asyncio.to_thread(subs.store.touch_contact, channel, tracker.sender_id, now)
        log.info("subscriptions: sender=%s follows %s via %s", hash_sender(tracker.sender_id), code, channel)
        dispatcher.utter_message(
            text=f"Đã đăng ký. Khi hồ sơ {code} thay đổi, tôi sẽ nhắn anh/chị tại đây "
                 "(không nhắn từ 21:00 đến 7:00). Nhắn «hủy theo dõi» khi không cần nữa.",
            buttons=[{"title": "Hủy theo dõi", "payload": unsubscribe_payload(code)}, BUTTON_LIST],
        )
        return [SERVER_OK]


class ActionUnsubscribeCase(Action):
    """'hủy theo dõi': ends one subscription (the code named, or the only one), or asks which."""

    def name(self) -> str:
        return "action_unsubscribe_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        subs = get_subscriptions()
        now = _now()
        followed = await asyncio.to_thread(subs.store.followed_by, tracker.sender_id, now)
        code = _code_from(tracker)
        if not followed:
            dispatcher.utter_message(text="Anh/chị hiện không theo dõi hồ sơ nào.")
            return [SERVER_OK]
        if code is None and len(followed) > 1:
            dispatcher.utter_message(
                text="Anh/chị muốn hủy theo dõi hồ sơ nào?",
                buttons=[{"title": c, "payload": unsubscribe_payload(c)} for c in followed[:5]],
            )
            return [SERVER_OK]
        target = code or followed[0]
        ended = await asyncio.to_thread(subs.store.unsubscribe, tracker.sender_id, target, now)
        if ended:
            log.info("subscriptions: sender=%s stopped following %s", hash_sender(tracker.sender_id), target)
            dispatcher.utter_message(text=f"Đã hủy theo dõi hồ sơ {target}. Tôi sẽ không nhắn về hồ sơ này nữa.")
        else:
            dispatcher.utter_message(text=f"Anh/chị không theo dõi hồ sơ {target}.", buttons=[BUTTON_LIST])
        return [SERVER_OK]


class ActionListSubscriptions(Action):
    """'tôi đang theo dõi hồ sơ nào': the dossiers this sender follows, each with a stop button."""

    def name(self) -> str:
        return "action_list_subscriptions"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        subs = get_subscriptions()
        followed = await asyncio.to_thread(subs.store.followed_by, tracker.sender_id, _now())
        if not followed:
            dispatcher.utter_message(
                text="Anh/chị chưa theo dõi hồ sơ nào. Sau khi tra cứu, bấm «Nhận thông báo khi hồ sơ thay đổi».",
                buttons=[{"title": "Tra cứu hồ sơ", "payload": "/check_status"}],
            )
            return [SERVER_OK]
        lines = "\n".join(f"• {c}" for c in followed)
        dispatcher.utter_message(
            text=f"Anh/chị đang theo dõi {len(followed)} hồ sơ:\n{lines}",
            buttons=[{"title": f"Hủy theo dõi {c}"[:64], "payload": unsubscribe_payload(c)} for c in followed[:5]],
        )
        return [SERVER_OK]


# --- continue on a phone ---------------------------------------------------------------------------------


class ActionContinueOnPhone(Action):
    """Kiosk: a QR code opening the Telegram bot with a one-time token that carries the walk."""

    def name(self) -> str:
        return "action_continue_on_phone"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        subs = get_subscriptions()
        username = (os.environ.get(subs.config.bot_username_env) or "").strip()
        state = state_from(tracker)
        if _channel(tracker) != "kiosk" or not username:
            dispatcher.utter_message(text="Dạ, việc chuyển sang điện thoại hiện chỉ có trên máy tra cứu tại "
                                          "Bộ phận Một cửa khi Telegram đã được bật.")
            return [SERVER_OK]
        walk = {k: v for k, v in state.to_slots().items() if k in ("procedure_code", "channel", "case_answers",
                                                                     "case_index", "step_index")}
        conn = database()
        try:
            token = create_token(conn, tracker.sender_id, walk, _now(), subs.config.handoff_minutes)
        finally:
            conn.close()
        url = deep_link(username, token)
        dispatcher.utter_message(
            text=f"Anh/chị quét mã QR bằng điện thoại để tiếp tục trên Telegram (mã dùng một lần, trong "
                 f"{subs.config.handoff_minutes} phút). Màn hình này sẽ bắt đầu lại cho người tiếp theo.",
            json_message={"kind": "phone_link", "url": url},
        )
        return [SERVER_OK]


class ActionResumeFromKiosk(Action):
    """Telegram `/start <token>`: the walk continues where the kiosk left off; a bad token starts afresh."""

    def name(self) -> str:
        return "action_resume_from_kiosk"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        token = str(next(tracker.get_latest_entity_values("start_token"), "") or "")
        conn = database()
        try:
            walk = await asyncio.to_thread(redeem_token, conn, token, _now())
        finally:
            conn.close()
        if walk is None or not walk.get("procedure_code"):
            dispatcher.utter_message(
                text="Dạ, mã tiếp tục từ máy tra cứu đã hết hạn hoặc đã được dùng. Mình bắt đầu lại nhé: "
                     "anh/chị cần làm thủ tục gì? Ví dụ: «làm giấy khai sinh cho con».",
            )
            return [SERVER_OK]
        from actions.guidance import get_guide

        state = GuideState.from_slots(walk)
        guide = get_guide()
        procedure = guide.kb.get(state.procedure_code or "")
        name = procedure.display_name if procedure else state.procedure_code
        outcome = guide.resume_offer(state)
        dispatcher.utter_message(text=f"Chào anh/chị, mình tiếp tục từ máy tra cứu: {name}.")
        send(dispatcher, outcome.replies)
        events: list[Any] = [SlotSet(k, v) for k, v in outcome.state.to_slots().items()]
        return events + [SERVER_OK]


if start_watcher_in_action_server():
    log.info("subscriptions: watcher running inside the action server")
