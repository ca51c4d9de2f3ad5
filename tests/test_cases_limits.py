"""Lookup limits that hold against an attacker (issue 13), on the real service, a real SQLite file and a real PostgreSQL.

Fake clock and fake sleep only: what is counted, what is answered, what is logged.
The same attacks through every door of a live server: tests/test_security_live.py.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.cases.codes import DossierCodes
from bot.cases.config import CasesConfigError, load_cases_config
from bot.cases.demo import seed_demo
from bot.cases.models import Dossier
from bot.cases.service import CaseService
from bot.cases.sqlite_registry import SQLiteCaseRegistry
from bot.cases.verification import FailureCeiling, FailureLimiter, limit_key
from bot.privacy import hash_sender
from bot.storage import MIGRATIONS, open_database

TODAY = date(2026, 11, 27)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _service(db: Path, clock: FakeClock, sleep: FakeSleep, per_minute: int = 30) -> tuple[CaseService, list[Dossier]]:
    conn = open_database(db)
    registry = SQLiteCaseRegistry(conn)
    dossiers = seed_demo(registry, TODAY)
    sender = FailureLimiter(conn, max_failures=5, window_seconds=15 * 60, clock=clock)
    code = FailureLimiter(conn, max_failures=10, window_seconds=15 * 60, clock=clock, scope="code")
    ceiling = FailureCeiling(conn, per_minute=per_minute, delay_seconds=2.0, clock=clock, sleep=sleep)
    service = CaseService(registry, sender, DossierCodes(), "phone_last4", clock, code_limiter=code, ceiling=ceiling)
    return service, dossiers


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def sleep() -> FakeSleep:
    return FakeSleep()


def _wrong(dossier: Dossier, i: int) -> str:
    value = f"{i:04d}"
    return value if value != dossier.phone_last4 else "9999"


def test_rotating_senders_lock_the_code_even_for_the_right_value(db_target: str | Path, clock: FakeClock, sleep: FakeSleep) -> None:
    service, dossiers = _service(db_target, clock, sleep)
    target = dossiers[0]
    outcomes = []
    for i in range(10):  # a new sender for every guess: the per-sender limit never triggers
        clock.advance(seconds=20)
        outcomes.append(service.lookup(f"attacker-{i}", target.code, _wrong(target, i)).outcome)
    assert outcomes == ["no_match"] * 9 + ["locked"]
    right = service.lookup("the-real-citizen", target.code, target.phone_last4)
    assert right.outcome == "locked" and right.dossier is None
    assert "tạm khóa" in service.reply(right).text
    # other codes are not affected, the locked tries are not counted for the citizen
    assert service.lookup("the-real-citizen", dossiers[1].code, dossiers[1].phone_last4).outcome == "found"
    assert service.limiter.state("the-real-citizen").failures == 0
    # until the window passes: 15 min after the first of the ten failures
    clock.advance(minutes=15, seconds=-190)
    assert service.lookup("the-real-citizen", target.code, target.phone_last4).outcome == "locked"
    clock.advance(seconds=20)
    assert service.lookup("the-real-citizen", target.code, target.phone_last4).outcome == "found"


def test_daily_cap_per_code_stops_a_patient_guesser(db_target: str | Path, clock: FakeClock, sleep: FakeSleep) -> None:
    service, dossiers = _service(db_target, clock, sleep)
    service.code_day_limiter = FailureLimiter(
        service.limiter._conn, max_failures=30, window_seconds=24 * 3600, clock=clock, scope="code_day"
    )
    target = dossiers[0]
    tries = 0
    for window in range(3):  # 10 guesses, wait out the 15-minute lock, again
        for i in range(10):
            clock.advance(seconds=5)
            tries += 1
            service.lookup(f"patient-{tries}", target.code, _wrong(target, tries))
        clock.advance(minutes=16)
    right = service.lookup("citizen", target.code, target.phone_last4)
    assert right.outcome == "locked"  # 30 a day: no fourth round of 10 today
    assert "giờ" in service.reply(right).text
    clock.advance(hours=24)
    assert service.lookup("citizen", target.code, target.phone_last4).outcome == "found"


def test_attempts_left_is_the_fewer_of_sender_and_code(db_target: str | Path, clock: FakeClock, sleep: FakeSleep) -> None:
    service, dossiers = _service(db_target, clock, sleep)
    target = dossiers[0]
    for i in range(7):
        service.lookup(f"s{i}", target.code, _wrong(target, i))
    result = service.lookup("fresh", target.code, _wrong(target, 8))
    assert result.outcome == "no_match" and result.attempts_left == 2  # code: 10 - 8


def test_unknown_codes_and_codes_without_stored_phone_read_byte_identical(
    db_target: str | Path, clock: FakeClock, sleep: FakeSleep
) -> None:
    service, dossiers = _service(db_target, clock, sleep)
    registry = service.registry
    no_phone = []
    for i in range(10):
        code = f"000.00.04.H51-261101-{9000 + i:04d}"
        registry.put(Dossier(**{**dossiers[i % len(dossiers)].__dict__, "code": code, "phone_last4": ""}))  # type: ignore[attr-defined]
        no_phone.append(code)
    unknown = [f"000.00.04.H51-200101-{i:04d}" for i in range(100)]
    replies = set()
    outcomes = set()
    for n, code in enumerate(unknown + no_phone):
        result = service.lookup(f"prober-{n}", code, "4821")
        outcomes.add((result.outcome, result.attempts_left, result.dossier))
        reply = service.reply(result)
        replies.add((reply.text.encode("utf-8"), repr(reply.buttons).encode("utf-8")))
    assert outcomes == {("no_match", 4, None)}
    assert len(replies) == 1
    # each was counted alike: one failure per code and per sender
    for code in (unknown[0], no_phone[0]):
        assert service.code_limiter.state(code).failures == 1


def test_global_ceiling_slows_every_lookup_down(db_target: str | Path, clock: FakeClock, sleep: FakeSleep, caplog) -> None:
    service, dossiers = _service(db_target, clock, sleep, per_minute=30)
    for i in range(30):  # a distributed campaign: every sender and every code stays under its own limit
        service.lookup(f"bot-{i}", f"000.00.04.H51-200101-{i:04d}", "1234")
    assert len(sleep.calls) == 0
    with caplog.at_level(logging.WARNING, logger="bot.cases.service"):
        found = service.lookup("citizen", dossiers[0].code, dossiers[0].phone_last4)
    assert found.outcome == "found"  # not locked, only slowed
    assert sleep.calls == [2.0]
    assert any("slowed down" in r.getMessage() for r in caplog.records)
    clock.advance(seconds=61)
    service.lookup("citizen", dossiers[0].code, dossiers[0].phone_last4)
    assert sleep.calls == [2.0]


def test_every_lockout_is_logged_with_hashed_ids(db_target: str | Path, clock: FakeClock, sleep: FakeSleep, caplog) -> None:
    service, dossiers = _service(db_target, clock, sleep)
    target = dossiers[0]
    with caplog.at_level(logging.INFO, logger="bot.cases.service"):
        for i in range(5):
            service.lookup("+84912345678", target.code, _wrong(target, i))  # sender lockout
        for i in range(5, 10):
            service.lookup(f"other-{i}", target.code, _wrong(target, i))  # code lockout
    lockouts = [r.getMessage() for r in caplog.records if "lockout" in r.getMessage()]
    assert len(lockouts) == 2
    assert f"scope=sender id={hash_sender('+84912345678')}" in lockouts[0]
    assert f"scope=code id={limit_key('code', target.code)}" in lockouts[1]
    for line in lockouts:
        assert "912345678" not in line and target.code not in line


def test_registry_outage_is_an_honest_apology_and_not_counted(db_target: str | Path, clock: FakeClock, sleep: FakeSleep) -> None:
    from bot.cases.registry import RegistryUnavailable

    service, dossiers = _service(db_target, clock, sleep)

    def down(code: str) -> Dossier | None:
        raise RegistryUnavailable("timeout")

    service.registry.get = down  # type: ignore[method-assign]
    result = service.lookup("alice", dossiers[0].code, "1234")
    assert result.outcome == "unavailable" and "thử lại" in service.reply(result).text
    assert service.limiter.state("alice").failures == 0
    assert service.code_limiter.state(dossiers[0].code).failures == 0


def test_database_outage_is_an_honest_apology_and_reveals_nothing(db_target, clock: FakeClock, sleep: FakeSleep) -> None:
    service, dossiers = _service(db_target, clock, sleep)
    conn = service.limiter._conn
    conn.execute("ALTER TABLE lookup_failures RENAME TO lookup_failures_away")  # the counters cannot be reached
    result = service.lookup("a", dossiers[0].code, dossiers[0].phone_last4)
    assert result.outcome == "unavailable" and result.dossier is None
    conn.execute("ALTER TABLE lookup_failures_away RENAME TO lookup_failures")
    assert service.lookup("a", dossiers[0].code, dossiers[0].phone_last4).outcome == "found"


def test_code_counters_persist_as_hashes_across_a_restart(db_target: str | Path, clock: FakeClock, sleep: FakeSleep) -> None:
    db = db_target
    service, dossiers = _service(db, clock, sleep)
    target = dossiers[0]
    for i in range(10):
        service.lookup(f"a{i}", target.code, _wrong(target, i))
    rows = service.limiter._conn.execute("SELECT scope, key_hash FROM lookup_failures").fetchall()
    assert {r[0] for r in rows} == {"sender", "code"}
    assert all(target.code not in r[1] for r in rows)
    restarted, _ = _service(db, clock, sleep)
    assert restarted.lookup("new", target.code, target.phone_last4).outcome == "locked"


def test_migration_keeps_failures_counted_before_the_upgrade(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
    for number, script in MIGRATIONS[:2]:
        conn.executescript(f"BEGIN;\n{script}\nINSERT INTO schema_version VALUES ({number}, 'x');\nCOMMIT;")
    conn.execute("INSERT INTO verification_failures (sender_hash, failed_at) VALUES (?, ?)", (hash_sender("m"), 1e9))
    conn.close()
    upgraded = open_database(db)
    rows = upgraded.execute("SELECT scope, key_hash FROM lookup_failures").fetchall()
    assert [tuple(r) for r in rows] == [("sender", hash_sender("m"))]


def test_limits_come_from_settings_and_bad_values_name_the_key() -> None:
    config = load_cases_config({"rate_limit": {"per_code_max_failures": 3, "global_slowdown_seconds": 0.5}})
    assert (config.max_failures, config.code_max_failures, config.global_failures_per_minute) == (5, 3, 30)
    assert config.global_slowdown_seconds == 0.5
    with pytest.raises(CasesConfigError, match="cases.rate_limit.per_code_max_failures"):
        load_cases_config({"rate_limit": {"per_code_max_failures": 0}})


def test_shipped_settings_have_the_issue_defaults() -> None:
    from bot.settings import load_settings

    config = load_cases_config(load_settings().section("cases"))
    assert (config.max_failures, config.window_minutes) == (5, 15)
    assert (config.code_max_failures, config.code_window_minutes) == (10, 15)
    assert config.code_daily_max_failures == 30
