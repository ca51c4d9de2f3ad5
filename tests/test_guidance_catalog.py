"""A catalogue-only procedure in the walk (in process, real knowledge base with the shipped catalogue)."""

from __future__ import annotations

import pytest

from bot.guidance import texts
from bot.guidance.catalog_walk import DISCLAIMER, MAX_STEP_CHARS, MAX_STEPS, shape_steps
from bot.guidance.checklist import build_checklist
from bot.guidance.state import GuideState
from bot.guidance.walk import Guide, Turn
from bot.knowledge import Document, load_knowledge_base
from bot.settings import get_settings


@pytest.fixture(scope="module")
def kb():
    settings = get_settings()
    return load_knowledge_base(settings.knowledge_dir, settings.catalog)


def no_search(text: str, top: int):
    raise AssertionError("the walk must not search for a pressed button")


def texts_of(outcome) -> str:
    return "\n".join(r.text for r in outcome.replies)


def test_shape_steps_splits_at_markers_and_bounds_count_and_length() -> None:
    lines = ["Bước 1: Chuẩn bị hồ sơ.", "Bước 2: Nộp hồ sơ:", "- tại bộ phận một cửa;", "- hoặc trực tuyến."]
    assert shape_steps(lines) == ["Bước 1: Chuẩn bị hồ sơ.", "Bước 2: Nộp hồ sơ:\n- tại bộ phận một cửa;\n- hoặc trực tuyến."]
    long = ["Bước %d: " % n + "văn bản pháp lý rất dài " * 30 for n in range(1, 13)]
    shaped = shape_steps(long)
    assert len(shaped) == MAX_STEPS and all(len(s) <= MAX_STEP_CHARS for s in shaped)
    assert shaped[0].startswith("Bước 1:") and shaped[0].endswith("…")
    prose = ["Câu thứ nhất khá dài về hồ sơ. " * 15 + "Câu cuối cùng."]
    assert all(len(s) <= MAX_STEP_CHARS for s in shape_steps(prose)) and len(shape_steps(prose)) >= 2


def test_every_catalogue_procedure_shapes_within_bounds(kb) -> None:
    for procedure in kb.procedures.values():
        if procedure.origin != "catalog":
            continue
        for channel in ("online", "in_person", "postal"):
            steps = texts.steps_for(procedure, channel, kb.channel_guides)
            assert len(steps) <= MAX_STEPS and all(0 < len(s) <= MAX_STEP_CHARS for s in steps), procedure.code


def test_conditional_catalogue_documents_are_maybe_never_dropped(kb) -> None:
    sectioned = [p for p in kb.procedures.values() if p.origin == "catalog" and any(d.when for d in p.documents)]
    assert sectioned
    for procedure in sectioned:
        checklist = build_checklist(procedure, {})
        listed = {d.id for d in checklist.documents} | {d.id for d in checklist.maybe}
        assert listed == {d.id for d in procedure.documents}, procedure.code
        replies = texts.checklist_replies(procedure, checklist, "in_person")
        assert "có thể cần thêm" in "\n".join(r.text for r in replies) and replies[0].custom["items"]
    by_name = procedure.model_copy(update={"documents": [
        Document(id="a", name="Tờ khai", copies="1 bản chính"),
        Document(id="b", name="Trường hợp ủy quyền thì nộp văn bản ủy quyền", copies="1 bản sao"),
    ]})
    split = build_checklist(by_name, {})
    assert [d.id for d in split.documents] == ["a"] and [d.id for d in split.maybe] == ["b"]


def test_ministry_procedure_walk_names_agency_and_never_the_ward_desk(kb) -> None:
    guide = Guide(kb, no_search)
    start = guide.handle(Turn("select_procedure", "", {"procedure_code": "3.000353"}), GuideState())
    said = texts_of(start)
    assert "mã 3.000353" in said and DISCLAIMER in said and "dichvucong.gov.vn" in said
    assert "không nộp tại bộ phận một cửa của phường" in said and "Cục cảnh sát giao thông" in said
    assert "Nộp trực tuyến: có" in said and "Tại phường" not in said
    assert "trực tiếp tại cơ quan giải quyết" in said and "bộ phận một cửa?" not in said
    checklist = guide.handle(Turn("choose_in_person", "trực tiếp"), start.state)
    assert checklist.replies[0].custom["items"] and DISCLAIMER in texts_of(checklist)
    step = guide.handle(Turn("ask_steps", ""), checklist.state)
    assert step.replies[0].text.startswith("Bước 1/") and DISCLAIMER in step.replies[0].text
    where = guide.handle(Turn("ask_where", "nộp ở đâu"), step.state)
    assert "Cục cảnh sát giao thông" in texts_of(where) and kb.office.name not in texts_of(where)


def test_commune_catalogue_procedure_keeps_the_ward_and_generic_postal_steps(kb) -> None:
    procedure = kb.get("1.000110")  # khai sinh có yếu tố nước ngoài ở khu vực biên giới: commune level, catalogue only
    assert procedure.origin == "catalog" and "xa" in procedure.level
    guide = Guide(kb, no_search)
    start = guide.handle(Turn("select_procedure", "", {"procedure_code": procedure.code}), GuideState())
    said = texts_of(start)
    assert "Tại phường" in said and "không nộp tại bộ phận một cửa" not in said and DISCLAIMER in said
