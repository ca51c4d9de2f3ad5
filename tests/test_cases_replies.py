"""What the citizen reads: plain Vietnamese status, dates, overdue, timeline, next step, ≤ 600 chars."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from bot.cases.demo import VIETNAM_TZ, demo_dossiers
from bot.cases.models import Dossier, DossierEvent, Status
from bot.cases.replies import MAX_CHARS, answer_reply, overdue_days

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=VIETNAM_TZ)


def _by_status(status: Status) -> Dossier:
    return next(d for d in demo_dossiers(TODAY) if d.status is status)


@pytest.mark.parametrize("dossier", demo_dossiers(TODAY), ids=lambda d: d.status.value)
def test_every_answer_has_the_essentials_and_no_personal_data(dossier: Dossier) -> None:
    text = answer_reply(dossier, NOW).text
    assert len(text) <= MAX_CHARS
    assert dossier.code in text
    assert dossier.received_at.strftime("%d/%m/%Y") in text
    assert dossier.due_at is not None and f"Hẹn trả: {dossier.due_at:%d/%m/%Y}" in text
    assert "Tình trạng:" in text and "Việc cần làm:" in text
    assert dossier.applicant_name not in text
    assert dossier.applicant_name.split()[-1] not in text.split()  # not even the given name in full
    assert dossier.phone_last4 not in text and dossier.id_last4 not in text


def test_done_says_where_and_what_to_bring() -> None:
    text = answer_reply(_by_status(Status.DONE), NOW).text
    assert "Đã có kết quả, chờ nhận" in text
    assert "Giấy hẹn trả kết quả" in text and "căn cước" in text and "UBND xã Nghĩa Hưng" in text
    assert "Đăng ký khai sinh" in text and "Thủ tục: Thủ tục" not in text


def test_supplement_lists_the_missing_documents_and_links_the_procedure() -> None:
    dossier = _by_status(Status.SUPPLEMENT_REQUIRED)
    reply = answer_reply(dossier, NOW)
    assert "Cần bổ sung giấy tờ (đúng hạn)" in reply.text
    for document in dossier.missing_documents:
        assert document in reply.text
    assert reply.buttons[0]["payload"] == '/select_procedure{"procedure_code":"1.004222"}'
    assert reply.buttons[-1]["payload"] == "/check_status"


def test_timeline_in_order_with_plain_words() -> None:
    text = answer_reply(_by_status(Status.SUPPLEMENT_REQUIRED), NOW).text
    lines = text.splitlines()
    start = lines.index("Diễn biến:")
    assert [line.split(" ", 3)[-1] for line in lines[start + 1 : start + 4]] == [
        "Đã tiếp nhận",
        "Đang giải quyết",
        "Cần bổ sung giấy tờ",
    ]


def test_overdue_processing_is_said_with_the_days_and_the_remedy() -> None:
    dossier = next(d for d in demo_dossiers(TODAY) if d.status is Status.PROCESSING and overdue_days(d, NOW))
    text = answer_reply(dossier, NOW).text
    assert "quá hẹn 2 ngày" in text and "văn bản xin lỗi" in text


def test_on_time_processing_says_nothing_to_do() -> None:
    dossier = next(d for d in demo_dossiers(TODAY) if d.status is Status.PROCESSING and not overdue_days(d, NOW))
    text = answer_reply(dossier, NOW).text
    assert "(đúng hạn)" in text and "chưa cần làm gì" in text


def test_finished_dossiers_are_never_overdue() -> None:
    for status in (Status.DONE, Status.RETURNED, Status.REJECTED):
        dossier = _by_status(status)
        assert overdue_days(dossier, NOW + timedelta(days=30)) == 0


def test_rejected_gives_the_reason() -> None:
    text = answer_reply(_by_status(Status.REJECTED), NOW).text
    assert "Không được giải quyết" in text and "Lý do: Tên hộ kinh doanh trùng" in text


def test_long_names_and_timelines_are_shortened_to_fit() -> None:
    base = _by_status(Status.SUPPLEMENT_REQUIRED)
    start = base.received_at
    events = tuple(
        DossierEvent(start + timedelta(hours=i), Status.PROCESSING if i % 2 else Status.SUPPLEMENT_REQUIRED)
        for i in range(1, 30)
    )
    long = replace(
        base,
        procedure_name="Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan, tổ chức có thẩm quyền " * 3,
        events=(base.events[0], *events),
        missing_documents=tuple(f"Giấy tờ số {i} rất dài " * 4 for i in range(5)),
    )
    text = answer_reply(long, NOW).text
    assert len(text) <= MAX_CHARS
    assert long.code in text and "Tình trạng: Cần bổ sung giấy tờ" in text
    assert "và 2 giấy tờ khác" in text and "nộp bổ sung tại" in text  # the instruction survives
