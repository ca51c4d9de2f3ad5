"""Verification of the person asking (last four digits of phone or ID) and the persisted failure limits.

Failures are counted per sender and per dossier code in sliding windows, in the project
database, so neither restarting the action server nor changing the sender id gives an
attacker fresh attempts on one dossier; a global ceiling slows every lookup down when
failures pile up across all senders and codes (docs/security.md).
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Literal

from bot.cases.models import Dossier
from bot.db import Database
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


def limit_key(scope: str, key: str) -> str:
    """Salted pseudonym of what is counted: a sender id as `hash_sender` gives it, a dossier code tagged."""
    return hash_sender(key) if scope == "sender" else hash_sender(f"{scope}:{key}")


class FailureLimiter:
    """At most `max_failures` failed verifications per key (a sender, or a dossier code) within `window_seconds`.

    `scope` says what the key is ("sender" or "code"); keys are stored as salted hashes only.
    """

    def __init__(
        self,
        conn: Database,
        max_failures: int = 5,
        window_seconds: int = 15 * 60,
        clock: Clock = utc_now,
        scope: str = "sender",
    ) -> None:
        if max_failures < 1 or window_seconds < 1:
            raise ValueError("rate limit: max_failures and window must be positive")
        self._conn = conn
        self._lock = threading.Lock()
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.clock = clock
        self.scope = scope

    def _now(self) -> float:
        return self.clock().timestamp()

    def state(self, key: str) -> LimitState:
        now = self._now()
        with self._lock:
            rows = self._conn.execute(
                "SELECT failed_at FROM lookup_failures WHERE scope = ? AND key_hash = ? AND failed_at > ? "
                "ORDER BY failed_at DESC",
                (self.scope, limit_key(self.scope, key), now - self.window_seconds),
            ).fetchall()
        return self._state(rows, now)

    def _state(self, rows: list, now: float) -> LimitState:
        failures = len(rows)
        if failures < self.max_failures:
            return LimitState(False, failures, self.max_failures - failures, 0)
        # unlocked again when the max-th most recent failure leaves the window
        pivot = float(rows[self.max_failures - 1][0])
        retry_after = max(1, int(pivot + self.window_seconds - now + 0.999))
        return LimitState(True, failures, 0, retry_after)

    def reserve(self, key: str) -> tuple[int | None, LimitState]:
        """Take one attempt for `key` before verifying: (row id, state counting it), or (None, locked state).

        The attempt is stored as a failure at once, in one transaction under a lock on this key, so replicas
        checking guesses for one dossier at the same moment can never verify more than `max_failures` of them
        in a window; `release(row_id)` takes the attempt back when the guess was right (or was not judged).
        """
        now = self._now()
        hashed = limit_key(self.scope, key)
        with self._lock, self._conn.transaction():
            self._conn.lock(f"lookup_failures:{self.scope}:{hashed}")
            rows = self._conn.execute(
                "SELECT failed_at FROM lookup_failures WHERE scope = ? AND key_hash = ? AND failed_at > ? "
                "ORDER BY failed_at DESC",
                (self.scope, hashed, now - self.window_seconds),
            ).fetchall()
            if len(rows) >= self.max_failures:
                return None, self._state(rows, now)
            row_id = int(self._conn.execute(
                "INSERT INTO lookup_failures (scope, key_hash, failed_at) VALUES (?, ?, ?) RETURNING id",
                (self.scope, hashed, now),
            ).fetchone()[0])
        self._prune(now)
        return row_id, self._state([(now,), *rows], now)

    def _prune(self, now: float) -> None:
        """Rows older than the window are of no use any more (outside the key lock: any replica may do it)."""
        with self._lock:
            self._conn.execute(
                "DELETE FROM lookup_failures WHERE scope = ? AND failed_at <= ?",
                (self.scope, now - self.window_seconds),
            )

    def release(self, row_id: int) -> None:
        """Give back an attempt taken by `reserve` (the guess was right, or the registry could not judge it)."""
        with self._lock:
            self._conn.execute("DELETE FROM lookup_failures WHERE id = ?", (row_id,))

    def record_failure(self, key: str) -> LimitState:
        """Count one failure; the state returned counts it with every failure recorded before it, in order.

        Insert and count run in one transaction under a lock on this key (SQLite's write lock, a PostgreSQL
        advisory lock), so replicas recording failures for one dossier at once each see a distinct count and
        exactly one of them sees the limit reached.
        """
        now = self._now()
        hashed = limit_key(self.scope, key)
        with self._lock, self._conn.transaction():
            self._conn.lock(f"lookup_failures:{self.scope}:{hashed}")
            self._conn.execute(
                "INSERT INTO lookup_failures (scope, key_hash, failed_at) VALUES (?, ?, ?)",
                (self.scope, hashed, now),
            )
            rows = self._conn.execute(
                "SELECT failed_at FROM lookup_failures WHERE scope = ? AND key_hash = ? AND failed_at > ? "
                "ORDER BY failed_at DESC",
                (self.scope, hashed, now - self.window_seconds),
            ).fetchall()
        self._prune(now)
        return self._state(rows, now)


class FailureCeiling:
    """Failed verifications of everybody in the last minute; above `per_minute` every lookup is slowed down.

    A distributed guesser (many senders, many codes) stays under each per-key limit; this ceiling
    makes such a campaign slow without locking anybody out. Counts the per-sender rows (every
    counted failure writes one), so it needs no table of its own.
    """

    def __init__(
        self,
        conn: Database,
        per_minute: int = 30,
        delay_seconds: float = 2.0,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 1 or delay_seconds < 0:
            raise ValueError("rate limit: global ceiling must be positive and the delay not negative")
        self._conn = conn
        self.per_minute = per_minute
        self.delay_seconds = delay_seconds
        self.clock = clock
        self.sleep = sleep

    def failures_last_minute(self) -> int:
        since = self.clock().timestamp() - 60
        row = self._conn.execute(
            "SELECT COUNT(*) FROM lookup_failures WHERE scope = 'sender' AND failed_at > ?", (since,)
        ).fetchone()
        return int(row[0])

    def exceeded(self) -> bool:
        return self.failures_last_minute() >= self.per_minute

    def slow_down(self) -> float:
        """Wait `delay_seconds` when the ceiling is reached; returns the time waited."""
        if not self.exceeded():
            return 0.0
        self.sleep(self.delay_seconds)
        return self.delay_seconds
