"""The cluster profile through its runner (`python -m bot run --profile cluster`, behind `make run-cluster`).

One Rasa replica and one action-server replica behind HAProxy, PostgreSQL and Redis (the cheapest cluster): a
citizen walks to step 3 through the balancer, the WHOLE cluster is stopped with SIGTERM and started again from the
same folder, and the next "bước tiếp" gives step 4. Each stop must leave no process behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from bot.cluster import cluster_config, missing_programs
from bot.processes import APP_PYTHON, base_env, free_port, port_in_use
from bot.settings import PROJECT_ROOT
from tests.support.requirements import missing
from tests.support.stack import trained_model

pytestmark = pytest.mark.slow

STARTUP = float(os.environ.get("BOT_STARTUP_TIMEOUT", "180")) + 120


class Runner:
    """`python -m bot run --profile cluster` in its own process group, output in a file."""

    def __init__(self, var_dir: Path, rasa_port: int, actions_port: int):
        self.var_dir, self.rasa_port, self.actions_port = var_dir, rasa_port, actions_port
        self.output = var_dir.parent / f"runner-{uuid.uuid4().hex[:6]}.log"  # one per start: "Ready" is this one's
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "Runner":
        command = [str(APP_PYTHON), "-m", "bot", "run", "--profile", "cluster", "--var-dir", str(self.var_dir),
                   "--rasa-port", str(self.rasa_port), "--actions-port", str(self.actions_port),
                   "--rasa-replicas", "1", "--action-replicas", "1"]
        with open(self.output, "ab") as out:
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=base_env(), stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        deadline = time.monotonic() + STARTUP
        while "Ready (cluster" not in self.log():
            assert self.process.poll() is None, f"the runner exited:\n{self.log()[-3000:]}"
            assert time.monotonic() < deadline, f"the cluster did not start:\n{self.log()[-3000:]}"
            time.sleep(1)
        return self

    def log(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def descendants(self) -> list[int]:
        assert self.process is not None
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                continue
            found.extend(int(c) for c in children)
            todo.extend(int(c) for c in children)
        return found

    def stop(self) -> int:
        """SIGTERM, as an operator or systemd would; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _say(port: int, sender: str, text: str) -> str:
    response = httpx.post(f"http://127.0.0.1:{port}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                          timeout=60)
    response.raise_for_status()
    return "\n".join(m.get("text") or "" for m in response.json())


def _stop_and_check(runner: Runner) -> None:
    assert runner.process is not None and runner.process.poll() is None, f"the runner died:\n{runner.log()[-3000:]}"
    processes = runner.descendants()
    assert len(processes) >= 6, processes  # postgres, redis, actions, haproxy, rasa (and their own children)
    assert runner.stop() == 0, runner.log()[-2000:]
    assert "stopped: no server left running" in runner.log()
    time.sleep(1)
    assert [pid for pid in processes if _alive(pid)] == [], "processes left after SIGTERM"
    assert not port_in_use(runner.rasa_port) and not port_in_use(runner.actions_port)


@pytest.fixture
def var_dir():
    lacking = missing_programs(cluster_config())
    if lacking:
        missing(f"the cluster profile needs {', '.join(lacking)} (apt-get install {' '.join(lacking)})")
    trained_model()
    # under the project's var/: the `postgres` user cannot enter pytest's private temporary folders
    folder = PROJECT_ROOT / "var" / f"test-cluster-{uuid.uuid4().hex[:8]}"
    yield folder / "cluster"
    shutil.rmtree(folder, ignore_errors=True)


def test_whole_cluster_restart_resumes_the_walk_at_the_same_step(var_dir: Path) -> None:
    var_dir.parent.mkdir(parents=True)
    runner = Runner(var_dir, free_port(), free_port()).start()
    sender = f"cluster-{uuid.uuid4().hex[:8]}"
    try:
        _say(runner.rasa_port, sender, "làm khai sinh trực tiếp, cháu có giấy chứng sinh, bố mẹ đã kết hôn")
        assert _say(runner.rasa_port, sender, "/ask_steps").startswith("Bước 1/")
        assert _say(runner.rasa_port, sender, "bước tiếp").startswith("Bước 2/")
        assert _say(runner.rasa_port, sender, "bước tiếp").startswith("Bước 3/")
    finally:
        _stop_and_check(runner)

    runner = Runner(var_dir, runner.rasa_port, runner.actions_port).start()  # same folder: same database
    try:
        assert _say(runner.rasa_port, sender, "bước tiếp").startswith("Bước 4/")
        url = f"http://127.0.0.1:{runner.rasa_port}/conversations/{sender}/tracker"
        tracker = httpx.get(url, timeout=30).json()
        users = [e["text"] for e in tracker["events"] if e["event"] == "user"]
        assert users[1:] == ["/ask_steps", "bước tiếp", "bước tiếp", "bước tiếp"]  # every turn, before and after
        assert tracker["slots"]["step_index"] == 3
    finally:
        _stop_and_check(runner)
