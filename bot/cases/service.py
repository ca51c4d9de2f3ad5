"""The dossier lookup as one call: limits → code → verification value → registry → verify.

A wrong verification value, an unknown code and a dossier the registry holds no
verification value for give the same outcome (`no_match`) and all count against the
sender's AND the code's failure limits, so the bot can be used neither to learn which
codes exist nor to guess one dossier's digits by changing sender ids. Failures of
everybody above a ceiling per minute slow every lookup down (docs/security.md).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.cases.codes import DossierCodes
from bot.cases.config import CasesConfig, load_cases_config
from bot.cases.models import Dossier
from bot.cases.registry import CaseRegistry, RegistryUnavailable
from bot.cases.replies import (
    Reply,
    answer_reply,
    invalid_code_text,
    invalid_verification_text,
    locked_reply,
    no_match_reply,
    unavailable_reply,
)
from bot.cases.verification import (
    Clock,
    FailureCeiling,
    FailureLimiter,
    LimitState,
    expected_value,
    extract_last4,
    limit_key,
    utc_now,
    verify,
)
from bot.db import DatabaseError
from bot.privacy import hash_sender
from bot.settings import PROJECT_ROOT, Settings
from bot.storage import open_database

logger = logging.getLogger(__name__)

Outcome = Literal["found", "no_match", "locked", "invalid_code", "invalid_verification", "unavailable"]


@dataclass(frozen=True)
class LookupResult:
    outcome: Outcome
    code: str | None = None
    dossier: Dossier | None = None
    attempts_left: int | None = None
    retry_after_seconds: int | None = None


class CaseService:
    """Verified dossier lookups for one deployment (registry, code patterns, verification mode, limit)."""

    def __init__(
        self,
        registry: CaseRegistry,
        limiter: FailureLimiter,
        codes: DossierCodes | None = None,
        verification: str = "phone_last4",
        clock: Clock = utc_now,
        handover_ttl_seconds: float = 300,
        code_limiter: FailureLimiter | None = None,
        ceiling: FailureCeiling | None = None,
        code_day_limiter: FailureLimiter | None = None,
    ) -> None:
        self.registry = registry
        self.limiter = limiter  # per sender
        # per dossier code, whoever asks; same database as the sender limit
        self.code_limiter = code_limiter or FailureLimiter(
            limiter._conn, max_failures=10, window_seconds=limiter.window_seconds, clock=clock, scope="code"
        )
        # optional second, longer window per code: 10 per 15 min alone still lets ~960 guesses a day through
        self.code_day_limiter = code_day_limiter
        self.ceiling = ceiling
        self.codes = codes or DossierCodes()
        self.verification = verification
        self.clock = clock
        self._handover_ttl = handover_ttl_seconds

    def lookup(self, sender_id: str, dossier_code: str, verification: str) -> LookupResult:
        """Check the limits, the code's shape and the verification value, then fetch and compare.

        `verification` may be the citizen's raw message; only its last four digits are used
        and neither it nor they are ever logged or kept. Without the database the limits cannot be
        kept, so nothing is revealed: an honest apology ("unavailable").
        """
        try:
            return self._lookup(sender_id, dossier_code, verification)
        except DatabaseError as exc:
            logger.error("case lookup sender=%s outcome=unavailable: database %s", hash_sender(sender_id), exc)
            return LookupResult("unavailable")

    def _lookup(self, sender_id: str, dossier_code: str, verification: str) -> LookupResult:
        who = hash_sender(sender_id)
        state = self.limiter.state(sender_id)
        if state.locked:
            logger.info("case lookup sender=%s outcome=locked", who)
            return LookupResult("locked", retry_after_seconds=state.retry_after_seconds)
        code = self.codes.match(dossier_code or "")
        if code is None:
            logger.info("case lookup sender=%s outcome=invalid_code", who)
            return LookupResult("invalid_code")
        last4 = extract_last4(verification)
        if last4 is None:
            logger.info("case lookup sender=%s code=%s outcome=invalid_verification", who, code)
            return LookupResult("invalid_verification", code=code)
        for limiter in self._code_limiters():
            code_state = limiter.state(code)
            if code_state.locked:  # even the right value: the code is closed to everybody until the window passes
                logger.info("case lookup sender=%s code_hash=%s outcome=locked_code", who, limit_key("code", code))
                return LookupResult("locked", code=code, retry_after_seconds=code_state.retry_after_seconds)
        if self.ceiling is not None and self.ceiling.slow_down():
            logger.warning("case lookup slowed down: failed verifications above %d per minute", self.ceiling.per_minute)
        held = self._reserve(sender_id, code)
        if isinstance(held, LookupResult):
            return held
        try:
            dossier = self.registry.get(code)
        except RegistryUnavailable as exc:  # an outage says nothing about one code: honest apology, not counted
            self._release(held)
            logger.error("case lookup sender=%s code=%s outcome=unavailable: %s", who, code, exc)
            return LookupResult("unavailable", code=code)
        if dossier is not None and not expected_value(dossier, self.verification):  # type: ignore[arg-type]
            # answered and counted like an unknown code: otherwise existing codes could be told apart
            logger.error("case lookup code=%s: the registry holds no %s for this dossier", code, self.verification)
            dossier = None
        if not verify(dossier, self.verification, last4):  # type: ignore[arg-type]
            return self._failed(sender_id, code, held)
        self._release(held)
        logger.info("case lookup sender=%s code=%s outcome=found", who, code)
        return LookupResult("found", code=code, dossier=dossier)

    def _reserve(self, sender_id: str, code: str) -> list[tuple[str, FailureLimiter, int, LimitState]] | LookupResult:
        """One attempt from every counter (sender, code, code per day) before the guess is judged.

        Concurrent lookups on several replicas each take their own attempt under a per-key lock, so no more
        than the limit are ever judged in a window; a counter with none left answers "locked".
        """
        held: list[tuple[str, FailureLimiter, int, LimitState]] = []
        for key, limiter in [(sender_id, self.limiter)] + [(code, lim) for lim in self._code_limiters()]:
            row_id, state = limiter.reserve(key)
            if row_id is None:
                self._release(held)
                logger.info("case lookup sender=%s code=%s outcome=locked (%s)", hash_sender(sender_id), code,
                            limiter.scope)
                return LookupResult("locked", code=code, retry_after_seconds=state.retry_after_seconds)
            held.append((key, limiter, row_id, state))
        return held

    @staticmethod
    def _release(held: list[tuple[str, FailureLimiter, int, LimitState]]) -> None:
        for _key, limiter, row_id, _state in held:
            limiter.release(row_id)

    def _code_limiters(self) -> list[FailureLimiter]:
        return [self.code_limiter] + ([self.code_day_limiter] if self.code_day_limiter is not None else [])

    def _failed(self, sender_id: str, code: str, held: list[tuple[str, FailureLimiter, int, LimitState]]) -> LookupResult:
        """The reserved attempts stay as failures (sender and code); log each lockout this one starts (hashed ids)."""
        who = hash_sender(sender_id)
        counted = [(key, limiter, state) for key, limiter, _row, state in held]
        logger.info("case lookup sender=%s code=%s outcome=no_match failures=%d", who, code, counted[0][2].failures)
        for key, limiter, state in counted:
            if state.locked and state.failures == limiter.max_failures:
                logger.warning(
                    "case lookup lockout scope=%s id=%s failures=%d window_s=%d retry_after_s=%d",
                    limiter.scope, limit_key(limiter.scope, key), state.failures, limiter.window_seconds,
                    state.retry_after_seconds,
                )
        locked = [state for _, _, state in counted if state.locked]
        if locked:
            return LookupResult("locked", code=code, retry_after_seconds=max(s.retry_after_seconds for s in locked))
        return LookupResult("no_match", code=code, attempts_left=_fewest_left(*(state for _, _, state in counted)))

    def reply(self, result: LookupResult, now: datetime | None = None) -> Reply:
        """The message for a lookup outcome."""
        if result.outcome == "found" and result.dossier is not None:
            return answer_reply(result.dossier, now or self.clock())
        if result.outcome == "locked":
            return locked_reply(result.retry_after_seconds or 60)
        if result.outcome == "no_match":
            return no_match_reply(result.attempts_left or 0)
        if result.outcome == "invalid_code":
            return Reply(invalid_code_text(self.codes))
        if result.outcome == "invalid_verification":
            return Reply(invalid_verification_text(self.verification))
        return unavailable_reply()

    # Hand-over between the form's validation (which verifies) and the action that answers, so the verification
    # value never has to sit in a Rasa slot. In the database (migration 0006), not in process memory: with several
    # action-server replicas the two calls may reach different ones. Short-lived, single use.
    def hand_over(self, sender_id: str, result: LookupResult) -> None:
        db = self.limiter._conn
        now = time.time()
        with db.transaction():
            db.execute("DELETE FROM case_handovers WHERE created_at < ?", (now - self._handover_ttl,))
            db.execute(
                "INSERT INTO case_handovers (sender_hash, created_at, outcome, code, attempts_left, retry_after_seconds)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sender_hash) DO UPDATE SET created_at = excluded.created_at,"
                " outcome = excluded.outcome, code = excluded.code, attempts_left = excluded.attempts_left,"
                " retry_after_seconds = excluded.retry_after_seconds",
                (hash_sender(sender_id), now, result.outcome, result.code, result.attempts_left,
                 result.retry_after_seconds),
            )

    def take_over(self, sender_id: str) -> LookupResult | None:
        """The outcome handed over for this sender (once), with a found dossier read again by its code."""
        db = self.limiter._conn
        try:
            with db.transaction():
                row = db.execute(
                    "DELETE FROM case_handovers WHERE sender_hash = ?"
                    " RETURNING created_at, outcome, code, attempts_left, retry_after_seconds",
                    (hash_sender(sender_id),),
                ).fetchone()
        except DatabaseError as exc:
            logger.error("case hand-over sender=%s: database %s", hash_sender(sender_id), exc)
            return LookupResult("unavailable")
        if row is None or time.time() - float(row["created_at"]) >= self._handover_ttl:
            return None
        result = LookupResult(row["outcome"], code=row["code"], attempts_left=row["attempts_left"],
                              retry_after_seconds=row["retry_after_seconds"])
        if result.outcome == "found":
            try:
                dossier = self.registry.get(result.code) if result.code else None
            except RegistryUnavailable:
                dossier = None
            if dossier is None:
                return LookupResult("unavailable", code=result.code)
            result = LookupResult("found", code=result.code, dossier=dossier)
        return result


def build_case_service(settings: Settings, clock: Clock = utc_now) -> CaseService:
    """The service configured by the `cases:` section (registry kind, patterns, verification, limit)."""
    config: CasesConfig = load_cases_config(settings.section("cases"), PROJECT_ROOT)
    db_path = config.sqlite_path or settings.database_target
    conn = open_database(db_path)
    registry: CaseRegistry
    if config.registry == "http":
        from bot.cases.http_registry import HttpCaseRegistry

        assert config.http is not None
        registry = HttpCaseRegistry(config.http)
    else:
        from bot.cases.sqlite_registry import SQLiteCaseRegistry

        registry = SQLiteCaseRegistry(conn)
    limiter = FailureLimiter(
        conn,
        max_failures=config.max_failures,
        window_seconds=int(config.window_minutes * 60),
        clock=clock,
    )
    code_limiter = FailureLimiter(
        conn,
        max_failures=config.code_max_failures,
        window_seconds=int(config.code_window_minutes * 60),
        clock=clock,
        scope="code",
    )
    code_day_limiter = None
    if config.code_daily_max_failures:
        code_day_limiter = FailureLimiter(
            conn, max_failures=config.code_daily_max_failures, window_seconds=24 * 3600, clock=clock, scope="code_day"
        )
    ceiling = FailureCeiling(
        conn, per_minute=config.global_failures_per_minute, delay_seconds=config.global_slowdown_seconds, clock=clock
    )
    return CaseService(
        registry,
        limiter,
        DossierCodes(config.code_patterns),
        config.verification,
        clock,
        code_limiter=code_limiter,
        ceiling=ceiling,
        code_day_limiter=code_day_limiter,
    )


def _fewest_left(*states: LimitState) -> int:
    return min(s.attempts_left for s in states)


_service: CaseService | None = None
_service_lock = threading.Lock()


def get_case_service() -> CaseService:
    """Process-wide service from the project settings (built on first use)."""
    global _service
    with _service_lock:
        if _service is None:
            from bot.settings import get_settings

            _service = build_case_service(get_settings())
        return _service
