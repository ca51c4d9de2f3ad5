"""A private PostgreSQL server on localhost: tests and `make run-cluster` start one from Debian's binaries.

`PostgresServer(data_dir, port).start()` runs `initdb` (first time only: trust authentication, local TCP only,
UTF-8) and `pg_ctl start`, creates the database and gives `.url`; `.stop()` shuts it down. PostgreSQL refuses to
run as root, so when we are root every command runs as the `postgres` user (`runuser`) and the data folder is
handed to it. Standard library only.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

DEBIAN_PACKAGE = "postgresql"  # apt-get install postgresql (Debian 12: PostgreSQL 15)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries are missing or the server would not start; the message says what to do."""


def find_bin_dir() -> Path | None:
    """Folder with initdb/pg_ctl: $PG_BIN, then Debian's /usr/lib/postgresql/<newest>/bin, then PATH."""
    candidates: list[str] = []
    if os.environ.get("PG_BIN"):
        candidates.append(os.environ["PG_BIN"])
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name) if
                      Path(p).parent.name.isdigit() else 0, reverse=True)
    candidates += versions
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port` only."""

    def __init__(self, data_dir: str | os.PathLike[str], port: int | None = None, database: str = "tthc",
                 durable: bool = True, bin_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.database = database
        self.durable = durable  # False (tests): fsync off, faster, loses data on a machine crash
        self.bin_dir = bin_dir or find_bin_dir()
        self._as_postgres = os.geteuid() == 0
        self.log_file = self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self.bin_dir is not None
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/")
        if check and done.returncode != 0:
            raise PostgresUnavailable(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        return done

    def _hand_over(self, path: Path) -> None:
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(path, user.pw_uid, user.pw_gid)

    def start(self) -> "PostgresServer":
        if self.bin_dir is None:
            raise PostgresUnavailable(f"PostgreSQL binaries not found: apt-get install {DEBIAN_PACKAGE} (or set PG_BIN)")
        if self._as_postgres:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and no `postgres` user to run PostgreSQL as") from None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.data_dir)
        self.log_file.touch()
        self._hand_over(self.log_file)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-instructions")
        options = f"-p {self.port} -h 127.0.0.1 -k {self.data_dir} -c max_connections=100"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options, "-w", "-t", "60",
                  "start")
        exists = self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                           "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'")
        if exists.stdout.strip() != "1":
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.database)
        return self

    def create_database(self, name: str) -> str:
        """Another empty database in this cluster; returns its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def running(self) -> bool:
        return self.bin_dir is not None and self._run("pg_ctl", "-D", str(self.data_dir), "status",
                                                      check=False).returncode == 0

    def stop(self) -> None:
        if self.running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop", check=False)

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
