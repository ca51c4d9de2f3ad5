"""Detects dossier changes and delivers the notices: one loop, run as a thread in the action server.

Each tick: (1) dossiers named by pushed registry events (the webhook, `cases set-status`) are read again;
(2) every `poll_minutes` all followed dossiers are read from the registry (SQLite or HTTP);
(3) due notices are sent, except in quiet hours (Vietnam time) and, on Zalo, outside the 7-day window
after the citizen's last message (kept until the next contact). A failed send is retried with
exponential back-off up to `max_attempts`; a notice is one outbox row per (subscription, change),
so the same change is never queued, hence never sent, twice.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, time, timedelta, timezone
from typing import Callable

from bot.cases.models import VIETNAM_TZ
from bot.cases.registry import CaseRegistry, RegistryUnavailable
from bot.subscriptions.config import SubscriptionsConfig
from bot.subscriptions.notices import expiry, fingerprint, notice_body
from bot.subscriptions.protect import RecipientCipher
from bot.subscriptions.senders import SendFailed, Sender
from bot.subscriptions.store import PendingNotice, SubscriptionStore

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def in_quiet_hours(now: datetime, start: time | None, end: time | None) -> bool:
    """True between `start` and `end` Vietnam time (a window may cross midnight)."""
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(VIETNAM_TZ).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


class Watcher:
    """Change detection + delivery for one deployment."""

    def __init__(
        self,
        config: SubscriptionsConfig,
        store: SubscriptionStore,
        registry: CaseRegistry,
        cipher: RecipientCipher,
        senders: dict[str, Sender],
        clock: Clock = utc_now,
    ) -> None:
        self.config = config
        self.store = store
        self.registry = registry
        self.cipher = cipher
        self.senders = senders
        self.clock = clock
        self._last_poll: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- detection ------------------------------------------------------------------------------------
    def check(self, code: str) -> int:
        """Read one dossier and queue a notice for each subscriber who has not seen its state; returns how many."""
        now = self.clock()
        subscriptions = self.store.active_for_code(code, now)
        if not subscriptions:
            return 0
        try:
            dossier = self.registry.get(code)
        except RegistryUnavailable as exc:
            logger.warning("subscriptions: registry unavailable for %s: %s", code, exc)
            return 0
        if dossier is None:
            return 0
        current = fingerprint(dossier)
        ends = expiry(dossier, now, self.config.keep_days_after_completion)
        queued = 0
        for sub in subscriptions:
            if sub.fingerprint == current:
                continue
            body = notice_body(dossier, now)
            queued += self.store.record_change(sub.id, current, ends, current, body, now)
        if queued:
            logger.info("subscriptions: %s changed, %d notice(s) queued", code, queued)
        return queued

    def detect(self) -> int:
        """Pushed events first (cheap, local), then a registry poll when it is due."""
        now = self.clock()
        queued = 0
        events = self.store.pending_events()
        for code in sorted({code for _, code in events}):
            queued += self.check(code)
        if events:
            self.store.mark_events_processed([event_id for event_id, _ in events], now)
        if self._last_poll is None or (now - self._last_poll).total_seconds() >= self.config.poll_seconds:
            self._last_poll = now
            for code in self.store.active_codes(now):
                queued += self.check(code)
        return queued

    # --- delivery -------------------------------------------------------------------------------------
    def _zalo_window_open(self, notice: PendingNotice, now: datetime) -> bool:
        last = self.store.last_contact("zalo", notice.recipient_hash)
        return last is not None and now - last <= timedelta(days=self.config.zalo_window_days)

    def deliver(self) -> int:
        """Send the due notices; returns how many went out."""
        now = self.clock()
        if in_quiet_hours(now, self.config.quiet_start, self.config.quiet_end):
            return 0  # kept in the outbox; the first tick after the quiet hours sends them
        sent = 0
        for notice in self.store.due_notices(now):
            sender = self.senders.get(notice.channel)
            if sender is None:
                continue  # that channel is not configured here: kept until it is
            if notice.channel == "zalo" and not self._zalo_window_open(notice, now):
                continue  # outside Zalo's window: kept until the citizen writes again
            if not self.store.claim(notice.id, now):
                continue  # another action-server replica is sending it
            recipient = self.cipher.open(notice.recipient_enc)
            if recipient is None:
                logger.error("subscriptions: notice %d: recipient cannot be decrypted (key changed?)", notice.id)
                self.store.mark_failed(notice.id, None, now)
                continue
            body = json.loads(notice.body)
            try:
                sender.send(recipient, body["text"], body.get("buttons") or [])
            except SendFailed as exc:
                attempts = notice.attempts + 1
                retry_at = None
                if attempts < self.config.max_attempts:
                    retry_at = now + timedelta(seconds=self.config.backoff_seconds * 2 ** (attempts - 1))
                logger.warning("subscriptions: notice %d attempt %d failed (%s)%s", notice.id, attempts, exc,
                               "" if retry_at else ", giving up")
                self.store.mark_failed(notice.id, retry_at, now)
                continue
            self.store.mark_sent(notice.id, now)
            logger.info("subscriptions: notice %d sent via %s for %s", notice.id, notice.channel,
                        notice.dossier_code)
            sent += 1
        return sent

    def tick(self) -> int:
        self.detect()
        return self.deliver()

    # --- background thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the loop must outlive one bad tick (database locked, bad row)
                logger.exception("subscriptions: watcher tick failed")
            self._stop.wait(self.config.tick_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dossier-watcher", daemon=True)
        self._thread.start()
        logger.info("subscriptions: watcher started (tick %.0fs, registry poll every %.0fs, channels: %s)",
                    self.config.tick_seconds, self.config.poll_seconds, ", ".join(sorted(self.senders)) or "none")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
