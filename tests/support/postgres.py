"""One private PostgreSQL cluster for the whole test session (bot.pgserver), a fresh database per test."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bot.pgserver import DEBIAN_PACKAGE, PostgresServer, PostgresUnavailable, find_bin_dir
from tests.support.requirements import missing

_names = itertools.count(1)


def session_server() -> Iterator[PostgresServer]:
    """Start the cluster (fsync off: test data only) in a folder the `postgres` user can reach; stop it after."""
    if find_bin_dir() is None:
        missing(f"PostgreSQL binaries not found (apt-get install {DEBIAN_PACKAGE}, or set PG_BIN)")
    base = Path(tempfile.mkdtemp(prefix="tthc-pg-"))
    base.chmod(0o755)
    server = PostgresServer(base / "data", durable=False)
    try:
        server.start()
    except PostgresUnavailable as exc:
        shutil.rmtree(base, ignore_errors=True)
        missing(f"PostgreSQL would not start: {exc}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def fresh_database(server: PostgresServer) -> str:
    return server.create_database(f"test_{next(_names)}")
