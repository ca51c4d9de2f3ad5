"""The deployment profile (development | production) and the input bounds every door applies.

Standard library + `bot.settings` only: read by the runner (.venv) and by the channels inside the
Rasa server (.venv-rasa). What each switch stops and what it does not: docs/security.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

from bot.privacy import DEFAULT_SALT
from bot.settings import Settings, get_settings

PROFILES = ("development", "production")
MIN_SECRET_CHARS = 16
REST_TOKEN_ENV = "BOT_REST_TOKEN"
API_TOKEN_ENV = "RASA_AUTH_TOKEN"
SALT_ENV = "BOT_PRIVACY_SALT"


class DeploymentError(ValueError):
    """The `deployment:` / `input_limits:` settings are wrong; the message names the key."""


@dataclass(frozen=True)
class Deployment:
    profile: str = "development"
    http_api: bool = True
    rest_channel: bool = True
    max_body_bytes: int = 65536
    max_message_chars: int = 2000

    @property
    def production(self) -> bool:
        return self.profile == "production"


def _positive_int(raw: Mapping[str, Any], key: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DeploymentError(f"input_limits.{key}: must be a whole number >= 1, got {value!r}")
    return value


def load_deployment(settings: Settings | None = None, environ: Mapping[str, str] | None = None) -> Deployment:
    """From settings.yml (`deployment:`, `input_limits:`); $BOT_PROFILE overrides the profile."""
    settings = settings or get_settings()
    env = os.environ if environ is None else environ
    raw = settings.section("deployment")
    limits = settings.section("input_limits")
    profile = str(env.get("BOT_PROFILE") or raw.get("profile") or "development").strip().lower()
    if profile not in PROFILES:
        raise DeploymentError(f"deployment.profile: must be one of {list(PROFILES)}, got {profile!r}")
    for key in ("http_api", "rest_channel"):
        if not isinstance(raw.get(key, True), bool):
            raise DeploymentError(f"deployment.{key}: must be true or false, got {raw.get(key)!r}")
    return Deployment(
        profile=profile,
        http_api=bool(raw.get("http_api", True)),
        rest_channel=bool(raw.get("rest_channel", True)),
        max_body_bytes=_positive_int(limits, "max_body_bytes", 65536),
        max_message_chars=_positive_int(limits, "max_message_chars", 2000),
    )


def secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    value = ((os.environ if environ is None else environ).get(name) or "").strip()
    return value or None


def production_problems(deployment: Deployment, environ: Mapping[str, str] | None = None) -> list[str]:
    """Why a production start must be refused (empty: fine). Development never has problems."""
    if not deployment.production:
        return []
    problems: list[str] = []
    salt = secret(SALT_ENV, environ)
    if salt is None or salt == DEFAULT_SALT or len(salt) < MIN_SECRET_CHARS:
        problems.append(
            f"{SALT_ENV} is unset, the public default or shorter than {MIN_SECRET_CHARS} characters: "
            "sender pseudonyms could be reversed"
        )
    for switch, env_name in (("http_api", API_TOKEN_ENV), ("rest_channel", REST_TOKEN_ENV)):
        if not getattr(deployment, switch):
            continue
        token = secret(env_name, environ)
        if token is None or len(token) < MIN_SECRET_CHARS:
            problems.append(
                f"deployment.{switch} is on but {env_name} is unset or shorter than {MIN_SECRET_CHARS} characters "
                f"(set it, or set deployment.{switch}: false)"
            )
    return problems


def describe(deployment: Deployment, environ: Mapping[str, str] | None = None) -> str:
    """One start-up line: the profile and what is open."""
    if not deployment.production:
        return (
            "profile: development (REST channel and Rasa HTTP API open without token, for 127.0.0.1 only; "
            "set deployment.profile: production to deploy)"
        )
    api = "on, token required" if deployment.http_api and secret(API_TOKEN_ENV, environ) else "off"
    rest = "on, token required" if deployment.rest_channel and secret(REST_TOKEN_ENV, environ) else "not mounted"
    return f"profile: production (Rasa HTTP API {api}; REST channel {rest})"
