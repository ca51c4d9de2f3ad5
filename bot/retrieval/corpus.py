"""What gets indexed: several texts per procedure that all map back to one code.

Official names are formal; curated files add short names, aliases and example
questions in citizens' words. Each text is indexed on its own and a procedure
scores as its best-matching text, so a short alias is not drowned by a long title.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Protocol


class _ProcedureLike(Protocol):
    code: str
    name: str
    short_name: str | None
    aliases: list[str]
    example_questions: list[str]
    level: list[str]
    origin: str


@dataclass(frozen=True)
class ProcedureDoc:
    """One procedure as the index sees it."""

    code: str
    title: str
    levels: tuple[str, ...]
    curated: bool
    texts: tuple[str, ...]
    # parallel to `texts`: "name", "alias" (short name, aliases) or "example" (example questions)
    kinds: tuple[str, ...] = ()
    # codes the procedure's own case questions send a citizen on to ("cha mẹ chưa kết hôn" → khai sinh kết hợp
    # nhận cha, mẹ, con): the walk tells them apart, so the search need not ask
    redirects: tuple[str, ...] = ()

    def kind(self, index: int) -> str:
        return self.kinds[index] if index < len(self.kinds) else "name"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["levels"], data["texts"], data["kinds"] = list(self.levels), list(self.texts), list(self.kinds)
        data["redirects"] = list(self.redirects)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ProcedureDoc":
        return cls(
            code=str(data["code"]),
            title=str(data["title"]),
            levels=tuple(data.get("levels") or ()),
            curated=bool(data.get("curated")),
            texts=tuple(data.get("texts") or ()),
            kinds=tuple(data.get("kinds") or ()),
            redirects=tuple(data.get("redirects") or ()),
        )


# Where the descriptive tail of an official name starts: "Đăng ký, cấp biển số xe lần đầu | thực hiện
# bằng dịch vụ công một phần hoặc trực tiếp thực hiện tại cấp trung ương, cấp tỉnh, cấp xã".
_TAIL = re.compile(r"\s*(\(|;|\bthực hiện (tại|bằng)\b|\bbằng dịch vụ công\b|\btrên (cổng|môi trường)\b)", re.IGNORECASE)


def core_title(name: str) -> str:
    """The official name without its procedural tail (parenthesis, "thực hiện tại ...", ...)."""
    match = _TAIL.search(name)
    core = name[: match.start()].strip(" ,.-–") if match else name.strip()
    return core if len(core) >= 8 else name.strip()


def doc_from_procedure(procedure: _ProcedureLike, curated: bool) -> ProcedureDoc:
    """Name, its core, short name, aliases and example questions, without duplicates, name first."""
    labelled = [
        (procedure.name, "name"),
        (core_title(procedure.name), "name"),
        (procedure.short_name or "", "alias"),
        *((alias, "alias") for alias in procedure.aliases),
        *((question, "example") for question in procedure.example_questions),
    ]
    unique: dict[str, str] = {}
    for text, kind in labelled:
        if text and text.strip():
            unique.setdefault(text.strip(), kind)
    return ProcedureDoc(
        code=procedure.code,
        title=procedure.name,
        levels=tuple(procedure.level),
        curated=curated,
        texts=tuple(unique),
        kinds=tuple(unique.values()),
        redirects=_redirects(procedure),
    )


def _redirects(procedure: Any) -> tuple[str, ...]:
    """Codes named by `redirect` in the procedure's case answers (catalogue records have no cases)."""
    codes = (getattr(answer, "redirect", None) for case in getattr(procedure, "cases", None) or [] for answer in case.answers)
    return tuple(dict.fromkeys(code for code in codes if code))


def docs_from_knowledge_base(kb: Any) -> list[ProcedureDoc]:
    """Every procedure of a `bot.knowledge.KnowledgeBase`, sorted by code (stable index order)."""
    curated_codes = set(getattr(kb, "curated_codes", set()))
    return [
        doc_from_procedure(proc, curated=code in curated_codes or getattr(proc, "origin", "") == "curated")
        for code, proc in sorted(kb.procedures.items())
    ]


def docs_digest(docs: Iterable[ProcedureDoc]) -> str:
    """Content hash of the indexed texts (independent of how they were loaded)."""
    digest = hashlib.sha256()
    for doc in docs:
        digest.update(json.dumps(doc.to_json(), ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()
