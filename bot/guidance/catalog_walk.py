"""What the walk says differently for a procedure known only from the national catalogue.

A catalogue record was parsed from the portal, not checked by the ward: every answer says so
and links the portal page. Its steps are the portal's free text (`trinh_tu_thuc_hien`), often
long legal prose; `shape_steps` turns it into at most `MAX_STEPS` numbered steps of at most
`MAX_STEP_CHARS` characters, cutting (never rewriting) what does not fit, with the link for
the rest. A procedure not handled at commune level is never sent to the ward desk: the
answer names the agency, where it receives dossiers and whether it can be filed online.
"""

from __future__ import annotations

import re

from bot.knowledge import UNKNOWN_TEXT, Document, Procedure

MAX_STEPS = 8
MAX_STEP_CHARS = 350
DISCLAIMER = "Thông tin từ Cổng Dịch vụ công quốc gia, chưa được phường kiểm tra"
# A step of its own starts at "Bước 2", "a)", "2." or "II." (top-level markers of the portal's text).
_STEP_START = re.compile(r"^(?:Bước\s*\d+|[a-zđ]\)|\d{1,2}[.)]\s|[IVX]{1,4}[.)]\s)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.;])\s+(?=[A-ZĐÀ-Ỹ\-+*•])")
# Documents the portal lists only for some cases ("Trường hợp ủy quyền: ..."): "có thể cần thêm".
_CONDITIONAL_NAME = re.compile(r"^(?:Trường hợp|Nếu|Đối với trường hợp)\b", re.IGNORECASE)


def is_catalog(procedure: Procedure) -> bool:
    return procedure.origin == "catalog"


def handled_at_ward(procedure: Procedure) -> bool:
    """Commune level (or a curated file, which the ward wrote for its own desk)."""
    return not is_catalog(procedure) or "xa" in procedure.level


def conditional_document(procedure: Procedure, document: Document) -> bool:
    """A catalogue document that applies only in some cases, by its section title or its own words."""
    return is_catalog(procedure) and (bool(document.when) or bool(_CONDITIONAL_NAME.match(document.name)))


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with "…" (the link to the rest travels with the step)."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return head + "…"


def _units(lines: list[str]) -> list[str]:
    """Lines, with any line longer than a step split into its sentences."""
    units: list[str] = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if len(line) <= MAX_STEP_CHARS:
            units.append(line)
        else:
            units.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return units


def shape_steps(lines: list[str]) -> list[str]:
    """The portal's step text as ≤ MAX_STEPS steps of ≤ MAX_STEP_CHARS characters, in the portal's order.

    A step starts at a top-level marker ("Bước n", "a)", "1.") or when the current one is full; a
    heading line ending with ":" stays with what follows it. What does not fit is cut with "…".
    """
    steps: list[str] = []
    for unit in _units(lines):
        current = steps[-1] if steps else None
        starts = bool(_STEP_START.match(unit))
        heading_alone = current is not None and current.endswith(":") and "\n" not in current
        if current is None or (starts and not heading_alone) or (
            len(current) + 1 + len(unit) > MAX_STEP_CHARS and not heading_alone
        ):
            if current is not None and current.endswith(":") and "\n" in current:
                # a heading ("* Đối với ...:") moves on with the text it introduces
                kept, heading = current.rsplit("\n", 1)
                if not kept.endswith(":"):
                    steps[-1], unit = kept, f"{heading}\n{unit}"
            steps.append(unit)
        else:
            steps[-1] = f"{current}\n{unit}"
    if len(steps) > MAX_STEPS:
        steps = steps[: MAX_STEPS - 1] + ["\n".join(steps[MAX_STEPS - 1:])]
    return [_cut(step, MAX_STEP_CHARS) for step in steps]


def step_note(procedure: Procedure, channel: str | None) -> str | None:
    """Under every step of a catalogue procedure: where the text comes from, and the full page.

    None for curated procedures and for the generic postal steps used at the ward (knowledge/channels.yml).
    """
    if not is_catalog(procedure) or (channel == "postal" and handled_at_ward(procedure)):
        return None
    return f"{DISCLAIMER}. Đầy đủ: {procedure.source or UNKNOWN_TEXT}"


def online_text(procedure: Procedure) -> str:
    return "có (Cổng Dịch vụ công)" if procedure.channel("online") else "không"


def where_lines(procedure: Procedure) -> list[str]:
    """Who handles a procedure not done at the ward, where it receives dossiers, and whether online works."""
    return [
        f"Thủ tục này không nộp tại bộ phận một cửa của phường. Cơ quan giải quyết: {procedure.agency or UNKNOWN_TEXT}",
        f"Nơi tiếp nhận: {procedure.receiving_address or UNKNOWN_TEXT}",
        f"Nộp trực tuyến: {online_text(procedure)}",
    ]
