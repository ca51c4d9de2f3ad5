"""Answers about the ward's service point ("ở đâu", "mấy giờ", "trả tiền thế nào", "phường cũ").

Every sentence comes from `knowledge/office.yml`; a value the ward has not filled
is said to be unknown ("chưa có thông tin"), never guessed, and a value filled
from usual public practice is flagged "(cần xác nhận)".
"""

from __future__ import annotations

from pathlib import Path

from bot.knowledge.admin_units import AdminUnitError, find_old_ward, lower_unit_type
from bot.knowledge.models import UNKNOWN_TEXT, Office

TO_CONFIRM_MARK = " (thông tin đang chờ phường xác nhận)"


def load_office(path: Path) -> Office:
    """Read one office file; raises KnowledgeBaseError listing every error."""
    from bot.knowledge.loader import KnowledgeBaseError
    from bot.knowledge.validator import parse_office_file

    office, errors = parse_office_file(Path(path))
    if errors:
        raise KnowledgeBaseError(errors, Path(path))
    return office


def _mark(office: Office, field_name: str) -> str:
    return TO_CONFIRM_MARK if field_name in office.to_confirm else ""


def _place(office: Office) -> str:
    return office.name or (f"bộ phận một cửa {office.ward}" if office.ward else "bộ phận một cửa của phường")


def where_text(office: Office) -> str:
    """Where to submit in person."""
    place = _place(office) + _mark(office, "name")
    if office.address:
        return f"Anh/chị nộp hồ sơ trực tiếp tại {place}, địa chỉ: {office.address}."
    return f"Anh/chị nộp hồ sơ trực tiếp tại {place}. Địa chỉ cụ thể: {UNKNOWN_TEXT}."


def hours_text(office: Office) -> str:
    if not office.opening_hours:
        return f"Giờ làm việc của {_place(office)}: {UNKNOWN_TEXT}."
    parts = "; ".join(f"{h.days}: {h.hours}" for h in office.opening_hours)
    return f"Giờ tiếp nhận hồ sơ: {parts}{_mark(office, 'opening_hours')}."


def contact_text(office: Office) -> str:
    phone = office.phone or UNKNOWN_TEXT
    queue = office.online_queue_url or UNKNOWN_TEXT
    return f"Số điện thoại: {phone}. Lấy số thứ tự trực tuyến: {queue}."


def payment_text(office: Office) -> str:
    if not office.payment_options:
        return f"Cách nộp phí, lệ phí: {UNKNOWN_TEXT}."
    options = "; ".join(o.name + (f" ({o.note})" if o.note else "") for o in office.payment_options)
    return f"Anh/chị có thể nộp phí, lệ phí qua: {options}{_mark(office, 'payment_options')}."


def old_ward_text(office: Office, ward: str, district: str | None = None) -> str:
    """Map a citizen's old ward (before 1/7/2025) to the new one and say whether this office serves it."""
    try:
        mappings = find_old_ward(ward, district, province=office.province or "Hà Nội")
    except AdminUnitError as exc:
        return f"Xin lỗi, {exc}. Anh/chị vui lòng kiểm tra lại tên phường/xã và quận/huyện cũ."
    if len(mappings) > 1 and district is None:
        options = "; ".join(f"{m.old_ward} ({m.old_district})" for m in mappings)
        return f"Có nhiều nơi tên {ward.strip()}: {options}. Anh/chị cho biết quận/huyện cũ để tra chính xác."
    mapping = mappings[0]
    sentence = mapping.message()
    if mapping.served_by(office.ward):
        return f"{sentence} Anh/chị có thể làm thủ tục tại {_place(office)}."
    return f"{sentence} Anh/chị liên hệ bộ phận một cửa của {lower_unit_type(mapping.new_ward)} để được hỗ trợ."
