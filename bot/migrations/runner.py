"""Bring a database to the head revision: Alembic, driven from code (no alembic.ini), safe for concurrent starts.

A SQLite file made before Alembic (issue 16) carries `schema_version` rows 1..5 (bot/storage.py LEGACY_MIGRATIONS):
its version is stamped as the matching revision ("0001".."0005") and only the later revisions run, so nothing
in it is lost. Several replicas starting at once take turns: SQLite's write lock or a PostgreSQL advisory lock
is held for the whole run, and the current revision is read again under it.
"""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from bot.db import HEAD_REVISION, MIGRATIONS_DIR, migration_engine, migration_lock_sql


logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin at every start


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def legacy_version(connection: Connection) -> int:
    """The pre-Alembic schema version of this database (0: none)."""
    if not inspect(connection).has_table("schema_version"):
        return 0
    return int(connection.exec_driver_sql("SELECT MAX(version) FROM schema_version").scalar() or 0)


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Migrate to the head; returns the revision. Cheap when already there (one SELECT)."""
    runner = migration_engine(engine)
    try:
        with runner.connect() as connection:
            if current_revision(connection) == HEAD_REVISION:
                connection.rollback()
                return HEAD_REVISION
            connection.rollback()
            connection.exec_driver_sql(migration_lock_sql(engine.dialect.name))
            revision = current_revision(connection)
            config = alembic_config(connection)
            if revision is None:
                legacy = legacy_version(connection)
                if legacy:
                    command.stamp(config, f"{legacy:04d}")
            if revision != HEAD_REVISION:
                command.upgrade(config, "head")
            connection.commit()
        return HEAD_REVISION
    finally:
        if runner is not engine:
            runner.dispose()
