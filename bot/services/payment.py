""""Trả phí bằng cách nào?": the procedure's fee for the chosen way of submitting and the ways to pay it.

The fee comes from the procedure file, the ways to pay from `knowledge/services/payment.yml`; during a walk
only the methods of the chosen channel are listed, so a citizen filing online is not told about the desk.
"""

from __future__ import annotations

from bot.guidance.messages import Reply, pack_lines, shorten
from bot.guidance.texts import CHANNEL_WORDS, fee_text
from bot.knowledge import Procedure
from bot.knowledge.models import Office
from bot.services.models import PaymentMethod, Services

NO_GUIDE = "Tôi chưa có hướng dẫn về cách nộp phí, lệ phí. Anh/chị vui lòng hỏi bộ phận một cửa của phường."


def _is_free(procedure: Procedure, channel: str | None) -> bool:
    chosen = procedure.channel(channel) if channel else None
    channels = [chosen] if chosen else list(procedure.channels)
    return bool(channels) and all(c.fee is not None and c.fee.free for c in channels)


def method_lines(methods: list[PaymentMethod]) -> list[str]:
    return [f"• {m.name}: {m.summary}" for m in methods]


def payment_replies(services: Services, office: Office, procedure: Procedure | None, channel: str | None) -> list[Reply]:
    """For the current procedure and channel when there is one, else every way to pay by channel."""
    methods = services.payment_methods(channel, office.province)
    if not methods:
        return [Reply(NO_GUIDE)]
    if procedure is None:
        return [_overview(services, office)]
    how = f" khi nộp {CHANNEL_WORDS[channel]}" if channel in CHANNEL_WORDS else ""
    fee = shorten(fee_text(procedure, channel, with_notes=True), 200)
    lines = [f"Lệ phí {procedure.display_name}{how}: {fee}."]
    if _is_free(procedure, channel):
        lines.append("Thủ tục này không phải nộp lệ phí nên anh/chị không cần thanh toán.")
        return [Reply("\n".join(lines))]
    lines.append("Anh/chị có thể thanh toán:" if channel else "Cách thanh toán theo từng cách nộp hồ sơ:")
    lines += method_lines(methods)
    lines.append(_source_line(methods))
    return [Reply(text) for text in pack_lines(lines)]


def _source_line(methods: list[PaymentMethod]) -> str:
    """The first reference of each method (the full list is in payment.yml), the date, and a caution if needed."""
    sources = list(dict.fromkeys(m.source.split(";")[0].strip() for m in methods))
    line = f"Nguồn: {'; '.join(sources)} (cập nhật {max(m.verified_on for m in methods):%d/%m/%Y})."
    if any(m.to_confirm for m in methods):
        line += " Một số chi tiết đang chờ phường xác nhận."
    return line


def _overview(services: Services, office: Office) -> Reply:
    """No procedure yet: the ways to pay for each way of submitting, names only, and which procedure?"""
    lines = ["Cách nộp phí, lệ phí thủ tục hành chính:"]
    for kind, words in CHANNEL_WORDS.items():
        names = [m.name for m in services.payment_methods(kind, office.province)]
        if names:
            lines.append(f"• Nộp {words}: {', '.join(names)}.")
    lines.append(_source_line(services.payment_methods(None, office.province)))
    lines.append("Anh/chị đang làm thủ tục nào? Tôi sẽ báo lệ phí và cách thanh toán cho thủ tục đó.")
    return Reply("\n".join(lines))
