"""Verification of the person asking (last four digits of phone or ID) and the persisted failure limit.

The limit counts failures per sender in a sliding window and lives in the project
database, so restarting the action server does not give an attacker fresh attempts.
"""

from __future__ import annotations

import hmac
import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Literal

from bot.cases.models import Dossier
from bot.privacy import hash_sender

VerificationMode = Literal["phone_last4", "id_last4"]
VERIFICATION_MODES: tuple[str, ...] = ("phone_last4", "id_last4")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def extract_last4(text: str) -> str | None:
    """The four digits a citizen typed: '4821', '48 21', '4 số cuối là 4821', or the end of a full phone/ID.

    Returns None when the message holds no such value (no digit group of 4, nor a whole
    phone / ID number of 9-12 digits); the last such group wins.
    """
    groups = [re.sub(r"\D", "", g) for g in re.findall(r"\d(?:[\s.\-]?\d)*", text or "")]
    candidates = [g for g in groups if len(g) == 4 or 9 <= len(g) <= 12]
    return candidates[-1][-4:] if candidates else None


def expected_value(dossier: Dossier, mode: VerificationMode) -> str:
    return dossier.id_last4 if mode == "id_last4" else dossier.phone_last4


def verify(dossier: Dossier | None, mode: VerificationMode, last4: str) -> bool:
    """Constant-time comparison; an unknown dossier is compared against a dummy value too."""
    expected = expected_value(dossier, mode) if dossier is not None else "\x00\x00\x00\x00"
    matched = hmac.compare_digest(expected.encode(), last4.encode())
    return matched and dossier is not None


@dataclass(frozen=True)
class LimitState:
    locked: bool
    failures: int
    attempts_left: int
    retry_after_seconds: int  # 0 unless locked


class FailureLimiter:
    """At most `max_failures` failed verifications per sender within `window_seconds`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        max_failures: int = 5,
        window_seconds: int = 15 * 60,
        clock: Clock = utc_now,
    ) -> None:
        if max_failures < 1 or window_seconds < 1:
            raise ValueError("rate limit: max_failures and window must be positive")
        self._conn = conn
        self._lock = threading.Lock()
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.clock = clock

    def _now(self) -> float:
        return self.clock().timestamp()

    def state(self, sender_id: str) -> LimitState:
        now = self._now()
        with self._lock:
            rows = self._conn.execute(
                "SELECT failed_at FROM verification_failures WHERE sender_hash = ? AND failed_at > ? "
                "ORDER BY failed_at DESC",
                (hash_sender(sender_id), now - self.window_seconds),
            ).fetchall()
        failures = len(rows)
        if failures < self.max_failures:
            return LimitState(False, failures, self.max_failures - failures, 0)
        # unlocked again when the max-th most recent failure leaves the window
        pivot = float(rows[self.max_failures - 1][0])
        retry_after = max(1, int(pivot + self.window_seconds - now + 0.999))
        return LimitState(True, failures, 0, retry_after)

    def record_failure(self, sender_id: str) -> LimitState:
        now = self._now()
        with self._lock:
            self._conn.execute(
                "INSERT INTO verification_failures (sender_hash, failed_at) VALUES (?, ?)",
                (hash_sender(sender_id), now),
            )
            # old rows are of no use any more
            self._conn.execute(
                "DELETE FROM verification_failures WHERE failed_at <= ?", (now - self.window_seconds,)
            )
        return self.state(sender_id)
