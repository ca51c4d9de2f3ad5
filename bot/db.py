"""The project's own tables on SQLite (the embedded default) or PostgreSQL (`DATABASE_URL`), through one small layer.

Call sites keep the shape they had with `sqlite3`: `db.execute(sql, params)` with `?` placeholders returns rows
that answer `row["col"]` and `row[0]`; a statement outside `with db.transaction():` commits on its own. SQL must
be portable (ON CONFLICT, CASE, RETURNING; no SQLite-only functions). SQLAlchemy gives the engine, the connection
pool (pre-ping on PostgreSQL) and the dialect; Alembic (bot/migrations) owns the schema. Runs in both
environments (SQLAlchemy 1.4 is Rasa's pin), so nothing heavy is imported here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool, QueuePool, StaticPool

log = logging.getLogger(__name__)

HEAD_REVISION = "0006"  # the last file in bot/migrations/versions (tests check they agree)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK_ID = 7_316_016  # pg_advisory_xact_lock key: one migrator at a time across replicas


class DatabaseError(Exception):
    """The database failed (driver error, refused connection, exhausted pool); the driver's error is the cause.

    The message names the error class and SQLSTATE only: driver messages can quote values.
    """


def database_url(target: str | os.PathLike[str]) -> str:
    """A SQLAlchemy URL for a settings value: a URL as given, otherwise a SQLite file path (or ':memory:')."""
    text = str(target)
    if text.startswith("postgres://"):  # the scheme many hosting services hand out; SQLAlchemy wants postgresql
        return "postgresql://" + text[len("postgres://"):]
    if "://" in text:
        return text
    if text == ":memory:":
        return "sqlite://"
    return f"sqlite:///{Path(text)}"


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    return sa.engine.make_url(url).__repr__()


class Row(Sequence):
    """One result row: by position (`row[0]`) or by column name (`row["code"]`), like `sqlite3.Row`."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: tuple[Any, ...], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        return tuple(self._values) == (tuple(other) if isinstance(other, (Row, tuple)) else other)

    def __hash__(self) -> int:
        return hash(self._values)

    def keys(self) -> list[str]:
        return list(self._index)

    def __repr__(self) -> str:
        return f"Row({self._values!r})"


class Result:
    """What a statement returned, fetched at once (the connection goes back to the pool immediately)."""

    def __init__(self, columns: list[str], rows: list[tuple[Any, ...]], rowcount: int, lastrowid: int | None) -> None:
        index = {name: i for i, name in enumerate(columns)}
        self.rows = [Row(tuple(r), index) for r in rows]
        self.rowcount = rowcount
        self.lastrowid = lastrowid  # SQLite only; portable code uses RETURNING
        self._next = 0

    def fetchone(self) -> Row | None:
        if self._next >= len(self.rows):
            return None
        self._next += 1
        return self.rows[self._next - 1]

    def fetchall(self) -> list[Row]:
        rest, self._next = self.rows[self._next:], len(self.rows)
        return rest

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


_QUOTED_OR_MARK = re.compile(r"'(?:[^']|'')*'|\?|%")


@lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    """`?` placeholders to psycopg2's `%s` (a literal % doubled); question marks inside quotes stay."""
    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token.replace("%", "%%")

    return _QUOTED_OR_MARK.sub(swap, sql)


class Database:
    """A handle on the project database. Shared by threads; each statement borrows a pooled connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name  # "sqlite" | "postgresql"
        self._driver_error: type[BaseException] = engine.dialect.dbapi.Error
        self._local = threading.local()

    # --- statements -----------------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement; outside a transaction it commits on its own."""
        with self._connection() as raw:
            return self._run(raw, sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Result:
        batch = [tuple(r) for r in rows]
        if not batch:
            return Result([], [], 0, None)
        with self._connection() as raw:
            return self._run(raw, sql, batch, many=True)

    @contextmanager
    def transaction(self) -> Iterator["Database"]:
        """All statements of this thread inside the block commit together, or none (explicit BEGIN/COMMIT).

        SQLite takes the write lock at BEGIN (IMMEDIATE), so a read-then-write inside cannot race another
        process; on PostgreSQL use `lock(name)` for the same guarantee. A nested block joins the outer one.
        """
        if getattr(self._local, "conn", None) is not None:
            yield self
            return
        with self._connection() as raw:
            self._local.conn = raw
            try:
                self._run(raw, "BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN", ())
                yield self
            except BaseException:
                try:
                    self._run(raw, "ROLLBACK", ())
                except DatabaseError:
                    raw.invalidate()  # unknown state: never hand it to the next borrower
                raise
            else:
                self._run(raw, "COMMIT", ())
            finally:
                self._local.conn = None

    def lock(self, name: str) -> None:
        """Serialise a critical section across processes until the current transaction ends.

        PostgreSQL: a transaction-scoped advisory lock on a 64-bit hash of `name`. SQLite: nothing to do,
        `transaction()` already holds the database's write lock.
        """
        if self.dialect != "postgresql":
            return
        if getattr(self._local, "conn", None) is None:
            raise RuntimeError("Database.lock() needs an open transaction()")
        key = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)
        self.execute("SELECT pg_advisory_xact_lock(?)", (key,))

    def string_agg(self, expression: str, separator: str) -> str:
        """SQL for the values of `expression` joined by `separator` (NULLs skipped), in either dialect."""
        quoted = "'" + separator.replace("'", "''") + "'"
        function = "STRING_AGG" if self.dialect == "postgresql" else "GROUP_CONCAT"
        return f"{function}({expression}, {quoted})"

    def close(self) -> None:
        """Nothing to release: connections go back to the process's pool after each statement."""

    def dispose(self) -> None:
        """Close every pooled connection of this database (tests, shutdown)."""
        _forget(self.engine)
        self.engine.dispose()

    # --- plumbing -----------------------------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[Any]:
        held = getattr(self._local, "conn", None)
        if held is not None:
            yield held
            return
        try:
            raw = self.engine.raw_connection()
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot connect ({exc.__class__.__name__})") from exc
        try:
            yield raw
        finally:
            raw.close()  # back to the pool

    def _run(self, raw: Any, sql: str, params: Any, many: bool = False) -> Result:
        if self.dialect == "postgresql":
            sql = _pyformat(sql)
        cursor = raw.cursor()
        try:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
            columns = [d[0] for d in cursor.description] if cursor.description else []
            rows = cursor.fetchall() if cursor.description else []
            return Result(columns, rows, cursor.rowcount, getattr(cursor, "lastrowid", None))
        except self._driver_error as exc:
            code = getattr(exc, "pgcode", None) or getattr(exc, "sqlite_errorname", None) or ""
            raise DatabaseError(f"{exc.__class__.__name__} {code}".strip()) from exc
        finally:
            cursor.close()


# --- engines: one per database and process ------------------------------------------------------------------
_engines: dict[tuple[int, str, int], Engine] = {}
_engines_lock = threading.Lock()


def _sqlite_identity(url: str) -> int:
    """The file's inode: a file deleted and made again is another database (tests do that)."""
    database = sa.engine.make_url(url).database
    if not database:
        return 0
    try:
        return os.stat(database).st_ino
    except OSError:
        return -1


def _forget(engine: Engine) -> None:
    with _engines_lock:
        for key, known in list(_engines.items()):
            if known is engine:
                del _engines[key]


def dispose_all() -> None:
    """Close the pooled connections of every database this process opened (tests, shutdown)."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()


def create_engine(url: str) -> Engine:
    """A pooled engine: SQLite in WAL mode with foreign keys on; PostgreSQL with a small pool and pre-ping."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = not parsed.database or parsed.database == ":memory:"
        if not memory:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, future=True, poolclass=StaticPool if memory else QueuePool,
            connect_args={"timeout": 10, "check_same_thread": False, "isolation_level": None},
            **({} if memory else {"pool_size": 4, "max_overflow": 8}),
            pool_reset_on_return=None,  # statements commit on their own; transaction() ends what it begins
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    engine = sa.create_engine(
        url, future=True, pool_size=int(os.environ.get("DATABASE_POOL_SIZE", "4")), max_overflow=4,
        pool_pre_ping=True, pool_recycle=1800, pool_timeout=10,
        connect_args={"connect_timeout": 5, "application_name": "tthc-assistant"},
    )

    @event.listens_for(engine, "connect")
    def _autocommit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.autocommit = True  # one statement, one commit; transaction() sends BEGIN/COMMIT itself

    return engine


def open_database(target: str | os.PathLike[str]) -> Database:
    """The database at `target` (SQLite path, ':memory:' or a URL), created if needed and migrated to the head.

    The engine (and its pool) is made once per process and database, so opening per request is cheap.
    """
    url = database_url(target)
    is_sqlite = url.startswith("sqlite")
    key = (os.getpid(), url, _sqlite_identity(url) if is_sqlite else 0)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = create_engine(url)
            try:
                from bot.migrations.runner import upgrade

                upgrade(engine)
            except SQLAlchemyError as exc:
                engine.dispose()
                raise DatabaseError(f"cannot open {redacted(url)} ({exc.__class__.__name__})") from exc
            # a SQLite file made just now has an inode only now
            key = (os.getpid(), url, _sqlite_identity(url) if is_sqlite else 0)
            _engines[key] = engine
    return Database(engine)


def migration_engine(engine: Engine) -> Engine:
    """Migrations run on their own short-lived connection with the driver's default transaction handling."""
    if engine.url.get_backend_name() == "sqlite" and (not engine.url.database or engine.url.database == ":memory:"):
        return engine  # an in-memory database exists only on the engine's one connection
    return sa.create_engine(engine.url, future=True, poolclass=NullPool)


def migration_lock_sql(dialect: str) -> str:
    """First statement of a migration run: SQLite takes the write lock, PostgreSQL an advisory lock."""
    if dialect == "sqlite":
        return "BEGIN IMMEDIATE"
    return f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})"
