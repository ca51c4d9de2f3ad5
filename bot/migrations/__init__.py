"""Alembic migrations of the project's own tables (bot/db.py); `runner.upgrade` applies them."""
