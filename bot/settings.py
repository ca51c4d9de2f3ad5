"""Deployment settings: `settings.yml` at the project root, overridable by environment.

Only PyYAML and the standard library are used here because both Python
environments (Rasa 3.10 and app 3.11) import this module.

Lookup order for the file: `$BOT_SETTINGS`, then `<project root>/settings.yml`.
Each component reads its own section (`settings.section("retrieval")`) so a
component's options live next to the code that uses them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Environment variables that override a top-level setting.
ENV_OVERRIDES: dict[str, str] = {
    "BOT_KNOWLEDGE_DIR": "knowledge_dir",
    "BOT_CATALOG": "catalog",
    "BOT_DATABASE": "database",
    "DATABASE_URL": "database_url",
    "BOT_INDEX_DIR": "index_dir",
}

DEFAULTS: dict[str, Any] = {
    "knowledge_dir": "knowledge",
    "catalog": None,
    "database": "var/bot.db",
    "database_url": None,
    "index_dir": "var/index",
}


class SettingsError(ValueError):
    """The settings file cannot be read or has a wrong shape."""


@dataclass(frozen=True)
class Settings:
    """Resolved settings; paths are absolute."""

    raw: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def _path(self, key: str) -> Path | None:
        value = self.raw.get(key)
        if value in (None, ""):
            return None
        path = Path(os.path.expanduser(str(value)))
        return path if path.is_absolute() else PROJECT_ROOT / path

    @property
    def knowledge_dir(self) -> Path:
        return self._path("knowledge_dir") or PROJECT_ROOT / "knowledge"

    @property
    def catalog(self) -> Path | None:
        return self._path("catalog")

    @property
    def database(self) -> Path:
        return self._path("database") or PROJECT_ROOT / "var" / "bot.db"

    @property
    def database_url(self) -> str | None:
        """PostgreSQL for the project's own tables (postgresql://user:pass@host:port/db); None: SQLite."""
        value = self.raw.get("database_url")
        return str(value).strip() or None if value else None

    @property
    def database_target(self) -> str | Path:
        """What `bot.storage.open_database` opens: `database_url` when set, otherwise the SQLite file."""
        raw = str(self.raw.get("database") or "")
        return self.database_url or (raw if "://" in raw else self.database)  # a URL given as `database` works too

    @property
    def index_dir(self) -> Path:
        return self._path("index_dir") or PROJECT_ROOT / "var" / "index"

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name) or {}
        if not isinstance(value, dict):
            raise SettingsError(f"{self.source}: {name}: must be a mapping")
        return value


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read settings from `path`, `$BOT_SETTINGS` or the project's settings.yml."""
    chosen = path or os.environ.get("BOT_SETTINGS") or PROJECT_ROOT / "settings.yml"
    file_path = Path(chosen)
    raw: dict[str, Any] = dict(DEFAULTS)
    if file_path.exists():
        try:
            loaded = yaml.safe_load(file_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"{file_path}: YAML error: {exc}") from exc
        if not isinstance(loaded, dict):
            raise SettingsError(f"{file_path}: must be a mapping at top level")
        raw.update(loaded)
    elif path is not None or os.environ.get("BOT_SETTINGS"):
        raise SettingsError(f"{file_path}: settings file not found")
    for env_name, key in ENV_OVERRIDES.items():
        if env_name in os.environ:  # set but empty: back to the default (BOT_CATALOG= → no catalogue)
            raw[key] = os.environ[env_name] or DEFAULTS[key]
    return Settings(raw=raw, source=file_path)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (read once)."""
    return load_settings()
