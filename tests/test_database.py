"""The database layer (bot/db.py) on a real SQLite file and a real PostgreSQL: migrations, legacy upgrades,
portable statements, transactions, errors, and correctness when several processes share one database."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy

from bot.db import HEAD_REVISION, DatabaseError, _pyformat, dispose_all, open_database
from bot.storage import LEGACY_MIGRATIONS

# one row per legacy version, in a table that version created: all must survive the upgrade
LEGACY_ROWS = {
    1: ("INSERT INTO feedback (created_at, sender_hash, helpful, comment) VALUES ('then', 'h1', 0, 'khó')",
        "SELECT comment FROM feedback", "khó"),
    2: ("INSERT INTO verification_failures (sender_hash, failed_at) VALUES ('h2', 1000000000.5)",
        "SELECT failed_at FROM verification_failures", 1000000000.5),
    3: ("INSERT INTO seen_deliveries (channel, delivery_hash, seen_at) VALUES ('zalo', 'd3', 1.0)",
        "SELECT delivery_hash FROM seen_deliveries", "d3"),
    4: ("INSERT INTO registry_events (event_id, dossier_code, received_at) VALUES ('e4', 'c4', 'then')",
        "SELECT event_id FROM registry_events", "e4"),
    5: ("INSERT INTO channel_messages (day, channel, count) VALUES ('2026-12-01', 'kiosk', 7)",
        "SELECT count FROM channel_messages", 7),
}


def _legacy_file(path: Path, version: int) -> None:
    """A database exactly as the code before issue 16 left it at `version`, with a row from each step."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)")
    for number, script in LEGACY_MIGRATIONS[:version]:
        conn.executescript(f"BEGIN;\n{script}\nINSERT INTO schema_version VALUES ({number}, 'then');\nCOMMIT;")
        conn.execute(LEGACY_ROWS[number][0])
    conn.close()


def _columns(db) -> dict[str, set[str]]:
    inspector = sqlalchemy.inspect(db.engine)
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()
            if t not in ("alembic_version", "schema_version")}


def test_head_revision_is_the_last_migration_file() -> None:
    from alembic.script import ScriptDirectory

    from bot.migrations.runner import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [HEAD_REVISION]
    revisions = [s.revision for s in scripts.walk_revisions()][::-1]
    legacy = [f"{n:04d}" for n, _ in LEGACY_MIGRATIONS]
    assert revisions[: len(legacy)] == legacy  # the pre-Alembic versions first, later revisions after them
    assert revisions == [f"{n:04d}" for n in range(1, len(revisions) + 1)]


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5])
def test_a_legacy_file_upgrades_in_place_and_keeps_everything(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.db"
    _legacy_file(path, version)
    db = open_database(path)
    assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD_REVISION
    for number in range(1, version + 1):
        _insert, select, expected = LEGACY_ROWS[number]
        assert db.execute(select).fetchall() == [(expected,)], number
    if version >= 2:  # migration 3 copies old sender failures into the new table
        assert db.execute("SELECT scope, key_hash FROM lookup_failures").fetchall() == [("sender", "h2")]
    fresh = open_database(tmp_path / "fresh.db")
    assert _columns(db) == _columns(fresh)  # the same schema as a database made today
    again = open_database(path)  # opening again changes nothing
    assert again.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 1


def test_placeholders_become_pyformat_outside_quotes_only() -> None:
    assert _pyformat("SELECT ? WHERE a = '?' AND b LIKE '10%' AND c = ?") == (
        "SELECT %s WHERE a = '?' AND b LIKE '10%%' AND c = %s")
    assert _pyformat("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', %s"


def test_rows_statements_and_transactions(db_target) -> None:
    db = open_database(db_target)
    new_id = db.execute("INSERT INTO feedback (created_at, sender_hash, helpful) VALUES (?, ?, ?) RETURNING id",
                        ("t", "h", 1)).fetchone()[0]
    row = db.execute("SELECT id, sender_hash, helpful FROM feedback WHERE id = ?", (new_id,)).fetchone()
    assert (row[0], row["sender_hash"], row["helpful"]) == (new_id, "h", 1) and dict(zip(row.keys(), row))["id"] == new_id
    assert db.execute("SELECT '50%' || ?, 'a?b'", ("x",)).fetchone() == ("50%x", "a?b")
    for _ in range(3):
        db.execute("INSERT INTO channel_messages (day, channel, count) VALUES (?, ?, 1)"
                   " ON CONFLICT(day, channel) DO UPDATE SET count = channel_messages.count + 1", ("d", "rest"))
    assert db.execute("SELECT count FROM channel_messages").fetchall() == [(3,)]
    with pytest.raises(ValueError):
        with db.transaction():
            db.execute("INSERT INTO feedback (created_at, sender_hash, helpful) VALUES ('t', 'gone', 1)")
            with db.transaction():  # nested: joins the outer one
                db.execute("INSERT INTO feedback (created_at, sender_hash, helpful) VALUES ('t', 'gone', 0)")
            raise ValueError("rolled back")
    assert db.execute("SELECT COUNT(*) FROM feedback WHERE sender_hash = 'gone'").fetchone()[0] == 0
    with db.transaction():
        db.executemany("INSERT INTO feedback (created_at, sender_hash, helpful) VALUES ('t', ?, 1)", [("a",), ("b",)])
    assert db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 3
    with pytest.raises(DatabaseError):
        db.execute("SELECT no_such_column FROM feedback")
    assert db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 3  # the pool is still usable


def test_an_unreachable_postgresql_is_a_clear_error_without_the_password() -> None:
    from bot.pgserver import free_port

    with pytest.raises(DatabaseError) as raised:
        open_database(f"postgresql://bot:s3cret-pw@127.0.0.1:{free_port()}/nothing")
    assert "s3cret-pw" not in str(raised.value) and "127.0.0.1" in str(raised.value)


def test_settings_choose_postgresql_by_url_and_sqlite_by_default(monkeypatch, tmp_path: Path) -> None:
    from bot.settings import load_settings

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("BOT_DATABASE", str(tmp_path / "x.db"))
    assert load_settings().database_target == tmp_path / "x.db"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/tthc")
    assert load_settings().database_target == "postgresql://u:p@db:5432/tthc"
    monkeypatch.setenv("DATABASE_URL", "")  # set but empty: back to SQLite
    assert load_settings().database_target == tmp_path / "x.db"
    monkeypatch.setenv("BOT_DATABASE", "postgresql://u:p@db/tthc")  # a URL in the file setting is a URL too
    assert load_settings().database_target == "postgresql://u:p@db/tthc"


# --- several processes on one PostgreSQL ------------------------------------------------------------------

def _count_failures(url: str, start, results, rounds: int) -> None:
    from bot.cases.verification import FailureLimiter

    limiter = FailureLimiter(open_database(url), max_failures=5, window_seconds=900, scope="code")
    start.wait()
    for _ in range(rounds):
        state = limiter.record_failure("000.00.04.H51-261101-0001")
        results.put((state.failures, state.locked))


def _dedup(url: str, start, results, ids: int) -> None:
    from bot.channels.dedup import SeenDeliveries

    seen = SeenDeliveries(open_database(url))
    start.wait()
    results.put([seen.first_time("telegram", str(i)) for i in range(ids)])


def _guess(url: str, start, results, rounds: int) -> None:
    import os

    from bot.cases.codes import DossierCodes
    from bot.cases.service import CaseService
    from bot.cases.sqlite_registry import SQLiteCaseRegistry

    db = open_database(url)
    registry = SQLiteCaseRegistry(db)
    code = registry.codes()[0]
    sender = FailureLimiterFor(db, 5, "sender")
    service = CaseService(registry, sender, DossierCodes(), "phone_last4", code_limiter=FailureLimiterFor(db, 10, "code"))
    start.wait()
    for i in range(rounds):  # a new sender for every guess, all at once from several replicas
        results.put(service.lookup(f"attacker-{os.getpid()}-{i}", code, "0000").outcome)


def FailureLimiterFor(db, max_failures: int, scope: str):
    from bot.cases.verification import FailureLimiter

    return FailureLimiter(db, max_failures=max_failures, window_seconds=900, scope=scope)


def _in_processes(target, url: str, count: int, *args) -> list:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(count), context.Queue()
    workers = [context.Process(target=target, args=(url, start, results, *args)) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    out = []
    while not results.empty():
        out.append(results.get(timeout=5))
    return out


@pytest.fixture()
def postgres_url(postgres_server) -> str:
    from tests.support.postgres import fresh_database

    url = fresh_database(postgres_server)
    open_database(url)  # migrated once, before the workers start
    yield url
    dispose_all()


def test_failures_counted_by_several_processes_hit_the_limit_exactly_once(postgres_url: str) -> None:
    states = _in_processes(_count_failures, postgres_url, 3, 8)
    assert sorted(failures for failures, _locked in states) == list(range(1, 25))  # each saw its own count
    assert [failures for failures, locked in states if locked and failures == 5] == [5]  # one lockout, logged once
    assert all(locked == (failures >= 5) for failures, locked in states)


def test_one_delivery_id_is_processed_once_across_processes(postgres_url: str) -> None:
    runs = _in_processes(_dedup, postgres_url, 3, 200)
    assert len(runs) == 3
    assert [sum(run[i] for run in runs) for i in range(200)] == [1] * 200


def test_parallel_guesses_on_one_code_are_judged_no_more_than_the_limit(postgres_url: str) -> None:
    from datetime import date

    from bot.cases.demo import seed_demo
    from bot.cases.sqlite_registry import SQLiteCaseRegistry

    seeded = seed_demo(SQLiteCaseRegistry(open_database(postgres_url)), date(2026, 11, 27))
    assert all(d.phone_last4 != "0000" for d in seeded)
    outcomes = _in_processes(_guess, postgres_url, 3, 8)
    assert len(outcomes) == 24
    judged = open_database(postgres_url).execute("SELECT COUNT(*) FROM lookup_failures WHERE scope = 'code'").fetchone()
    assert judged[0] == 10  # exactly the per-code limit, however many replicas guessed at once
    assert outcomes.count("no_match") == 9 and outcomes.count("locked") == 15
