"""What the container images run besides the servers themselves: the preflight entry point (in both Python
environments), the one-watcher switch, the console listening beyond 127.0.0.1, and the footprint sampler behind
`make bench-footprint`. Real subprocesses, real sockets."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.footprint import ProcessUsage, measure_while
from bot.processes import APP_PYTHON, ServerProcess, base_env, free_port
from bot.settings import PROJECT_ROOT
from bot.subscriptions.service import watcher_enabled_here
from tests.support.requirements import missing

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
GOOD = {
    "BOT_PROFILE": "production",
    "BOT_PRIVACY_SALT": "s" * 24,
    "RASA_AUTH_TOKEN": "a" * 24,
    "BOT_REST_TOKEN": "r" * 24,
    "DATABASE_URL": "postgresql://u:p@db:5432/tthc",
}
PRINT_ARGV = "import json, sys; print(json.dumps(sys.argv[1:]))"


def _python(name: str) -> Path:
    python = APP_PYTHON if name == "app" else RASA_PYTHON
    if not python.exists():
        missing(f"{python} not set up (make setup)")
    return python


def _preflight(python: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in base_env().items() if k not in {*GOOD, "BOT_SETTINGS"}}
    return subprocess.run(
        [str(python), "-m", "bot.preflight", *args], cwd=PROJECT_ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("environment", ["app", "rasa"])
def test_preflight_refuses_production_without_secrets_and_never_starts_the_server(
        environment: str, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    result = _preflight(_python(environment), {"BOT_PROFILE": "production"}, "--require", "DATABASE_URL", "--",
                        str(_python(environment)), "-c", f"open({str(marker)!r}, 'w')")
    assert result.returncode == 2
    for needed in ("DATABASE_URL is unset", "BOT_PRIVACY_SALT", "RASA_AUTH_TOKEN", "BOT_REST_TOKEN"):
        assert needed in result.stderr
    assert not marker.exists()


@pytest.mark.parametrize("environment", ["app", "rasa"])
def test_preflight_execs_the_server_with_the_api_token_when_the_api_is_on(environment: str) -> None:
    python = _python(environment)
    result = _preflight(python, GOOD, "--require", "DATABASE_URL", "--rasa-api", "--",
                        str(python), "-c", PRINT_ARGV, "run")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["run", "--enable-api", "--auth-token", GOOD["RASA_AUTH_TOKEN"]]
    assert "profile: production" in result.stderr
    assert GOOD["RASA_AUTH_TOKEN"] not in result.stderr  # the token is handed over, never printed


def test_preflight_leaves_the_api_off_when_settings_turn_it_off(tmp_path: Path) -> None:
    settings = yaml.safe_load((PROJECT_ROOT / "settings.yml").read_text(encoding="utf-8"))
    settings["deployment"]["http_api"] = False
    path = tmp_path / "settings.yml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    env = {k: v for k, v in GOOD.items() if k != "RASA_AUTH_TOKEN"} | {"BOT_SETTINGS": str(path)}
    result = _preflight(_python("app"), env, "--rasa-api", "--", str(APP_PYTHON), "-c", PRINT_ARGV, "run")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["run"]


def test_preflight_without_a_command_is_a_usage_error() -> None:
    result = _preflight(_python("app"), {}, "--")
    assert result.returncode == 2 and "no command" in result.stderr


def test_watcher_switch_turns_the_watcher_off_in_an_action_server_process() -> None:
    assert watcher_enabled_here({}) and watcher_enabled_here({"BOT_SUBSCRIPTIONS_WATCHER": "on"})
    assert not watcher_enabled_here({"BOT_SUBSCRIPTIONS_WATCHER": "off"})
    assert not watcher_enabled_here({"BOT_SUBSCRIPTIONS_WATCHER": " False "})
    # in a process that looks like `python -m rasa_sdk`, the real start function says no and starts no thread
    code = (
        "import importlib.machinery, logging, sys, threading\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "sys.modules['__main__'].__spec__ = importlib.machinery.ModuleSpec('rasa_sdk.__main__', None)\n"
        "from bot.subscriptions.service import start_watcher_in_action_server\n"
        "print(start_watcher_in_action_server(), threading.active_count())\n"
    )
    result = subprocess.run([str(APP_PYTHON), "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            env=base_env({"BOT_SUBSCRIPTIONS_WATCHER": "off"}), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "1"]
    assert "watcher off in this process" in result.stderr


def _outside_address() -> str | None:
    """An address of this machine that is not loopback (what another pod or container would connect to)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # no packet is sent: only picks the outgoing interface
            address = sock.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_console_listens_beyond_loopback_with_host(tmp_path: Path) -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    port = free_port()
    command = [str(APP_PYTHON), "-m", "bot", "console", "serve", "--host", "0.0.0.0", "--port", str(port)]
    server = ServerProcess("console-any", command, f"http://{address}:{port}/health", port,
                           env={"BOT_DATABASE": str(tmp_path / "bot.db")}, startup_timeout=90.0)
    with server:
        assert server.healthy()
    # without --host it stays on 127.0.0.1
    port = free_port()
    command = [str(APP_PYTHON), "-m", "bot", "console", "serve", "--port", str(port)]
    with ServerProcess("console-local", command, f"http://127.0.0.1:{port}/health", port,
                       env={"BOT_DATABASE": str(tmp_path / "bot.db")}, startup_timeout=90.0):
        with socket.socket() as sock:
            sock.settimeout(1.0)
            assert sock.connect_ex((address, port)) != 0


def test_footprint_measures_cpu_and_memory_of_a_busy_process() -> None:
    script = (
        "import sys, time\n"
        "sys.stdin.readline()\n"
        "block = bytearray(64 << 20)\n"
        "end = time.process_time() + 0.6\n"
        "while time.process_time() < end: pass\n"
        "print('done', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    busy = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert busy.stdin is not None and busy.stdout is not None
    try:
        usage = ProcessUsage("busy", busy.pid)

        def load() -> None:
            busy.stdin.write("go\n")
            busy.stdin.flush()
            assert busy.stdout.readline().strip() == "done"
            time.sleep(0.6)  # a few RSS samples of the full block

        seconds = measure_while([usage], load)
        row = usage.as_dict(messages=10, seconds=seconds)
        assert 0.55 < usage.cpu_used < 5
        assert row["rss_peak_mb"] >= 64 > row["rss_idle_mb"]
        assert row["cpu_ms_per_msg"] == pytest.approx(1000 * usage.cpu_used / 10, abs=0.01)
    finally:
        busy.kill()
        busy.wait()


def _flags(argv: list[str]) -> set[str]:
    return {arg for arg in argv if arg.startswith("--")}


def _help(argv: list[str]) -> str:
    result = subprocess.run([*argv, "--help"], cwd=PROJECT_ROOT, env=base_env(), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_container_commands_use_options_the_servers_know() -> None:
    """Every option in the images' commands and the manifests' args exists in the server it starts."""
    try:
        from dockerfile_parse import DockerfileParser
    except ImportError:
        missing("dockerfile-parse is not installed (requirements/app.txt)")
    commands: dict[str, list[str]] = {}
    for name in ("rasa", "app"):
        structure = DockerfileParser(path=str(PROJECT_ROOT / "deploy" / "docker" / f"{name}.Dockerfile")).structure
        commands[name] = json.loads([i["value"] for i in structure if i["instruction"] == "CMD"][-1])
    console = yaml.safe_load((PROJECT_ROOT / "deploy" / "docker-compose.yml").read_text())["services"]["console"]
    k8s_console = next(yaml.safe_load_all((PROJECT_ROOT / "deploy" / "k8s" / "50-console.yaml").read_text()))
    assert console["command"] == k8s_console["spec"]["template"]["spec"]["containers"][0]["args"]
    rasa = commands["rasa"]
    assert rasa[:2] == ["rasa", "run"]
    rasa_help = _help([str(PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"), "run"])
    for flag in _flags(rasa) | {"--enable-api", "--auth-token"}:  # the last two: added by bot.preflight
        assert re.search(rf"(^|[\s,]){flag}\b", rasa_help, re.MULTILINE), f"rasa run has no {flag}"
    actions = commands["app"]
    assert actions[:3] == ["python", "-m", "rasa_sdk"]
    actions_help = _help([str(APP_PYTHON), "-m", "rasa_sdk"])
    console_help = _help([str(APP_PYTHON), "-m", "bot", "console", "serve"])
    for flags, text in ((_flags(actions), actions_help), (_flags(console["command"]), console_help)):
        for flag in flags:
            assert re.search(rf"(^|[\s,]){flag}\b", text, re.MULTILINE), f"no {flag}"
    assert "--actions" in _flags(actions) and "--host" in _flags(console["command"])
