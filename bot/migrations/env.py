"""Alembic environment: always online, on the connection `bot.migrations.runner` passes in."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through bot.migrations.runner.upgrade (or `python -m bot db upgrade`)")
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
