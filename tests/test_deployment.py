"""Deployment profile (issue 13): production refuses weak set-ups; development stays as convenient as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.deployment import DeploymentError, describe, load_deployment, production_problems
from bot.settings import PROJECT_ROOT, load_settings

GOOD = {"BOT_PRIVACY_SALT": "s" * 32, "RASA_AUTH_TOKEN": "a" * 32, "BOT_REST_TOKEN": "r" * 32}


def _settings(tmp_path: Path, **deployment: object) -> Path:
    data = yaml.safe_load((PROJECT_ROOT / "settings.yml").read_text(encoding="utf-8"))
    data["deployment"] = {**data["deployment"], **deployment}
    path = tmp_path / "settings.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_shipped_profile_is_development_with_64_kb_bodies() -> None:
    setup = load_deployment(load_settings(), environ={})
    assert setup.profile == "development" and not setup.production
    assert setup.max_body_bytes == 65536 and setup.max_message_chars == 2000
    assert production_problems(setup, {}) == []
    assert "development" in describe(setup, {})


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, ["BOT_PRIVACY_SALT", "RASA_AUTH_TOKEN", "BOT_REST_TOKEN"]),
        ({**GOOD, "BOT_PRIVACY_SALT": "tthc-assistant"}, ["BOT_PRIVACY_SALT"]),
        ({**GOOD, "RASA_AUTH_TOKEN": "short"}, ["RASA_AUTH_TOKEN"]),
        ({k: v for k, v in GOOD.items() if k != "BOT_REST_TOKEN"}, ["BOT_REST_TOKEN"]),
        (GOOD, []),
    ],
)
def test_production_problems(env: dict[str, str], expected: list[str]) -> None:
    setup = load_deployment(load_settings(), environ={"BOT_PROFILE": "production"})
    problems = production_problems(setup, env)
    assert len(problems) == len(expected)
    for problem, name in zip(problems, expected):
        assert name in problem


def test_production_with_the_switches_off_needs_only_the_salt(tmp_path: Path) -> None:
    settings = load_settings(_settings(tmp_path, profile="production", http_api=False, rest_channel=False))
    setup = load_deployment(settings, environ={})
    assert production_problems(setup, {"BOT_PRIVACY_SALT": "s" * 32}) == []
    assert describe(setup, {}) == "profile: production (Rasa HTTP API off; REST channel not mounted)"


def test_wrong_profile_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="deployment.profile"):
        load_deployment(load_settings(_settings(tmp_path, profile="prod")), environ={})


def test_runner_refuses_production_with_the_default_salt(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in GOOD}
    env.update({"BOT_PROFILE": "production", "BOT_PRIVACY_SALT": "tthc-assistant", "RASA_AUTH_TOKEN": "a" * 32,
                "BOT_REST_TOKEN": "r" * 32, "PYTHONPATH": str(PROJECT_ROOT)})
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--log-dir", str(tmp_path)],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "production profile refuses to start" in done.stderr and "BOT_PRIVACY_SALT" in done.stderr
    assert "a" * 32 not in done.stderr + done.stdout
    assert "starting" not in done.stderr  # nothing was started
