"""Checks a knowledge directory and reports EVERY problem as `file: field: message`.

A ward officer fixes files from this list, so the checker never stops at the
first error: YAML syntax (with line), schema errors from pydantic (with the
line of the offending value when it can be found), per-file rules (required
fields, steps for each listed channel, document ids used by cases) and
cross-file rules (duplicate code, unknown `related` / `redirect` codes).
"""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.knowledge.models import ChannelGuides, Office, Procedure

PROCEDURES_DIR = "procedures"
OFFICE_FILE = "office.yml"
CHANNELS_FILE = "channels.yml"

# Fields a curated file must fill (catalogue records may leave them empty).
REQUIRED_CURATED: tuple[str, ...] = (
    "name", "aliases", "example_questions", "field", "level", "who", "agency", "channels", "documents",
    "result", "legal_basis", "source", "verified_on",
)
STEPS_FOR_CHANNEL: dict[str, str] = {"online": "steps_online", "in_person": "steps_in_person"}


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key written twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """An impossible date such as 2026-13-01 stays text, so the schema reports it on its field."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _UniqueKeyLoader.construct_yaml_timestamp)


@dataclass
class LoadedFile:
    """One YAML file: its data, its node tree (for line numbers) and the errors found so far."""

    path: Path
    data: Any = None
    node: yaml.Node | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class ValidationResult:
    procedures: dict[str, Procedure] = field(default_factory=dict)
    office: Office = field(default_factory=Office)
    channel_guides: ChannelGuides = field(default_factory=ChannelGuides)
    errors: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # code -> file

    @property
    def ok(self) -> bool:
        return not self.errors


def display_path(path: Path) -> str:
    """Path as a curator sees it: relative to the working directory when possible."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def read_yaml(path: Path) -> LoadedFile:
    """Parse one YAML file; syntax errors become `file: line N: message`."""
    loaded = LoadedFile(path=path)
    name = display_path(path)
    try:
        # Text pasted from the portal may be in decomposed Unicode; search and buttons expect NFC.
        text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        loaded.errors.append(f"{name}: file: cannot read: {exc}")
        return loaded
    try:
        loader = _UniqueKeyLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "yaml"
        problem = getattr(exc, "problem", None) or str(exc)
        loaded.errors.append(f"{name}: {where}: YAML syntax error: {problem}")
        return loaded
    loaded.data, loaded.node = data, node
    return loaded


def _line_of(node: yaml.Node | None, loc: Iterable[Any]) -> int | None:
    """1-based line of the value at `loc` (deepest part of it found in the node tree)."""
    if node is None:
        return None
    current = node
    for part in loc:
        nxt = None
        if isinstance(current, yaml.MappingNode):
            nxt = next((v for k, v in current.value if getattr(k, "value", None) == str(part)), None)
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            nxt = current.value[part]
        if nxt is None:
            break
        current = nxt
    return current.start_mark.line + 1


def format_loc(loc: Iterable[Any]) -> str:
    """('channels', 0, 'fee') -> 'channels[0].fee'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


def pydantic_errors(name: str, exc: ValidationError, node: yaml.Node | None) -> list[str]:
    messages = []
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        line = _line_of(node, loc) if loc else None
        where = f" (line {line})" if line else ""
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not in the schema; check the spelling)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        messages.append(f"{name}: {format_loc(loc)}: {msg}{where}")
    return messages


def check_curated(
    proc: Procedure, path: Path, today: dt.date | None = None, skip: Iterable[Any] = ()
) -> list[str]:
    """Rules for one curated file that pydantic alone cannot express.

    `skip` names top-level fields already reported by the schema (not reported twice).
    """
    name = display_path(path)
    skip = set(skip)
    errors: list[str] = []
    if path.stem != proc.code:
        errors.append(f"{name}: code: file name must be {proc.code}.yaml (code is {proc.code})")
    for key in REQUIRED_CURATED:
        if key not in skip and getattr(proc, key) in (None, "", []):
            errors.append(f"{name}: {key}: required field is missing or empty")
    kinds = Counter(c.kind for c in proc.channels)
    for kind, count in kinds.items():
        if count > 1:
            errors.append(f"{name}: channels: channel kind '{kind}' listed {count} times")
    for i, channel in enumerate(proc.channels):
        if channel.processing_time is None:
            errors.append(f"{name}: channels[{i}].processing_time: required for a curated channel")
        if channel.fee is None:
            errors.append(f"{name}: channels[{i}].fee: required for a curated channel (free: true or amount_vnd)")
        steps_key = STEPS_FOR_CHANNEL.get(channel.kind)
        if steps_key and steps_key not in skip and not getattr(proc, steps_key):
            errors.append(f"{name}: {steps_key}: missing steps for the listed '{channel.kind}' channel")
    doc_ids = Counter(d.id for d in proc.documents)
    for doc_id, count in doc_ids.items():
        if count > 1:
            errors.append(f"{name}: documents: document id '{doc_id}' used {count} times")
    case_ids = Counter(c.id for c in proc.cases)
    for case_id, count in case_ids.items():
        if count > 1:
            errors.append(f"{name}: cases: case id '{case_id}' used {count} times")
    for ci, case in enumerate(proc.cases):
        if not case.ask:
            errors += _unasked_case_errors(name, ci, case)
        for ai, answer in enumerate(case.answers):
            where = f"cases[{ci}].answers[{ai}]"
            for key in ("adds_documents", "removes_documents"):
                for doc_id in getattr(answer, key):
                    if doc_id not in doc_ids:
                        errors.append(f"{name}: {where}.{key}: unknown document id '{doc_id}'")
            if answer.redirect == proc.code:
                errors.append(f"{name}: {where}.redirect: redirects to the procedure itself")
    if proc.code in proc.related:
        errors.append(f"{name}: related: lists the procedure's own code")
    today = today or dt.date.today()
    if proc.verified_on and proc.verified_on > today:
        errors.append(f"{name}: verified_on: date {proc.verified_on} is in the future")
    return errors


def _unasked_case_errors(name: str, index: int, case: Any) -> list[str]:
    """A case that is not asked only adds "có thể cần thêm" lines to the checklist: it cannot switch
    the procedure or take a document away, since nobody answers it."""
    errors = []
    for ai, answer in enumerate(case.answers):
        for key in ("redirect", "removes_documents"):
            if getattr(answer, key):
                errors.append(
                    f"{name}: cases[{index}].ask: false is not allowed with answers[{ai}].{key} "
                    "(an unasked question can only add documents)"
                )
    return errors


def _steps_for_raw_channels(name: str, channels: list[Any], proc: Procedure, skip: set[Any]) -> list[str]:
    """Missing-steps rule when the channel list itself had schema errors (its kinds are still readable)."""
    kinds = {c.get("kind") for c in channels if isinstance(c, dict)}
    return [
        f"{name}: {steps_key}: missing steps for the listed '{kind}' channel"
        for kind, steps_key in STEPS_FOR_CHANNEL.items()
        if kind in kinds and steps_key not in skip and not getattr(proc, steps_key)
    ]


def parse_procedure_file(path: Path) -> tuple[Procedure | None, list[str]]:
    """Read and check one curated file on its own (no cross-file rules)."""
    loaded = read_yaml(path)
    if loaded.errors:
        return None, loaded.errors
    name = display_path(path)
    data = loaded.data
    if not isinstance(data, dict):
        return None, [f"{name}: (file): must be a mapping of fields (code, name, channels, ...)"]
    errors: list[str] = []
    if "origin" in data:
        errors.append(f"{name}: origin: set by the loader, do not write it in the file")
        data = {k: v for k, v in data.items() if k != "origin"}
    if isinstance(data.get("verified_on"), dt.datetime):
        data["verified_on"] = data["verified_on"].date()
    try:
        proc = Procedure.model_validate({**data, "origin": "curated"})
    except ValidationError as exc:
        errors += pydantic_errors(name, exc, loaded.node)
        # Keep checking the rest of the file: drop the fields already reported and
        # validate what is left, so one bad fee does not hide a missing step list.
        bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
        partial = {k: v for k, v in data.items() if k not in bad}
        try:
            proc = Procedure.model_validate({**partial, "origin": "curated"})
        except ValidationError:
            return None, errors
        errors += check_curated(proc, path, skip=bad)
        if "channels" in bad and isinstance(data.get("channels"), list):
            errors += _steps_for_raw_channels(name, data["channels"], proc, skip=bad)
        return proc, errors
    return proc, errors + check_curated(proc, path)


ModelT = TypeVar("ModelT", bound=BaseModel)


def _parse_optional_file(path: Path, model: type[ModelT], mapping_of: str) -> tuple[ModelT | None, list[str]]:
    """Read an optional YAML mapping file into `model`: (None, []) when the file is absent, (None, errors) when
    it is not valid; errors name the file and the field."""
    if not path.exists():
        return None, []
    loaded = read_yaml(path)
    if loaded.errors:
        return None, loaded.errors
    data = loaded.data or {}
    if not isinstance(data, dict):
        return None, [f"{display_path(path)}: (file): must be a mapping of {mapping_of}"]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, pydantic_errors(display_path(path), exc, loaded.node)


def parse_office_file(path: Path) -> tuple[Office, list[str]]:
    """Read `office.yml`; a missing file means every value is unknown (not an error)."""
    office, errors = _parse_optional_file(path, Office, "fields")
    return office or Office(), errors


def parse_channels_file(path: Path, today: dt.date | None = None) -> tuple[ChannelGuides, list[str]]:
    """Read `channels.yml` (generic steps per channel kind); a missing file means no such steps."""
    guides, errors = _parse_optional_file(path, ChannelGuides, "channel kinds (postal: ...)")
    if guides is None:
        return ChannelGuides(), errors
    today = today or dt.date.today()
    errors = [
        f"{display_path(path)}: {kind}.verified_on: date {guide.verified_on} is in the future"
        for kind, guide in (("postal", guides.postal),)
        if guide is not None and guide.verified_on > today
    ]
    return (ChannelGuides() if errors else guides), errors


def procedure_files(location: Path) -> list[Path]:
    """YAML files of a procedures folder (or the single file given)."""
    if location.is_file():
        return [location]
    return sorted([*location.glob("*.yaml"), *location.glob("*.yml")])


def resolve_knowledge_dir(location: Path) -> tuple[Path | None, Path]:
    """(knowledge dir or None, procedures location) for a PATH given on the command line."""
    if location.is_dir() and (location / PROCEDURES_DIR).is_dir():
        return location, location / PROCEDURES_DIR
    if location.is_dir() and location.name == PROCEDURES_DIR and (location.parent / OFFICE_FILE).exists():
        return location.parent, location
    return None, location


def validate_knowledge_dir(location: Path, extra_codes: Iterable[str] = ()) -> ValidationResult:
    """Check a knowledge dir, a procedures folder or one file; `extra_codes` are other known codes (catalogue)."""
    result = ValidationResult()
    location = Path(location)
    if not location.exists():
        result.errors.append(f"{display_path(location)}: (path): does not exist")
        return result
    knowledge_dir, procedures_location = resolve_knowledge_dir(location)
    if knowledge_dir is not None:
        result.office, office_errors = parse_office_file(knowledge_dir / OFFICE_FILE)
        result.errors.extend(office_errors)
        result.channel_guides, channel_errors = parse_channels_file(knowledge_dir / CHANNELS_FILE)
        result.errors.extend(channel_errors)
        from bot.services.loader import validate_services_dir  # issue 14: knowledge/services/ (sourced, dated)

        result.errors.extend(validate_services_dir(knowledge_dir))
    parsed: list[tuple[Path, Procedure]] = []
    for path in procedure_files(procedures_location):
        proc, errors = parse_procedure_file(path)
        result.errors.extend(errors)
        if proc is not None:
            parsed.append((path, proc))
    # Codes of files that failed to parse still count as known, so one broken file
    # does not cascade into "unknown code" errors everywhere else.
    known = {p.code for _, p in parsed} | {path.stem for path in procedure_files(procedures_location)}
    if procedures_location.is_file():
        known |= {p.stem for p in procedure_files(procedures_location.parent)}
    known |= set(extra_codes)
    for path, proc in parsed:
        name = display_path(path)
        if proc.code in result.procedures:
            first = display_path(result.files[proc.code])
            result.errors.append(f"{name}: code: duplicate code {proc.code} (also in {first})")
            continue
        result.procedures[proc.code] = proc
        result.files[proc.code] = path
        for i, code in enumerate(proc.related):
            if code not in known:
                result.errors.append(f"{name}: related[{i}]: unknown procedure code {code}")
        for ci, case in enumerate(proc.cases):
            for ai, answer in enumerate(case.answers):
                if answer.redirect and answer.redirect not in known:
                    result.errors.append(
                        f"{name}: cases[{ci}].answers[{ai}].redirect: unknown procedure code {answer.redirect}"
                    )
    return result
