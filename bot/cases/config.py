"""The `cases:` section of settings.yml, checked once with clear error messages."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.cases.codes import DEFAULT_PATTERNS, CodePatternError, DossierCodes
from bot.cases.models import Status
from bot.cases.verification import VERIFICATION_MODES

DEFAULT_FIELDS: dict[str, str] = {
    "code": "code",
    "procedure_code": "procedure.code",
    "procedure_name": "procedure.name",
    "applicant_name": "applicant.name",
    "phone": "applicant.phone",
    "id_number": "applicant.id_number",
    "status": "status",
    "received_at": "received_at",
    "due_at": "due_at",
    "channel": "channel",
    "agency": "agency",
    "missing_documents": "missing_documents",
    "note": "note",
    "events": "history",
}
DEFAULT_EVENT_FIELDS: dict[str, str] = {"at": "at", "status": "status", "note": "note"}


class CasesConfigError(ValueError):
    """The `cases:` settings are wrong; the message names the key."""


@dataclass(frozen=True)
class HttpRegistrySettings:
    base_url: str
    dossier_path: str = "/dossiers/{code}"
    token: str | None = None
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    timeout_seconds: float = 5.0
    retries: int = 2
    backoff_seconds: float = 0.5
    record_path: str = ""
    fields: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    event_fields: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_EVENT_FIELDS))
    status_map: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"HttpRegistrySettings(base_url={self.base_url!r}, timeout={self.timeout_seconds}, retries={self.retries})"


@dataclass(frozen=True)
class CasesConfig:
    registry: str = "sqlite"
    sqlite_path: Path | None = None
    http: HttpRegistrySettings | None = None
    verification: str = "phone_last4"
    max_failures: int = 5
    window_minutes: float = 15
    code_max_failures: int = 10
    code_window_minutes: float = 15
    code_daily_max_failures: int = 30  # 0 = no daily cap
    global_failures_per_minute: int = 30
    global_slowdown_seconds: float = 2.0
    code_patterns: tuple[dict[str, Any], ...] = DEFAULT_PATTERNS


def _number(raw: dict[str, Any], key: str, default: float, where: str, minimum: float = 0) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise CasesConfigError(f"{where}.{key}: must be a number >= {minimum}, got {value!r}")
    return value


def _mapping(raw: dict[str, Any], key: str, default: dict[str, str], where: str) -> dict[str, str]:
    value = raw.get(key)
    if value is None:
        return dict(default)
    if not isinstance(value, dict):
        raise CasesConfigError(f"{where}.{key}: must be a mapping")
    return {**default, **{str(k): str(v) for k, v in value.items()}}


def _http(raw: Any) -> HttpRegistrySettings:
    where = "cases.http"
    if not isinstance(raw, dict) or not raw.get("base_url"):
        raise CasesConfigError(f"{where}.base_url: required when cases.registry is 'http'")
    base_url = str(raw["base_url"]).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise CasesConfigError(f"{where}.base_url: must start with http:// or https://, got {base_url!r}")
    path = str(raw.get("dossier_path", "/dossiers/{code}"))
    if "{code}" not in path:
        raise CasesConfigError(f"{where}.dossier_path: must contain '{{code}}'")
    token = raw.get("token")
    token_env = raw.get("token_env")
    if not token and token_env:
        token = os.environ.get(str(token_env)) or None
    fields = _mapping(raw, "fields", DEFAULT_FIELDS, where)
    unknown = set(fields) - set(DEFAULT_FIELDS)
    if unknown:
        raise CasesConfigError(f"{where}.fields: unknown field(s) {sorted(unknown)}; known: {sorted(DEFAULT_FIELDS)}")
    status_map = {str(k): str(v) for k, v in (raw.get("status_map") or {}).items()}
    for remote, local in status_map.items():
        try:
            Status.parse(local)
        except ValueError as exc:
            raise CasesConfigError(f"{where}.status_map.{remote}: {exc}") from None
    return HttpRegistrySettings(
        base_url=base_url,
        dossier_path=path,
        token=str(token) if token else None,
        auth_header=str(raw.get("auth_header", "Authorization")),
        auth_scheme=str(raw.get("auth_scheme", "Bearer")),
        timeout_seconds=float(_number(raw, "timeout_seconds", 5.0, where, minimum=0.01)),
        retries=int(_number(raw, "retries", 2, where)),
        backoff_seconds=float(_number(raw, "backoff_seconds", 0.5, where)),
        record_path=str(raw.get("record_path") or ""),
        fields=fields,
        event_fields=_mapping(raw, "event_fields", DEFAULT_EVENT_FIELDS, where),
        status_map=status_map,
    )


def load_cases_config(section: dict[str, Any] | None, project_root: Path | None = None) -> CasesConfig:
    """Validate the `cases:` mapping; relative paths are taken from `project_root`."""
    raw = section or {}
    if not isinstance(raw, dict):
        raise CasesConfigError("cases: must be a mapping")
    kind = str(raw.get("registry", "sqlite"))
    if kind not in ("sqlite", "http"):
        raise CasesConfigError(f"cases.registry: must be 'sqlite' or 'http', got {kind!r}")
    mode = str(raw.get("verification", "phone_last4"))
    if mode not in VERIFICATION_MODES:
        raise CasesConfigError(f"cases.verification: must be one of {list(VERIFICATION_MODES)}, got {mode!r}")
    sqlite_path = None
    if raw.get("sqlite_path"):
        sqlite_path = Path(os.path.expanduser(str(raw["sqlite_path"])))
        if not sqlite_path.is_absolute() and project_root is not None:
            sqlite_path = project_root / sqlite_path
    limits = raw.get("rate_limit") or {}
    if not isinstance(limits, dict):
        raise CasesConfigError("cases.rate_limit: must be a mapping")
    patterns = raw.get("code_patterns") or DEFAULT_PATTERNS
    if not isinstance(patterns, (list, tuple)):
        raise CasesConfigError("cases.code_patterns: must be a list")
    try:
        DossierCodes(patterns)
    except CodePatternError as exc:
        raise CasesConfigError(str(exc)) from None
    return CasesConfig(
        registry=kind,
        sqlite_path=sqlite_path,
        http=_http(raw.get("http")) if kind == "http" else None,
        verification=mode,
        max_failures=int(_number(limits, "max_failures", 5, "cases.rate_limit", minimum=1)),
        window_minutes=float(_number(limits, "window_minutes", 15, "cases.rate_limit", minimum=0.1)),
        code_max_failures=int(_number(limits, "per_code_max_failures", 10, "cases.rate_limit", minimum=1)),
        code_window_minutes=float(_number(limits, "per_code_window_minutes", 15, "cases.rate_limit", minimum=0.1)),
        code_daily_max_failures=int(_number(limits, "per_code_daily_max_failures", 30, "cases.rate_limit")),
        global_failures_per_minute=int(
            _number(limits, "global_failures_per_minute", 30, "cases.rate_limit", minimum=1)
        ),
        global_slowdown_seconds=float(_number(limits, "global_slowdown_seconds", 2, "cases.rate_limit")),
        code_patterns=tuple(patterns),
    )
