"""The `subscriptions:` section of settings.yml, with defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT, Settings, SettingsError


def _clock(value: Any, field: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise SettingsError(f"settings.yml: subscriptions.{field}: expected HH:MM, got {value!r}") from None


@dataclass(frozen=True)
class SubscriptionsConfig:
    watcher: bool = True
    poll_seconds: float = 300.0
    tick_seconds: float = 2.0
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(7, 0)
    keep_days_after_completion: int = 30
    zalo_window_days: int = 7
    max_attempts: int = 6
    backoff_seconds: float = 30.0
    key_file: Path = PROJECT_ROOT / "var" / "subscriptions.key"
    events_secret_env: str = "REGISTRY_EVENTS_SECRET"
    handoff_minutes: int = 10
    bot_username_env: str = "TELEGRAM_BOT_USERNAME"


def load_subscriptions_config(settings: Settings) -> SubscriptionsConfig:
    """Read `subscriptions:`; a wrong value fails loudly with its field name."""
    raw = settings.section("subscriptions")
    quiet = raw.get("quiet_hours", {"start": "21:00", "end": "07:00"})
    retry = raw.get("retry") or {}
    key_file = Path(str(raw.get("key_file") or "var/subscriptions.key"))
    try:
        return SubscriptionsConfig(
            watcher=bool(raw.get("watcher", True)),
            poll_seconds=float(raw.get("poll_minutes", 5)) * 60,
            tick_seconds=float(raw.get("tick_seconds", 2)),
            quiet_start=_clock(quiet["start"], "quiet_hours.start") if quiet else None,
            quiet_end=_clock(quiet["end"], "quiet_hours.end") if quiet else None,
            keep_days_after_completion=int(raw.get("keep_days_after_completion", 30)),
            zalo_window_days=int(raw.get("zalo_window_days", 7)),
            max_attempts=int(retry.get("max_attempts", 6)),
            backoff_seconds=float(retry.get("backoff_seconds", 30)),
            key_file=key_file if key_file.is_absolute() else PROJECT_ROOT / key_file,
            events_secret_env=str(raw.get("registry_events_secret_env") or "REGISTRY_EVENTS_SECRET"),
            handoff_minutes=int(raw.get("phone_handoff_minutes", 10)),
            bot_username_env=str(raw.get("telegram_bot_username_env") or "TELEGRAM_BOT_USERNAME"),
        )
    except (TypeError, ValueError, KeyError) as exc:
        raise SettingsError(f"settings.yml: subscriptions: {exc}") from None
