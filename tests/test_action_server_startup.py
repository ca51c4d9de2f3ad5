"""The action server refuses to start on an invalid knowledge base (no partial loading)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bot.processes import APP_PYTHON, free_port
from bot.settings import PROJECT_ROOT


def test_action_server_refuses_invalid_knowledge_base(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", knowledge, ignore=shutil.ignore_patterns("drafts"))
    broken = knowledge / "procedures" / "1.001193.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("verified_on:", "verified_on: 2026-13-45\n_old:"), encoding="utf-8")
    result = subprocess.run(
        [str(APP_PYTHON), "-m", "rasa_sdk", "--actions", "actions", "-p", str(free_port())],
        cwd=PROJECT_ROOT,
        env={**os.environ, "BOT_KNOWLEDGE_DIR": str(knowledge), "SANIC_HOST": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Refusing to start" in result.stderr
    assert "1.001193.yaml" in result.stderr
