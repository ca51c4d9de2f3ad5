"""What a test needs from the machine: skipped with the reason when absent, a failure under CI=true."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    """Stop the test: a visible skip on a developer's machine, a failure in CI (where everything must be there)."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
