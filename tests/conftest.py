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
