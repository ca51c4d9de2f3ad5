"""The document checklist for one citizen's case answers.

Start from the procedure's base documents (those without `when`), then apply each
answered case in the procedure's order: `removes_documents` first, then
`adds_documents`. Documents are only ever taken from the procedure file. A case that is
not answered (not yet, or never: `ask: false`) lists what its answers could add as "maybe".
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.guidance.catalog_walk import conditional_document
from bot.knowledge import Document, Procedure


@dataclass(frozen=True)
class Checklist:
    documents: list[Document]
    # Conditional documents whose question is not answered yet: (document, its `when` text).
    maybe: list[Document]
    complete: bool  # every asked case question answered

    def item_texts(self) -> list[str]:
        """One line per document: name and number of copies."""
        return [document_line(d) for d in self.documents]


def document_line(document: Document) -> str:
    copies = f" – {document.copies}" if document.copies else ""
    return f"{document.name}{copies}"


def build_checklist(procedure: Procedure, answers: dict[str, int]) -> Checklist:
    """Documents for `answers` ({case id: 1-based answer number}); unknown ids/numbers are ignored."""
    by_id = {d.id: d for d in procedure.documents}
    chosen = [d.id for d in procedure.base_documents()]
    unanswered_adds: list[str] = []
    for case in procedure.cases:
        number = answers.get(case.id)
        if number is None or not 1 <= number <= len(case.answers):
            for answer in case.answers:
                unanswered_adds.extend(answer.adds_documents)
            continue
        answer = case.answers[number - 1]
        chosen = [doc_id for doc_id in chosen if doc_id not in answer.removes_documents]
        chosen.extend(doc_id for doc_id in answer.adds_documents if doc_id not in chosen)
    # A catalogue record has no case questions: its documents for some cases only are "có thể cần thêm".
    conditional = [d.id for d in procedure.documents if conditional_document(procedure, d)]
    chosen = [doc_id for doc_id in chosen if doc_id not in conditional]
    unanswered_adds.extend(conditional)
    documents = [by_id[doc_id] for doc_id in chosen if doc_id in by_id]
    maybe_ids = [doc_id for doc_id in dict.fromkeys(unanswered_adds) if doc_id not in chosen and doc_id in by_id]
    complete = all(
        case.id in answers and 1 <= answers[case.id] <= len(case.answers) for case in procedure.asked_cases()
    )
    return Checklist(documents=documents, maybe=[by_id[i] for i in maybe_ids], complete=complete)
