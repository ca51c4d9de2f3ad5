"""Live-stack helpers for end-to-end tests: real Rasa server (3.10) and real action server (3.11)."""

from __future__ import annotations

import os
from pathlib import Path

from bot.processes import ActionServer, RasaServer, free_port  # noqa: F401  (re-exported for tests)
from bot.settings import PROJECT_ROOT
from tests.support.requirements import missing


def trained_model() -> Path:
    """The Rasa model to serve: $RASA_MODEL or models/tthc.tar.gz (made by `make train`)."""
    model = Path(os.environ.get("RASA_MODEL", PROJECT_ROOT / "models" / "tthc.tar.gz"))
    if not model.exists():
        reason = f"no trained Rasa model at {model}: run `make train` (make test trains before pytest)"
        missing(reason)
    if not (PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa").exists():
        reason = ".venv-rasa is missing: run `make setup`"
        missing(reason)
    return model
