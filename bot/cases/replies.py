"""What the citizen reads: short Vietnamese messages (≤ 600 characters) with buttons.

Replies never carry the applicant's full name, phone or ID number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.cases.codes import DossierCodes
from bot.cases.models import Dossier, Status
from bot.privacy import mask_name

MAX_CHARS = 600

STATUS_LABELS: dict[Status, str] = {
    Status.RECEIVED: "Đã tiếp nhận",
    Status.PROCESSING: "Đang giải quyết",
    Status.SUPPLEMENT_REQUIRED: "Cần bổ sung giấy tờ",
    Status.DONE: "Đã có kết quả, chờ nhận",
    Status.RETURNED: "Đã trả kết quả",
    Status.REJECTED: "Không được giải quyết",
}

WHERE_IS_THE_CODE = (
    "Mã hồ sơ in trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả, "
    "hoặc trong tin nhắn SMS/email khi anh/chị nộp trực tuyến."
)

BUTTON_OTHER = {"title": "Tra cứu hồ sơ khác", "payload": "/check_status"}
BUTTON_RETRY = {"title": "Nhập lại", "payload": "/check_status"}
# issue 15: added after a verified lookup on channels that can notify (actions/subscriptions.py)
BUTTON_SUBSCRIBE = {"title": "Nhận thông báo khi hồ sơ thay đổi", "payload": "/subscribe_case"}


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


def _day(value: datetime) -> str:
    return value.strftime("%d/%m/%Y")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,;") + "…"


def ask_code_text(codes: DossierCodes) -> str:
    return f"Anh/chị cho tôi xin mã hồ sơ. {WHERE_IS_THE_CODE} Ví dụ: {codes.examples[0]}"


def invalid_code_text(codes: DossierCodes) -> str:
    """Said before the code is asked again (the question itself says where the code is written)."""
    examples = " hoặc ".join(codes.examples[:2])
    return f"Mã này chưa đúng dạng mã hồ sơ (ví dụ đúng: {examples})."


def verification_label(mode: str) -> str:
    return "số căn cước (CCCD)" if mode == "id_last4" else "số điện thoại đã khai khi nộp hồ sơ"


def ask_verification_text(mode: str) -> str:
    return (
        f"Để bảo vệ thông tin của anh/chị, tôi cần 4 số cuối của {verification_label(mode)}. "
        "Anh/chị chỉ nhập 4 số cuối, không cần nhập cả dãy số."
    )


def invalid_verification_text(mode: str) -> str:
    """Said before the digits are asked again."""
    return "Tôi chưa thấy đủ 4 chữ số (ví dụ: 4821)."


def no_match_reply(attempts_left: int) -> Reply:
    return Reply(
        "Mã hồ sơ hoặc 4 số xác minh chưa khớp với hồ sơ nào. Anh/chị kiểm tra lại trên Giấy hẹn trả kết quả "
        f"(còn {attempts_left} lần thử).",
        [BUTTON_RETRY],
    )


def locked_reply(retry_after_seconds: int) -> Reply:
    minutes = max(1, -(-retry_after_seconds // 60))
    wait = f"{minutes} phút" if minutes <= 90 else f"{-(-minutes // 60)} giờ"
    return Reply(
        "Mã hồ sơ hoặc 4 số xác minh đã bị nhập sai quá nhiều lần. Để bảo vệ hồ sơ, việc tra cứu tạm khóa khoảng "
        f"{wait}. Nếu cần gấp, anh/chị liên hệ Bộ phận Một cửa nơi đã nộp hồ sơ."
    )


def unavailable_reply() -> Reply:
    return Reply(
        "Hệ thống tra cứu hồ sơ đang bận, tôi chưa lấy được thông tin. Anh/chị vui lòng thử lại sau ít phút.",
        [BUTTON_RETRY],
    )


def overdue_days(dossier: Dossier, now: datetime) -> int:
    """Whole days past the appointment date for a dossier the agency has not finished (0 if on time)."""
    if dossier.due_at is None or dossier.status.finished:
        return 0
    return max(0, (now.astimezone(dossier.due_at.tzinfo).date() - dossier.due_at.date()).days)


def _next_step(dossier: Dossier, late: int) -> str:
    place = dossier.agency or "Bộ phận Một cửa nơi nộp hồ sơ"
    if dossier.status is Status.SUPPLEMENT_REQUIRED:
        shown = [_short(d, 80) for d in dossier.missing_documents[:3]]
        more = len(dossier.missing_documents) - len(shown)
        docs = "; ".join(shown) or "xem thông báo của cơ quan"
        if more > 0:
            docs += f" và {more} giấy tờ khác (xem thông báo bổ sung)"
        where = "trên Cổng Dịch vụ công" if dossier.channel == "online" else f"tại {place}"
        return f"Cần bổ sung: {docs}. Anh/chị nộp bổ sung {where}, mang theo Giấy hẹn trả kết quả."
    if dossier.status is Status.DONE:
        return f"Anh/chị mang Giấy hẹn trả kết quả và thẻ căn cước đến {place} để nhận kết quả."
    if dossier.status is Status.RETURNED:
        return "Hồ sơ đã hoàn tất, anh/chị không cần làm gì thêm."
    if dossier.status is Status.REJECTED:
        reason = f"Lý do: {_short(dossier.note, 120)}. " if dossier.note else ""
        return f"{reason}Anh/chị xem văn bản trả lời của cơ quan; có thể sửa lại và nộp hồ sơ mới."
    if late:
        return (
            f"Hồ sơ đã quá hẹn {late} ngày. Cơ quan phải gửi văn bản xin lỗi và hẹn lại ngày trả; "
            f"anh/chị có thể hỏi {place}."
        )
    return "Anh/chị chưa cần làm gì thêm, chờ đến ngày hẹn; có thể tra cứu lại bất cứ lúc nào."


def next_step_text(dossier: Dossier, now: datetime) -> str:
    """What the citizen should do now (also said in a change notice, bot/subscriptions)."""
    return _next_step(dossier, overdue_days(dossier, now))


def _procedure_name(dossier: Dossier) -> str:
    name = dossier.procedure_name.strip()
    if name.lower().startswith("thủ tục "):
        name = name[len("thủ tục "):]
        name = name[:1].upper() + name[1:]
    return name


def _timeline(dossier: Dossier) -> list[str]:
    return [f"• {e.at:%d/%m %H:%M} {STATUS_LABELS[e.status]}" for e in dossier.events]


def answer_reply(dossier: Dossier, now: datetime, max_chars: int = MAX_CHARS) -> Reply:
    """The status of a verified dossier: what, when, where it is now, what happened, what to do."""
    late = overdue_days(dossier, now)
    label = STATUS_LABELS[dossier.status]
    if dossier.due_at is None or dossier.status is Status.RETURNED:
        timing = ""
    elif late:
        timing = f" (quá hẹn {late} ngày)"
    elif dossier.status.finished:
        timing = ""
    else:
        timing = " (đúng hạn)"
    due = f" · Hẹn trả: {_day(dossier.due_at)}" if dossier.due_at else ""
    name = mask_name(dossier.applicant_name)
    events = _timeline(dossier)
    next_step = _next_step(dossier, late)
    for procedure_limit, keep_events in ((110, len(events)), (80, 4), (60, 2), (50, 0)):
        shown = events if len(events) <= keep_events else events[:1] + ["• …"] + events[-(keep_events - 1):]
        if keep_events == 0:
            shown = []
        lines = [
            f"Hồ sơ {dossier.code}",
            f"Thủ tục: {_short(_procedure_name(dossier), procedure_limit)}",
        ]
        if name:
            lines.append(f"Người nộp: {name}")
        lines += [
            f"Tiếp nhận: {_day(dossier.received_at)}{due}",
            f"Tình trạng: {label}{timing}",
        ]
        if shown:
            lines += ["Diễn biến:", *shown]
        lines.append(f"Việc cần làm: {next_step}")
        text = "\n".join(lines)
        if len(text) <= max_chars:
            break
    text = _short(text, max_chars)
    buttons = []
    if dossier.status is Status.SUPPLEMENT_REQUIRED and dossier.procedure_code:
        buttons.append(
            {
                "title": "Xem giấy tờ của thủ tục",
                "payload": '/select_procedure{"procedure_code":"%s"}' % dossier.procedure_code,
            }
        )
    buttons.append(BUTTON_OTHER)
    return Reply(text, buttons)
