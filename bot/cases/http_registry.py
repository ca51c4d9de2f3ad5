"""A one-stop-shop system's REST API as a dossier registry (httpx, retries, JSON field mapping).

The remote JSON is turned into a `Dossier` through dotted paths from settings
(`cases.http.fields`), and remote status values through `cases.http.status_map`.
The full phone / ID number the API may return is cut to its last four digits here
and goes no further.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime
from typing import Any, Callable
from urllib.parse import quote

import httpx

from bot.cases.config import HttpRegistrySettings
from bot.cases.models import VIETNAM_TZ, Dossier, DossierEvent, Status
from bot.cases.registry import CaseRegistry, RegistryUnavailable

logger = logging.getLogger(__name__)

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def _path(data: Any, dotted: str) -> Any:
    """data['a']['b'] for 'a.b'; None when any step is missing."""
    if not dotted:
        return data
    for part in dotted.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 or the Vietnamese 'dd/mm/yyyy[ HH:MM[:SS]]'; naive times are Vietnam time."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    match = _DMY.match(text)
    if match:
        day, month, year, hour, minute, second = match.groups()
        parsed = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    else:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=VIETNAM_TZ)


def _last4(value: Any) -> str:
    digits = re.sub(r"\D", "", str(value or ""))
    return digits[-4:] if len(digits) >= 4 else ""


class HttpCaseRegistry(CaseRegistry):
    """GET <base_url><dossier_path> with a bearer token; 404 means no such dossier."""

    kind = "http"

    def __init__(
        self,
        settings: HttpRegistrySettings,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        headers = {"Accept": "application/json"}
        if settings.token:
            headers[settings.auth_header] = f"{settings.auth_scheme} {settings.token}".strip()
        self._client = httpx.Client(
            base_url=settings.base_url,
            headers=headers,
            timeout=settings.timeout_seconds,
            transport=transport,
            follow_redirects=False,
        )
        self._sleep = sleep

    def get(self, code: str) -> Dossier | None:
        response = self._fetch(code)
        if response.status_code == 404:
            return None
        try:
            payload = response.json()
        except ValueError as exc:
            raise RegistryUnavailable("http registry: answer is not JSON") from exc
        record = _path(payload, self.settings.record_path)
        if not record:
            return None
        return self._to_dossier(record, code)

    def _fetch(self, code: str) -> httpx.Response:
        url = self.settings.dossier_path.format(code=quote(code, safe=""))
        attempts = self.settings.retries + 1
        reason = "no attempt"
        for attempt in range(1, attempts + 1):
            try:
                response = self._client.get(url)
            except httpx.TimeoutException:
                reason = "timeout"
            except httpx.TransportError as exc:
                reason = f"transport error ({exc.__class__.__name__})"
            else:
                if response.status_code < 500:
                    if response.status_code == 200 or response.status_code == 404:
                        return response
                    # 401/403/429/...: retrying will not help; a configuration or quota problem
                    raise RegistryUnavailable(f"http registry: HTTP {response.status_code}")
                reason = f"HTTP {response.status_code}"
            logger.warning("cases http registry: %s (attempt %d/%d)", reason, attempt, attempts)
            if attempt < attempts and self.settings.backoff_seconds:
                self._sleep(self.settings.backoff_seconds * 2 ** (attempt - 1))
        raise RegistryUnavailable(f"http registry: {reason} after {attempts} attempt(s)")

    def _to_dossier(self, record: Any, requested_code: str) -> Dossier:
        f = self.settings.fields

        def value(name: str) -> Any:
            return _path(record, f[name])

        try:
            status = self._status(value("status"))
            received = parse_datetime(value("received_at"))
            if received is None:
                raise ValueError("received_at is missing")
            raw_events = value("events") or []
            if not isinstance(raw_events, list):
                raise ValueError("events is not a list")
            ef = self.settings.event_fields
            events = []
            for item in raw_events:
                at = parse_datetime(_path(item, ef["at"]))
                if at is None:
                    raise ValueError("an event has no time")
                note = _path(item, ef["note"])
                events.append(DossierEvent(at, self._status(_path(item, ef["status"])), str(note) if note else None))
            missing = value("missing_documents") or []
            if isinstance(missing, str):
                missing = [line.strip() for line in re.split(r"[;\n]", missing) if line.strip()]
            note = value("note")
            return Dossier(
                code=str(value("code") or requested_code),
                procedure_code=str(value("procedure_code") or ""),
                procedure_name=str(value("procedure_name") or "Thủ tục hành chính"),
                applicant_name=str(value("applicant_name") or ""),
                phone_last4=_last4(value("phone")),
                id_last4=_last4(value("id_number")),
                status=status,
                received_at=received,
                due_at=parse_datetime(value("due_at")),
                channel=str(value("channel") or "in_person"),
                agency=str(value("agency")) if value("agency") else None,
                missing_documents=tuple(str(m) for m in missing),
                note=str(note) if note else None,
                events=tuple(sorted(events, key=lambda e: e.at)),
            )
        except (ValueError, TypeError, KeyError) as exc:
            # the message names the field, never its value (it could be personal data)
            raise RegistryUnavailable(f"http registry: answer does not fit the field mapping: {exc}") from None

    def _status(self, raw: Any) -> Status:
        if raw in (None, ""):
            raise ValueError("status is missing")
        mapped = self.settings.status_map.get(str(raw), str(raw))
        try:
            return Status.parse(mapped)
        except ValueError:
            raise ValueError("status value is not in cases.http.status_map") from None

    def close(self) -> None:
        self._client.close()
