"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from tests.support.requirements import missing


def _catalog_path() -> Path:
    value = os.environ.get("TTHC_CATALOG", "../shared/data/tthc-national-2026.jsonl.gz")
    path = Path(value)
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


@pytest.fixture(scope="session")
def catalog_path() -> Path:
    """The national catalogue file; skipped with a reason when absent, a failure under CI=true."""
    path = _catalog_path()
    if not path.exists():
        missing(f"national catalogue not found at {path} (set TTHC_CATALOG)")
    return path


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL (Debian's binaries) on a free localhost port for the session; see tests/support/postgres.py."""
    from tests.support.postgres import session_server

    yield from session_server()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path):
    """The project database for one test, on each engine: a SQLite file, then an empty PostgreSQL database."""
    from bot.db import dispose_all

    if request.param == "sqlite":
        target: str | Path = tmp_path / "bot.db"
    else:
        from tests.support.postgres import fresh_database

        target = fresh_database(request.getfixturevalue("postgres_server"))
    yield target
    dispose_all()  # close pooled connections: every test has its own database
