"""Reads and validates `knowledge/services/`: every error as `file: field: message`, nothing partial."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.services.models import PaymentGuide, Services, VneidGuide, WardsNote

SERVICES_DIR = "services"
FILES: dict[str, type[BaseModel]] = {"payment": PaymentGuide, "vneid": VneidGuide, "wards": WardsNote}


class ServicesError(Exception):
    """`knowledge/services/` is invalid; `errors` lists every `file: field: message`."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__(f"invalid services knowledge: {len(errors)} error(s)\n" + "\n".join(errors))


def _parse(path: Path, model: type[BaseModel], today: dt.date) -> tuple[Any, list[str]]:
    from bot.knowledge.validator import display_path, pydantic_errors, read_yaml

    loaded = read_yaml(path)
    if loaded.errors:
        return None, loaded.errors
    name = display_path(path)
    if not isinstance(loaded.data, dict):
        return None, [f"{name}: (file): must be a mapping of fields"]
    try:
        parsed = model.model_validate(loaded.data)
    except ValidationError as exc:
        return None, pydantic_errors(name, exc, loaded.node)
    errors = [f"{name}: {field}: {message}" for field, message in _rules(parsed, today)]
    return (None if errors else parsed), errors


def _rules(parsed: BaseModel, today: dt.date) -> list[tuple[str, str]]:
    """What the schema cannot say: dates not in the future, ids unique within a file."""
    entries: list[tuple[str, Any]]
    if isinstance(parsed, PaymentGuide):
        entries = [(f"methods[{i}]", m) for i, m in enumerate(parsed.methods)]
    elif isinstance(parsed, VneidGuide):
        entries = [(f"tasks[{i}]", t) for i, t in enumerate(parsed.tasks)]
    else:
        entries = [("", parsed)]
    found: list[tuple[str, str]] = []
    for where, entry in entries:
        prefix = f"{where}." if where else ""
        if entry.verified_on > today:
            found.append((f"{prefix}verified_on", f"date {entry.verified_on} is in the future"))
    ids = Counter(getattr(entry, "id", None) for _, entry in entries)
    for where, entry in entries:
        if getattr(entry, "id", None) and ids[entry.id] > 1:
            found.append((f"{where}.id", f"id '{entry.id}' used {ids[entry.id]} times"))
    return found


def _read(knowledge_dir: Path, today: dt.date | None = None) -> tuple[Services, list[str]]:
    folder = Path(knowledge_dir) / SERVICES_DIR
    today = today or dt.date.today()
    parts: dict[str, Any] = {}
    errors: list[str] = []
    for stem, model in FILES.items():
        path = next((p for p in (folder / f"{stem}.yml", folder / f"{stem}.yaml") if p.exists()), None)
        if path is None:
            continue
        parsed, file_errors = _parse(path, model, today)
        errors += file_errors
        parts[stem] = parsed
    return Services(**parts), errors


def validate_services_dir(knowledge_dir: Path, today: dt.date | None = None) -> list[str]:
    """Every error of `knowledge_dir/services/` (empty list: valid or absent)."""
    return _read(knowledge_dir, today)[1]


def load_services(knowledge_dir: Path) -> Services:
    """The services knowledge; raises ServicesError listing every error."""
    services, errors = _read(knowledge_dir)
    if errors:
        raise ServicesError(errors)
    return services
