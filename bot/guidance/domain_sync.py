"""Keeps domain.yml's `utter_service_down` (sent by Rasa itself when the action server is down) in sync
with knowledge/office.yml: the Rasa server cannot read the knowledge base at run time, so the text is
written into the domain, by this module only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from bot.guidance.texts import service_down_text
from bot.knowledge import Office
from bot.knowledge.validator import OFFICE_FILE, parse_office_file

RESPONSE = "utter_service_down"
# The response's single `- text: "..."` line, right under its name (comments allowed in between).
_TEXT_LINE = re.compile(rf"(^  {RESPONSE}:\n(?:    #.*\n)*    - text: )(\".*\")$", re.M)


class DomainSyncError(ValueError):
    """The domain file has no `utter_service_down` text line in the expected form."""


def load_office(knowledge_dir: Path) -> Office:
    office, errors = parse_office_file(Path(knowledge_dir) / OFFICE_FILE)
    if errors:
        raise DomainSyncError("; ".join(errors))
    return office


def current_text(domain_path: Path) -> str:
    domain = yaml.safe_load(Path(domain_path).read_text(encoding="utf-8"))
    return str(domain["responses"][RESPONSE][0]["text"])


def sync_domain(domain_path: Path, office: Office) -> bool:
    """Rewrite the response text from `office`; returns True when the file changed."""
    text = Path(domain_path).read_text(encoding="utf-8")
    match = _TEXT_LINE.search(text)
    if match is None:
        raise DomainSyncError(f"{domain_path}: {RESPONSE}: no `- text: \"...\"` line found")
    wanted = json.dumps(service_down_text(office), ensure_ascii=False)
    if match.group(2) == wanted:
        return False
    Path(domain_path).write_text(text[: match.start(2)] + wanted + text[match.end(2):], encoding="utf-8")
    return True
