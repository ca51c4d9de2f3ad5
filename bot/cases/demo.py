"""Realistic demo dossiers for the curated procedures, dated relative to the seeding day.

The applicants are invented; their phone / ID endings are what a tester types to verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.cases.models import VIETNAM_TZ, Dossier, DossierEvent, Status
from bot.cases.sqlite_registry import SQLiteCaseRegistry

DEMO_SOURCE = "demo"


@dataclass(frozen=True)
class _Spec:
    prefix: str
    sequence: int
    procedure_code: str
    procedure_name: str
    applicant: str
    phone_last4: str
    id_last4: str
    agency: str
    channel: str
    received_days_ago: int
    due_in_days: int
    timeline: tuple[tuple[int, str, Status, str | None], ...]  # (day offset from receipt, HH:MM, status, note)
    missing: tuple[str, ...] = ()
    note: str | None = None


_SPECS: tuple[_Spec, ...] = (
    _Spec("000.00.04.H51", 1, "1.001193", "Thủ tục đăng ký khai sinh", "Nguyễn Văn An", "4821", "1357",
          "UBND xã Nghĩa Hưng", "in_person", 3, -1,
          ((0, "08:40", Status.RECEIVED, None), (0, "10:15", Status.PROCESSING, None),
           (1, "15:30", Status.DONE, "Giấy khai sinh bản chính đã ký")),),
    _Spec("000.00.04.H51", 2, "1.004222", "Đăng ký thường trú", "Trần Thị Bích Ngọc", "7302", "2468",
          "Công an xã Nghĩa Hưng", "in_person", 5, 2,
          ((0, "09:05", Status.RECEIVED, None), (1, "08:30", Status.PROCESSING, None),
           (3, "14:00", Status.SUPPLEMENT_REQUIRED, "Thiếu giấy tờ chứng minh chỗ ở hợp pháp")),
          missing=("Giấy tờ chứng minh chỗ ở hợp pháp (hợp đồng thuê nhà có công chứng)",
                   "Văn bản đồng ý của chủ hộ cho đăng ký thường trú")),
    _Spec("000.00.04.H51", 3, "1.014064", "Cấp lại thẻ căn cước", "Lê Hoàng Minh", "0915", "8642",
          "Công an xã Nghĩa Hưng", "in_person", 2, 5,
          ((0, "13:45", Status.RECEIVED, None), (0, "16:00", Status.PROCESSING, "Đã chuyển hồ sơ lên cấp trên")),),
    _Spec("000.00.04.H51", 4, "2.000815",
          "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan, tổ chức có thẩm quyền cấp hoặc chứng nhận",
          "Phạm Thu Hà", "6677", "9753", "UBND xã Nghĩa Hưng", "in_person", 1, 0,
          ((0, "09:00", Status.RECEIVED, None), (0, "09:40", Status.DONE, None),
           (0, "10:05", Status.RETURNED, "Đã trả 3 bản sao chứng thực"))),
    _Spec("H29.12", 7, "1.001612", "Đăng ký thành lập hộ kinh doanh", "Võ Đức Thắng", "3141", "1122",
          "Phòng Kinh tế UBND xã Đông Anh", "online", 7, -2,
          ((0, "20:12", Status.RECEIVED, "Nộp trực tuyến trên Cổng Dịch vụ công"), (1, "08:20", Status.PROCESSING, None))),
    _Spec("000.00.04.H51", 5, "1.001193", "Thủ tục đăng ký khai sinh", "Đặng Thị Mai", "2580", "3690",
          "UBND xã Nghĩa Hưng", "online", 0, 1,
          ((0, "07:55", Status.RECEIVED, "Nộp trực tuyến trên Cổng Dịch vụ công"),)),
    _Spec("H29.12", 8, "1.001612", "Đăng ký thành lập hộ kinh doanh", "Bùi Quang Huy", "5511", "4433",
          "Phòng Kinh tế UBND xã Đông Anh", "in_person", 6, -3,
          ((0, "10:30", Status.RECEIVED, None), (1, "09:00", Status.PROCESSING, None),
           (3, "11:00", Status.REJECTED, "Tên hộ kinh doanh trùng với hộ đã đăng ký trên địa bàn")),
          note="Tên hộ kinh doanh trùng với hộ đã đăng ký trên địa bàn"),
)


def _at(day: date, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), VIETNAM_TZ)


def demo_dossiers(today: date | None = None) -> list[Dossier]:
    """The demo set as it looks on `today` (codes carry the receipt date, as real ones do)."""
    today = today or datetime.now(VIETNAM_TZ).date()
    dossiers = []
    for spec in _SPECS:
        received = today - timedelta(days=spec.received_days_ago)
        events = tuple(
            DossierEvent(_at(received + timedelta(days=offset), hhmm), status, note)
            for offset, hhmm, status, note in spec.timeline
        )
        dossiers.append(
            Dossier(
                code=f"{spec.prefix}-{received:%y%m%d}-{spec.sequence:04d}",
                procedure_code=spec.procedure_code,
                procedure_name=spec.procedure_name,
                applicant_name=spec.applicant,
                phone_last4=spec.phone_last4,
                id_last4=spec.id_last4,
                status=events[-1].status,
                received_at=events[0].at,
                due_at=_at(today + timedelta(days=spec.due_in_days), "16:30"),
                channel=spec.channel,
                agency=spec.agency,
                missing_documents=spec.missing,
                note=spec.note,
                events=events,
            )
        )
    return dossiers


def seed_demo(registry: SQLiteCaseRegistry, today: date | None = None) -> list[Dossier]:
    """Replace the registry's demo dossiers with a fresh set; other dossiers are untouched."""
    registry.delete_source(DEMO_SOURCE)
    dossiers = demo_dossiers(today)
    for dossier in dossiers:
        registry.put(dossier, source=DEMO_SOURCE)
    return dossiers
