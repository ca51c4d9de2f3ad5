"""The two-command set-up: interpreter discovery, idempotent set-up, and the stack runner's clean shutdown."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.processes import port_in_use
from bot.settings import PROJECT_ROOT
from tests.support.stack import free_port, trained_model


def test_missing_interpreter_is_named_clearly(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHON310": str(tmp_path / "no-such-python3.10"),
    }
    result = subprocess.run(
        ["bash", "scripts/setup_envs.sh"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "Python 3.10 not found" in result.stderr
    assert "PYTHON310" in result.stderr
    assert "no-such-python3.10" in result.stderr


def test_setup_is_a_fast_no_op_when_nothing_changed() -> None:
    if not (PROJECT_ROOT / ".venv" / ".setup-stamp").exists():
        pytest.skip("environments not set up yet")
    started = time.monotonic()
    result = subprocess.run(["bash", "scripts/setup_envs.sh"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "setting up" not in result.stderr
    assert elapsed < 5, f"no-op set-up took {elapsed:.1f}s"


def _start_runner(rasa_port: int, actions_port: int, log_dir: Path, console_port: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "bot", "run", "--rasa-port", str(rasa_port), "--actions-port", str(actions_port),
            "--console-port", str(console_port or free_port()),
            "--model", str(trained_model()), "--log-dir", str(log_dir),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )


def _wait_ready(proc: subprocess.Popen[str], timeout: float = 240) -> str:
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if line.startswith("Stop with Ctrl-C"):
            return "".join(seen)
    raise AssertionError("runner never became ready:\n" + "".join(seen[-60:]))


@pytest.mark.slow
def test_runner_serves_rest_and_sigterm_leaves_no_listener(tmp_path: Path) -> None:
    rasa_port, actions_port, console_port = free_port(), free_port(), free_port()
    proc = _start_runner(rasa_port, actions_port, tmp_path, console_port)
    try:
        output = _wait_ready(proc)
        assert f"127.0.0.1:{rasa_port}" in output and "curl -s" in output
        reply = httpx.post(
            f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
            json={"sender": "runner-test", "message": "tôi muốn làm giấy khai sinh"},
            timeout=60,
        ).json()
        text = " ".join(m.get("text", "") for m in reply)
        assert "1.001193" in text and "khai sinh" in text.lower()
        assert httpx.get(f"http://127.0.0.1:{actions_port}/health", timeout=5).status_code == 200
        console = httpx.get(f"http://127.0.0.1:{console_port}/queue", timeout=5)  # issue 17: started, signed-in only
        assert console.status_code == 302 and console.headers["location"] == "/login"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert not port_in_use(rasa_port), "Rasa server still listening after SIGTERM"
    assert not port_in_use(actions_port), "action server still listening after SIGTERM"
    assert not port_in_use(console_port), "staff console still listening after SIGTERM"
    # with several Rasa workers (settings.yml server.workers) the runner also started a private Redis
    redis_ports = [int(port) for port in re.findall(r"starting redis on 127\.0\.0\.1:(\d+)", output)]
    assert all(not port_in_use(port) for port in redis_ports), "redis still listening after SIGTERM"
