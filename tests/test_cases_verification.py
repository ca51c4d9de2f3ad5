"""Verification before revealing anything, and the persisted failure limit (fake clock)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.cases.codes import DossierCodes
from bot.cases.demo import seed_demo
from bot.cases.models import Dossier, Status
from bot.cases.service import CaseService
from bot.cases.sqlite_registry import SQLiteCaseRegistry
from bot.cases.verification import FailureLimiter, extract_last4
from bot.storage import open_database

TODAY = date(2026, 11, 27)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def _service(db: Path, clock: FakeClock, mode: str = "phone_last4") -> tuple[CaseService, list[Dossier]]:
    conn = open_database(db)
    registry = SQLiteCaseRegistry(conn)
    dossiers = seed_demo(registry, TODAY)
    limiter = FailureLimiter(conn, max_failures=5, window_seconds=15 * 60, clock=clock)
    return CaseService(registry, limiter, DossierCodes(), mode, clock), dossiers


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def setup(db_target: str | Path, clock: FakeClock) -> tuple[CaseService, list[Dossier]]:
    return _service(db_target, clock)


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("4821", "4821"),
        (" 48 21 ", "4821"),
        ("4 số cuối là 4821", "4821"),
        ("bốn số cuối: 48-21", "4821"),
        ("12 345", None),
        ("số cuối 4821", "4821"),
        ("0912345678", "5678"),
        ("+84 912 345 678", "5678"),
        ("001190012345", "2345"),
        ("123", None),
        ("", None),
        ("không nhớ", None),
    ],
)
def test_extract_last4(typed: str, expected: str | None) -> None:
    assert extract_last4(typed) == expected


def test_right_code_and_digits_reveal_the_dossier(setup: tuple[CaseService, list[Dossier]]) -> None:
    service, dossiers = setup
    target = dossiers[0]
    result = service.lookup("alice", target.code, target.phone_last4)
    assert result.outcome == "found" and result.dossier == target


def test_full_phone_typed_is_accepted_by_its_last_four(setup: tuple[CaseService, list[Dossier]]) -> None:
    service, dossiers = setup
    result = service.lookup("alice", dossiers[0].code, f"091234{dossiers[0].phone_last4}")
    assert result.outcome == "found"


def test_id_mode_uses_the_id_number(db_target: str | Path, clock: FakeClock) -> None:
    service, dossiers = _service(db_target, clock, mode="id_last4")
    target = dossiers[1]
    assert service.lookup("a", target.code, target.id_last4).outcome == "found"
    assert service.lookup("a", target.code, target.phone_last4).outcome == "no_match"


def test_wrong_pair_and_unknown_code_are_indistinguishable(setup: tuple[CaseService, list[Dossier]]) -> None:
    service, dossiers = setup
    target = dossiers[0]
    wrong_digits = "0000" if target.phone_last4 != "0000" else "1111"
    wrong = service.lookup("bob", target.code, wrong_digits)
    unknown = service.lookup("carol", "000.00.04.H51-200101-9999", target.phone_last4)
    assert wrong.outcome == unknown.outcome == "no_match"
    assert wrong.dossier is None and unknown.dossier is None
    assert wrong.attempts_left == unknown.attempts_left == 4
    assert service.reply(wrong) == service.reply(unknown)


def test_badly_shaped_input_is_explained_and_not_counted(setup: tuple[CaseService, list[Dossier]]) -> None:
    service, dossiers = setup
    assert service.lookup("dan", "HS-12", "4821").outcome == "invalid_code"
    assert service.lookup("dan", dossiers[0].code, "12").outcome == "invalid_verification"
    assert service.limiter.state("dan").failures == 0
    assert "chưa đúng dạng" in service.reply(service.lookup("dan", "HS-12", "4821")).text


def test_lockout_after_five_failures_even_for_the_right_pair(setup: tuple[CaseService, list[Dossier]], clock: FakeClock) -> None:
    service, dossiers = setup
    target = dossiers[0]
    outcomes = []
    for _ in range(5):
        clock.advance(seconds=30)
        outcomes.append(service.lookup("mallory", target.code, "9999").outcome)
    assert outcomes == ["no_match"] * 4 + ["locked"]
    locked = service.lookup("mallory", target.code, target.phone_last4)
    assert locked.outcome == "locked" and locked.dossier is None
    # the first failure was at +30 s: unlocked 15 min after it
    assert locked.retry_after_seconds == 15 * 60 - 4 * 30
    text = service.reply(locked).text
    assert "tạm khóa" in text and "13 phút" in text
    # other senders are not affected
    assert service.lookup("alice", target.code, target.phone_last4).outcome == "found"
    clock.advance(minutes=13)
    assert service.lookup("mallory", target.code, target.phone_last4).outcome == "found"


def test_sliding_window_forgets_old_failures(setup: tuple[CaseService, list[Dossier]], clock: FakeClock) -> None:
    service, dossiers = setup
    for _ in range(4):
        service.lookup("eve", dossiers[0].code, "9999")
    clock.advance(minutes=16)
    result = service.lookup("eve", dossiers[0].code, "9999")
    assert result.outcome == "no_match" and result.attempts_left == 4


def test_the_counter_survives_a_restart(db_target: str | Path, clock: FakeClock) -> None:
    db = db_target
    service, dossiers = _service(db, clock)
    for _ in range(5):
        service.lookup("mallory", dossiers[0].code, "9999")
    service.registry.close()
    restarted, _ = _service(db, clock)  # a new process: new connection, new service
    assert restarted.lookup("mallory", dossiers[0].code, dossiers[0].phone_last4).outcome == "locked"


def test_locked_sender_does_not_reach_the_registry(setup: tuple[CaseService, list[Dossier]]) -> None:
    service, dossiers = setup
    calls = []
    real_get = service.registry.get
    service.registry.get = lambda code: calls.append(code) or real_get(code)  # type: ignore[method-assign]
    for _ in range(5):
        service.lookup("mallory", dossiers[0].code, "9999")
    calls.clear()
    service.lookup("mallory", dossiers[0].code, dossiers[0].phone_last4)
    assert calls == []


def test_senders_are_stored_as_pseudonyms(setup: tuple[CaseService, list[Dossier]]) -> None:
    service, dossiers = setup
    service.lookup("+84912345678", dossiers[0].code, "9999")  # e.g. a Zalo/Telegram id that is a phone
    rows = service.limiter._conn.execute("SELECT key_hash FROM lookup_failures").fetchall()
    assert rows and all("912345678" not in r[0] for r in rows)


def test_registry_without_the_verification_value_reads_like_an_unknown_code(db_target: str | Path, clock: FakeClock) -> None:
    service, dossiers = _service(db_target, clock)
    target = dossiers[0]
    service.registry.put(  # type: ignore[attr-defined]
        Dossier(**{**target.__dict__, "code": "000.00.04.H51-261101-0042", "phone_last4": ""})
    )
    result = service.lookup("a", "000.00.04.H51-261101-0042", "0000")
    assert result.outcome == "no_match" and result.attempts_left == 4  # counted like any failure


def test_hand_over_is_per_sender_and_single_use(setup: tuple[CaseService, list[Dossier]]) -> None:
    service, dossiers = setup
    result = service.lookup("alice", dossiers[0].code, dossiers[0].phone_last4)
    service.hand_over("alice", result)
    assert service.take_over("bob") is None
    assert service.take_over("alice") == result
    assert service.take_over("alice") is None


def test_hand_over_reaches_another_replica_sharing_the_database(db_target: str | Path, clock: FakeClock) -> None:
    """Validation and answer may reach two action-server replicas (cluster profile): the outcome is in the
    database, read once, and holds no verification digits."""
    first, dossiers = _service(db_target, clock)
    second, _ = _service(db_target, clock)
    target = dossiers[0]
    found = first.lookup("carol", target.code, target.phone_last4)
    first.hand_over("carol", found)
    stored = first.limiter._conn.execute("SELECT * FROM case_handovers").fetchall()
    assert len(stored) == 1 and target.phone_last4 not in " ".join(str(v) for v in stored[0])
    taken = second.take_over("carol")
    assert taken is not None and taken.outcome == "found" and taken.dossier == found.dossier
    assert first.take_over("carol") is None
    wrong = first.lookup("dave", target.code, "0000")
    first.hand_over("dave", wrong)
    assert second.take_over("dave") == wrong


def test_status_parse_rejects_unknown_values() -> None:
    assert Status.parse(" Done ") is Status.DONE
    with pytest.raises(ValueError, match="unknown dossier status"):
        Status.parse("lost")
