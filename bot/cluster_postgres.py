"""A private PostgreSQL for the cluster profile: one data directory, localhost only, kept across restarts.

Kept apart from the rest of the cluster code on purpose: the project's database layer brings its own starter
(bot/pgserver.py), and this class has the same shape (data_dir, port, start/stop, url) so one can replace the other.

We often run as root, and PostgreSQL refuses to: the server and initdb then run as the `postgres` user (the Debian
package creates it). The postmaster is our direct child (no pg_ctl daemon), so it stops with the runner and never
outlives it; it is asked to stop with SIGINT ("fast" shutdown: open sessions are ended, data is flushed).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from bot.pgserver import find_bin_dir
from bot.processes import ServerProcess, StackError, base_env, free_port

DATABASES = ("tthc", "rasa")  # the project's own tables (DATABASE_URL), Rasa's conversations (tracker store)
SERVICE_USER = "postgres"


def postgres_bin(name: str) -> str | None:
    """A PostgreSQL program, from the folder the test fixtures use too (bot.pgserver.find_bin_dir)."""
    folder = find_bin_dir()
    if folder is not None and (folder / name).exists():
        return str(folder / name)
    return shutil.which(name)


def _service_user() -> str | None:
    """The account PostgreSQL runs as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise StackError("PostgreSQL refuses to run as root and there is no `postgres` user "
                         "(apt-get install postgresql creates it)") from None
    return SERVICE_USER


class LocalPostgres(ServerProcess):
    """PostgreSQL on 127.0.0.1:`port` with its data in `data_dir` (initialised on first start, trust auth on
    localhost only: the cluster profile is a single-machine setup; deploy/ uses an external PostgreSQL)."""

    def __init__(self, data_dir: Path, port: int | None = None, log_path: Path | None = None):
        postgres = postgres_bin("postgres")
        if postgres is None or postgres_bin("initdb") is None:
            raise StackError("PostgreSQL is not installed (apt-get install postgresql)")
        port = port or free_port()
        self.data_dir = Path(data_dir).resolve()
        self.user = _service_user()
        super().__init__(
            name="postgresql",
            command=[postgres, "-D", str(self.data_dir), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
                     "-c", "unix_socket_directories=", "-c", "max_connections=200", "-c", "fsync=on"],
            health_url="",
            port=port,
            log_path=log_path,
            startup_timeout=60.0,
            run_as=self.user,
        )

    # ----- life cycle ---------------------------------------------------------------------------------
    def start(self) -> "LocalPostgres":
        self._initdb()
        super().start()
        return self

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return  # an existing cluster: conversations survive restarts
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self._own(self.data_dir)
        done = subprocess.run(
            [postgres_bin("initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C.UTF-8"],
            user=self.user, group=self.user, env=base_env(), capture_output=True, text=True, cwd="/",
        )
        if done.returncode != 0:
            raise StackError(f"initdb failed ({done.returncode}): {done.stderr.strip()[-800:]}")

    def _own(self, path: Path) -> None:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def healthy(self) -> bool:
        """One probe: the server accepts connections (pg_isready)."""
        ready = postgres_bin("pg_isready")
        if ready is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0):
                    return True
            except OSError:
                return False
        done = subprocess.run([ready, "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                              capture_output=True, timeout=10)
        return done.returncode == 0

    def wait_healthy(self) -> None:
        super().wait_healthy()
        self.create_databases()

    def create_databases(self, names: tuple[str, ...] = DATABASES) -> None:
        psql = postgres_bin("psql")
        if psql is None:
            raise StackError("psql not found (apt-get install postgresql-client)")
        for name in names:
            base = [psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-tAc"]
            exists = subprocess.run([*base, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                                    capture_output=True, text=True, timeout=30)
            if exists.returncode != 0:
                raise StackError(f"psql failed: {exists.stderr.strip()}")
            if exists.stdout.strip() != "1":
                made = subprocess.run([*base, f'CREATE DATABASE "{name}"'], capture_output=True, text=True, timeout=60)
                if made.returncode != 0:
                    raise StackError(f"CREATE DATABASE {name} failed: {made.stderr.strip()}")

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown of the postmaster (it ends its own children), SIGKILL to the group if it hangs."""
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGINT)
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        super().stop()

    def database_url(self, database: str = "tthc", driver: str = "postgresql") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"
