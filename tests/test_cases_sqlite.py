"""The embedded SQLite registry: migration, demo seed, reads, and the `cases` commands."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.cases.demo import DEMO_SOURCE, VIETNAM_TZ, demo_dossiers, seed_demo
from bot.cases.models import Dossier, DossierEvent, Status
from bot.cases.sqlite_registry import SQLiteCaseRegistry
from bot.settings import PROJECT_ROOT
from bot.db import HEAD_REVISION
from bot.storage import MIGRATIONS, open_database

TODAY = date(2026, 11, 27)
CURATED = {"1.001193", "1.004222", "1.014064", "2.000815", "1.001612"}


@pytest.fixture()
def registry(db_target: str | Path) -> SQLiteCaseRegistry:
    reg = SQLiteCaseRegistry.open(db_target)
    yield reg
    reg.close()


def test_migration_creates_the_case_tables_and_records_the_version(db_target: str | Path) -> None:
    conn = open_database(db_target)
    import sqlalchemy

    tables = set(sqlalchemy.inspect(conn.engine).get_table_names())
    assert {"dossiers", "dossier_events", "verification_failures"} <= tables
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD_REVISION
    assert any(number == 2 and "dossiers" in script for number, script in MIGRATIONS)  # the legacy list


def test_version_1_database_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
    conn.executescript(MIGRATIONS[0][1])
    conn.execute("INSERT INTO schema_version VALUES (1, 'then')")
    conn.execute("INSERT INTO feedback (created_at, sender_hash, helpful) VALUES ('then', 'abc', 1)")
    conn.close()
    upgraded = open_database(path)
    assert upgraded.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 1  # nothing lost
    assert upgraded.execute("SELECT COUNT(*) FROM dossiers").fetchone()[0] == 0


def test_demo_covers_the_curated_procedures_and_every_status() -> None:
    dossiers = demo_dossiers(TODAY)
    assert {d.procedure_code for d in dossiers} == CURATED
    assert {d.status for d in dossiers} == set(Status)
    assert len({d.code for d in dossiers}) == len(dossiers)
    for d in dossiers:
        assert d.events and d.events[0].status is Status.RECEIVED and d.events[-1].status is d.status
        assert d.received_at == d.events[0].at
        assert len(d.phone_last4) == 4 and d.phone_last4.isdigit()
        assert d.received_at.strftime("%y%m%d") in d.code  # codes carry the receipt date, as real ones do
    supplement = next(d for d in dossiers if d.status is Status.SUPPLEMENT_REQUIRED)
    assert supplement.missing_documents


def test_seed_then_get_returns_the_whole_dossier(registry: SQLiteCaseRegistry) -> None:
    seeded = seed_demo(registry, TODAY)
    for expected in seeded:
        got = registry.get(expected.code)
        assert got == expected  # every field and the timeline survive the round trip
    assert registry.get("000.00.04.H51-200221-9999") is None


def test_reseed_replaces_demo_rows_and_keeps_other_dossiers(registry: SQLiteCaseRegistry) -> None:
    mine = Dossier(
        code="000.00.04.H51-260101-0099",
        procedure_code="1.001193",
        procedure_name="Thủ tục đăng ký khai sinh",
        applicant_name="Hồ Văn Bình",
        phone_last4="1111",
        id_last4="2222",
        status=Status.PROCESSING,
        received_at=datetime(2026, 1, 1, 8, 0, tzinfo=VIETNAM_TZ),
        events=(DossierEvent(datetime(2026, 1, 1, 8, 0, tzinfo=VIETNAM_TZ), Status.PROCESSING),),
    )
    registry.put(mine)
    first = seed_demo(registry, TODAY)
    second = seed_demo(registry, date(2026, 12, 3))  # another day: codes move with the receipt dates
    assert set(registry.codes(source=DEMO_SOURCE)) == {d.code for d in second}
    assert not {d.code for d in first} & set(registry.codes(source=DEMO_SOURCE))
    assert registry.get(mine.code) == mine
    events = registry.conn.execute("SELECT COUNT(*) FROM dossier_events").fetchone()[0]
    assert events == sum(len(d.events) for d in second) + 1  # old timelines went with their dossiers


def test_data_persists_across_reopen(db_target: str | Path) -> None:
    reg = SQLiteCaseRegistry.open(db_target)
    code = seed_demo(reg, TODAY)[0].code
    reg.close()
    again = SQLiteCaseRegistry.open(db_target)
    assert again.get(code) is not None
    again.close()


def _cli(*args: str, db: str | Path) -> subprocess.CompletedProcess[str]:
    where = {"DATABASE_URL": str(db)} if "://" in str(db) else {"BOT_DATABASE": str(db), "DATABASE_URL": ""}
    env = {**os.environ, **where, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "cases", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )


def test_cli_seed_demo_and_demo_json(db_target: str | Path) -> None:
    db = db_target
    seeded = _cli("seed-demo", db=db)
    assert seeded.returncode == 0, seeded.stderr
    assert "seeded 7 demo dossiers" in seeded.stderr
    listed = _cli("demo", "--json", db=db)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 7
    assert {r["procedure_code"] for r in rows} == CURATED
    for row in rows:
        assert {"code", "procedure_code", "status", "verification"} <= set(row)
        assert row["verification_mode"] == "phone_last4"
        assert len(row["verification"]) == 4
    # the listed verification value really opens the dossier
    row = next(r for r in rows if r["status"] == "supplement_required")
    found = _cli("lookup", row["code"], row["verification"], db=db)
    assert found.returncode == 0, found.stderr
    assert "Cần bổ sung" in found.stdout
    wrong = _cli("lookup", row["code"], "0000" if row["verification"] != "0000" else "1111", db=db)
    assert wrong.returncode == 1 and "chưa khớp" in wrong.stdout


def test_cli_demo_seeds_an_empty_database(db_target: str | Path) -> None:
    listed = _cli("demo", "--json", db=db_target)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 7
    assert "seeded" in listed.stderr
