"""Start, health-check and stop the two servers: the Rasa server (.venv-rasa) and the action server (.venv).

Used by `python -m bot run` (behind `make run`) and by the end-to-end tests, so both start the stack the same
way. Children get their own process group and are asked to die with their parent (PR_SET_PDEATHSIG), so a killed
runner never leaves a server listening.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot.settings import PROJECT_ROOT, get_settings

RASA_BIN = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
APP_PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
DEFAULT_MODEL = PROJECT_ROOT / "models" / "tthc.tar.gz"
_PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """A server did not start or did not become healthy."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.setdefault("PYTHONUNBUFFERED", "1")
    # the venvs' own interpreters must not pick up the caller's virtualenv
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONHOME", None)
    # this checkout's code first, whatever checkout the environments were installed from (editable install)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    if extra:
        env.update({k: str(v) for k, v in extra.items()})
    return env


@dataclass
class ServerProcess:
    """One server subprocess with a health URL; usable as a context manager."""

    name: str
    command: list[str]
    health_url: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    # a loaded shared machine can need longer to load the model: BOT_STARTUP_TIMEOUT (seconds)
    startup_timeout: float = field(default_factory=lambda: float(os.environ.get("BOT_STARTUP_TIMEOUT", "180")))
    process: subprocess.Popen[bytes] | None = None
    run_as: str | None = None  # user (and group) to run as, e.g. `postgres` when we are root
    _log_file: Any = None

    def start(self) -> "ServerProcess":
        if port_in_use(self.port):
            raise StackError(f"{self.name}: port {self.port} is already in use")
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            env=base_env(self.env),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            user=self.run_as,
            group=self.run_as,
        )
        return self

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise StackError(f"{self.name} exited with code {self.process.returncode}:\n{self.log_tail()}")
            if self.healthy():
                return
            time.sleep(0.5)
        raise StackError(f"{self.name} not healthy after {self.startup_timeout:.0f}s:\n{self.log_tail()}")

    def healthy(self) -> bool:
        """One health probe: the health URL answers 200."""
        try:
            return httpx.get(self.health_url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
            except ProcessLookupError:
                pass
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> "ServerProcess":
        self.start()
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class ActionServer(ServerProcess):
    """rasa-sdk action server on Python 3.11 serving `actions/`."""

    def __init__(self, port: int | None = None, env: dict[str, str] | None = None, log_path: Path | None = None):
        port = port or free_port()
        super().__init__(
            name="action-server",
            command=[str(APP_PYTHON), "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)],
            health_url=f"http://127.0.0.1:{port}/health",
            port=port,
            env={"SANIC_HOST": "127.0.0.1", **(env or {})},
            log_path=log_path,
        )

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhook"


class ConsoleServer(ServerProcess):
    """The staff console (issue 17, bot/console/) on Python 3.11, health at /health."""

    def __init__(self, port: int | None = None, env: dict[str, str] | None = None, log_path: Path | None = None):
        port = port or free_port()
        super().__init__(
            name="staff-console",
            command=[str(APP_PYTHON), "-m", "bot", "console", "serve", "--port", str(port)],
            health_url=f"http://127.0.0.1:{port}/health",
            port=port,
            env=env or {},
            log_path=log_path,
            startup_timeout=60.0,
        )


class RedisServer(ServerProcess):
    """A private Redis for Rasa's worker processes: localhost only, memory only (nothing written to disk)."""

    def __init__(self, binary: str, port: int | None = None, log_path: Path | None = None):
        port = port or free_port()
        super().__init__(
            name="redis",
            command=[binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--protected-mode", "yes", "--daemonize", "no"],
            health_url="",
            port=port,
            log_path=log_path,
            startup_timeout=20.0,
        )

    def healthy(self) -> bool:
        """One health probe: Redis answers PING."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@dataclass(frozen=True)
class Scaling:
    """How many Rasa worker processes to run, and the Redis binary that lets them share conversations."""

    workers: int
    redis_binary: str | None
    note: str


def rasa_scaling(requested: int | str | None = None) -> Scaling:
    """Workers from `requested` (or settings.yml `server.workers`).

    "auto" = one per CPU core, at most 4. Measured on 2 cores with `make bench-chat`, 20 citizens: 1 worker
    54–62 msg/s (p95 445–493 ms), 2 workers 62–72 msg/s (p95 397–440 ms); a single citizen waits a few ms more with
    2 (p95 39 ms against 33 ms): sharing conversations through Redis costs part of what the second core brings.

    More than one worker needs redis-server (shared conversations and per-conversation locks); without it the
    server runs one worker and the note says why.
    """
    section = get_settings().section("server")
    value = requested if requested is not None else section.get("workers", "auto")
    if str(value).strip().lower() == "auto":
        workers = max(1, min(os.cpu_count() or 1, 4))
    else:
        try:
            workers = int(value)
        except (TypeError, ValueError):
            raise StackError(f"server.workers must be a positive number or auto, not {value!r}") from None
        if workers < 1:
            raise StackError(f"server.workers must be a positive number or auto, not {value!r}")
    if workers == 1:
        return Scaling(1, None, "1 Rasa worker")
    binary = shutil.which(str(section.get("redis_server") or "redis-server"))
    if binary is None:
        return Scaling(1, None, f"1 Rasa worker: {workers} need redis-server (apt-get install redis-server), not found")
    return Scaling(workers, binary, f"{workers} Rasa workers sharing conversations through redis-server")


def scaled_endpoints(endpoints: Path | None, actions_url: str | None, redis_port: int) -> Path:
    """The endpoints file for several workers: Redis lock store and the redacting Redis tracker store."""
    data: dict[str, Any] = {}
    if endpoints is not None:
        data = yaml.safe_load(endpoints.read_text(encoding="utf-8")) or {}
    if actions_url:
        data["action_endpoint"] = {"url": actions_url}
    # same expiry as the one-worker store in endpoints.yml
    record_exp = (data.get("tracker_store") or {}).get("record_exp", 86400)
    data["lock_store"] = {"type": "redis", "url": "127.0.0.1", "port": redis_port, "db": 1}
    data["tracker_store"] = {
        "type": "bot.tracker_store.RedactingRedisTrackerStore",
        "url": "127.0.0.1",
        "port": redis_port,
        "db": 0,
        "record_exp": record_exp,
    }
    return write_yaml_temp(data, "endpoints-scaled-")


def write_yaml_temp(data: dict[str, Any], prefix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".yml")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, allow_unicode=True)
    return Path(name)


class RasaServer(ServerProcess):
    """Rasa 3.6 server (Python 3.10) with the channels in `credentials` and, unless `enable_api` is false,
    the HTTP API (token-protected when `auth_token` is given)."""

    def __init__(
        self,
        model: Path | str = DEFAULT_MODEL,
        actions_url: str | None = None,
        port: int | None = None,
        credentials: dict[str, Any] | Path | None = None,
        endpoints: Path | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        workers: int = 1,
        redis_port: int | None = None,
        enable_api: bool = True,
        auth_token: str | None = None,
    ):
        port = port or free_port()
        env = dict(env or {})
        if workers > 1:
            if redis_port is None:
                raise StackError("several Rasa workers need a Redis port (RedisServer)")
            endpoints = scaled_endpoints(endpoints, actions_url, redis_port)
            env["SANIC_WORKERS"] = str(workers)
        elif endpoints is None:
            # the production tracker store (endpoints.yml): conversations stored redacted
            endpoint_data: dict[str, Any] = {"tracker_store": {"type": "bot.tracker_store.RedactingTrackerStore"}}
            if actions_url:
                endpoint_data["action_endpoint"] = {"url": actions_url}
            endpoints = write_yaml_temp(endpoint_data, "endpoints-")
        if credentials is None:
            credentials = {"bot.channels.rest.RestInput": None}
        if isinstance(credentials, dict):
            credentials = write_yaml_temp(credentials, "credentials-")
        api: list[str] = []
        health = f"http://127.0.0.1:{port}/"  # Rasa's root route; it listens once the model is loaded
        if enable_api:
            api = ["--enable-api"] + (["--auth-token", auth_token] if auth_token else [])
            health = f"http://127.0.0.1:{port}/status" + (f"?token={auth_token}" if auth_token else "")
        super().__init__(
            name="rasa-server",
            command=[
                str(RASA_BIN), "run", *api, "-i", "127.0.0.1", "-p", str(port),
                "-m", str(model), "--endpoints", str(endpoints), "--credentials", str(credentials),
            ],
            health_url=health,
            port=port,
            env=env,
            log_path=log_path,
        )
        self.workers = workers
        self.auth_token = auth_token

    def rest(self, sender: str, message: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Send one message through the REST channel; returns the bot's messages."""
        response = httpx.post(
            f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=timeout
        )
        response.raise_for_status()
        return list(response.json())


def python_exe_note() -> str:
    return f"{sys.executable} ({sys.version.split()[0]})"
