"""Message builders: every fact is read from the knowledge base, never written here.

The only fixed words are the connecting phrases ("Lệ phí:", "Bước 2/5:"). A
value nobody has filled in is said as "chưa có thông tin" (`UNKNOWN_TEXT`).
Each builder returns `Reply` objects whose text fits `MAX_MESSAGE_CHARS`.
"""

from __future__ import annotations

from bot.guidance import catalog_walk
from bot.guidance.checklist import Checklist, document_line
from bot.guidance.messages import MAX_MESSAGE_CHARS, Button, Reply, pack_lines, payload, shorten
from bot.knowledge import UNKNOWN_TEXT, Channel, ChannelGuides, Office, Procedure
from bot.knowledge.models import CHANNEL_LABELS

# Channel kinds in button order, with their intents (payloads) and button titles.
CHANNEL_INTENTS = {"online": "choose_online", "in_person": "choose_in_person", "postal": "choose_postal"}
CHANNEL_BUTTONS = {"online": "Trực tuyến", "in_person": "Trực tiếp", "postal": "Qua bưu điện"}
CHANNEL_WORDS = {"online": "trực tuyến", "in_person": "trực tiếp", "postal": "qua bưu chính"}
_CHOICE_WORDS = {"online": "trực tuyến", "in_person": "trực tiếp tại bộ phận một cửa", "postal": "qua bưu điện"}

STEP_BUTTONS = [
    Button("Bước tiếp", payload("next_step")),
    Button("Quay lại", payload("previous_step")),
    Button("Xem giấy tờ", payload("ask_documents")),
    Button("Kết thúc", payload("end_walk")),
]
HANDOFF_BUTTON = Button("Gặp cán bộ", payload("human_handoff"))
YES_NO_BUTTONS = [Button("Có", payload("affirm")), Button("Không", payload("deny"))]


def citation(procedure: Procedure) -> str:
    """Code, national portal link and the date the facts were checked (catalogue: that nobody checked them)."""
    if catalog_walk.is_catalog(procedure):
        return f"Mã {procedure.code} · {catalog_walk.DISCLAIMER}\nNguồn: {procedure.source or UNKNOWN_TEXT}"
    checked = procedure.verified_on.strftime("%d/%m/%Y") if procedure.verified_on else UNKNOWN_TEXT
    source = procedure.source or UNKNOWN_TEXT
    return f"Mã {procedure.code} · cập nhật {checked}\nNguồn: {source}"


def _channels_for(procedure: Procedure, channel: str | None) -> list[Channel]:
    chosen = procedure.channel(channel) if channel else None
    return [chosen] if chosen else list(procedure.channels)


def _per_channel(procedure: Procedure, channel: str | None, attribute: str, with_notes: bool) -> str:
    """"Miễn phí" when every channel says the same, else "Trực tuyến: …; Trực tiếp: …"."""
    channels = _channels_for(procedure, channel)
    if not channels:
        return UNKNOWN_TEXT
    texts: list[str] = []
    for item in channels:
        value = getattr(item, attribute)
        text = value.text() if value is not None else UNKNOWN_TEXT
        if with_notes and value is not None and value.note:
            text += f" ({value.note.rstrip('.')})"
        texts.append(text)
    if len(set(texts)) == 1:
        return texts[0]
    return "; ".join(f"{CHANNEL_LABELS[c.kind]}: {t}" for c, t in zip(channels, texts))


def fee_text(procedure: Procedure, channel: str | None = None, with_notes: bool = False) -> str:
    return _per_channel(procedure, channel, "fee", with_notes)


def time_text(procedure: Procedure, channel: str | None = None, with_notes: bool = False) -> str:
    return _per_channel(procedure, channel, "processing_time", with_notes)


def office_hours(office: Office) -> str:
    if not office.opening_hours:
        return UNKNOWN_TEXT
    return "; ".join(f"{h.days}: {h.hours}" for h in office.opening_hours)


def office_place(office: Office) -> str:
    name = office.name or office.ward
    if name and office.address:
        return f"{name}, {office.address}"
    return name or office.address or UNKNOWN_TEXT


def summary(procedure: Procedure, office: Office) -> Reply:
    """Step 2 of the walk: what it is, what you get, cost, time, where, code and source."""
    catalog = catalog_walk.is_catalog(procedure)  # the portal's fee notes hold the amounts ("Miễn phí (135.000 đồng…)")
    lines = [
        f"{shorten(procedure.name, 160)} (mã {procedure.code})",
        f"Kết quả: {shorten(procedure.result or UNKNOWN_TEXT, 100 if catalog else 140)}",
        f"Lệ phí: {shorten(fee_text(procedure, with_notes=catalog), 120 if catalog else 90)}",
        f"Thời gian: {shorten(time_text(procedure), 90)}",
        f"Nơi nộp: {shorten(procedure.agency or UNKNOWN_TEXT, 90)}",
    ]
    if procedure.level and "xa" in procedure.level:
        lines.append(f"Tại phường: {shorten(office_place(office), 110)}")
    text = "\n".join(lines)
    cite = citation(procedure)
    if len(text) + len(cite) + 1 > MAX_MESSAGE_CHARS:
        text = shorten(text, MAX_MESSAGE_CHARS - len(cite) - 1)
    return Reply(f"{text}\n{cite}")


def not_at_ward(procedure: Procedure) -> list[Reply]:
    """Said right after the summary of a procedure the ward does not handle: who does, where, online or not."""
    if catalog_walk.handled_at_ward(procedure):
        return []
    return [Reply("\n".join(shorten(line, 190) for line in catalog_walk.where_lines(procedure)))]


def offered_channels(procedure: Procedure) -> list[str]:
    """The channel kinds the procedure offers, in button order."""
    return [kind for kind in CHANNEL_INTENTS if procedure.channel(kind)]


def _not_offered(procedure: Procedure, refused: str | None) -> str:
    return f"Thủ tục {procedure.display_name} không nộp {CHANNEL_WORDS[refused]} được. " if refused else ""


def channel_question(procedure: Procedure, refused: str | None = None) -> Reply | None:
    """Step 3: buttons only for the channels the procedure offers; None when there is no choice.

    `refused`: a channel the citizen asked for that this procedure does not offer (said first).
    """
    offered = offered_channels(procedure)
    if len(offered) < 2:
        return None
    choices = [_CHOICE_WORDS[kind] for kind in offered]
    if not catalog_walk.handled_at_ward(procedure):  # not the ward's desk: the agency's
        choices = [w.replace("bộ phận một cửa", "cơ quan giải quyết") for w in choices]
    said = ", ".join(choices[:-1]) + f" hay {choices[-1]}"
    buttons = [Button(CHANNEL_BUTTONS[kind], payload(CHANNEL_INTENTS[kind])) for kind in offered]
    return Reply(f"{_not_offered(procedure, refused)}Anh/chị muốn nộp hồ sơ {said}? Tôi sẽ hướng dẫn theo cách anh/chị chọn.", buttons)


def channel_note(procedure: Procedure, channel: str, refused: str | None = None) -> str:
    return f"{_not_offered(procedure, refused)}Thủ tục này chỉ nộp {CHANNEL_WORDS[channel]}, tôi hướng dẫn theo cách đó."


def case_question(procedure: Procedure, index: int) -> Reply:
    """Step 4: one `cases` question with one button per answer (payload carries the answer number).

    "Câu 2/3" counts only the questions the walk asks (`ask: false` ones are never asked).
    """
    case = procedure.cases[index]
    asked = procedure.asked_cases()
    total = len(asked)
    buttons = [
        Button(shorten(answer.label, 60), payload("answer_case", case_answer=str(number)))
        for number, answer in enumerate(case.answers, start=1)
    ]
    buttons.append(Button("Xem giấy tờ ngay", payload("ask_documents")))
    position = next((n for n, c in enumerate(asked, start=1) if c is case), 1)
    prefix = f"Câu {position}/{total}: " if total > 1 else ""
    return Reply(f"{prefix}{case.question}", buttons)


def checklist_replies(procedure: Procedure, checklist: Checklist, channel: str | None) -> list[Reply]:
    """Step 5: the documents, split into short messages; the first carries the kiosk's `custom` payload."""
    how = f" (nộp {CHANNEL_WORDS[channel]})" if channel else ""
    header = f"Giấy tờ cần chuẩn bị cho {procedure.display_name}{how}:"
    items = checklist.item_texts()
    lines = [header] + [f"{n}. {item}" for n, item in enumerate(items, start=1)]
    if not items and not checklist.maybe:
        lines.append(f"Danh sách giấy tờ: {UNKNOWN_TEXT}.")
    if checklist.maybe:  # the heading travels with its first line, never alone at a message's end
        maybe = [f"- {document_line(d)}" + (f" (nếu: {d.when})" if d.when else "") for d in checklist.maybe]
        if not items:  # every document the record lists applies only in some cases: those are the list
            items = [line[2:] for line in maybe]
        lines.append("Tùy trường hợp, có thể cần thêm:\n" + maybe[0])
        lines.extend(maybe[1:])
    lines.append(citation(procedure))
    texts = pack_lines(lines)
    custom = {"kind": "checklist", "code": procedure.code, "name": procedure.display_name, "items": items}
    replies = [Reply(text) for text in texts]
    replies[0].custom = custom
    return replies


def after_checklist_prompt(procedure: Procedure) -> Reply:
    buttons = [Button("Xem các bước", payload("ask_steps")), HANDOFF_BUTTON, Button("Kết thúc", payload("end_walk"))]
    return Reply("Anh/chị muốn tôi hướng dẫn từng bước thực hiện không?", buttons)


def steps_for(procedure: Procedure, channel: str | None, guides: ChannelGuides | None = None) -> list[str]:
    """The procedure's own steps; postal steps are the generic ones of knowledge/channels.yml.

    A catalogue record's steps are the portal's text, shaped into short numbered steps; away from the
    ward its postal steps are its own too (the generic ones send the dossier to the ward).
    """
    if catalog_walk.is_catalog(procedure):
        own = procedure.steps_in_person if channel != "online" else procedure.steps_online
        if channel == "postal" and catalog_walk.handled_at_ward(procedure):
            own = []  # the generic postal steps (to the ward) apply
        if own or channel != "postal":
            return catalog_walk.shape_steps(list(own))
    if channel == "online":
        return list(procedure.steps_online)
    if channel == "in_person":
        return list(procedure.steps_in_person)
    if channel == "postal" and guides is not None and guides.postal is not None:
        return list(guides.postal.steps)
    return []


def step_reply(steps: list[str], index: int, note: str | None = None) -> Reply:
    """Step 6: one step with the walk buttons; `note` (e.g. where generic steps come from) under it."""
    tail = f"\n({note})" if note else ""
    text = f"Bước {index + 1}/{len(steps)}: {shorten(steps[index], MAX_MESSAGE_CHARS - 20 - len(tail))}{tail}"
    return Reply(text, list(STEP_BUTTONS))


def postal_note(guides: ChannelGuides) -> str | None:
    """Said under the first postal step: these steps are general, with their legal source."""
    if guides.postal is None:
        return None
    return f"Các bước chung khi nộp qua bưu điện, theo {shorten(guides.postal.source, 200)}"


def no_steps_reply(procedure: Procedure, channel: str | None) -> Reply:
    how = f" khi nộp {CHANNEL_WORDS[channel]}" if channel else ""
    return Reply(
        f"Tôi chưa có hướng dẫn từng bước{how} cho thủ tục này. Anh/chị xem chi tiết tại trang của thủ tục:\n"
        f"{citation(procedure)}",
        [HANDOFF_BUTTON],
    )


def fee_reply(procedure: Procedure, channel: str | None) -> Reply:
    text = f"Lệ phí {procedure.display_name}: {shorten(fee_text(procedure, channel, with_notes=True), 300)}"
    return Reply(f"{text}\n{citation(procedure)}")


def time_reply(procedure: Procedure, channel: str | None) -> Reply:
    text = f"Thời gian giải quyết {procedure.display_name}: {shorten(time_text(procedure, channel, with_notes=True), 300)}"
    return Reply(f"{text}\n{citation(procedure)}")


def where_reply(procedure: Procedure | None, office: Office, channel: str | None) -> Reply:
    """Where to submit: the agency (procedure), the ward's address, hours and phone (office.yml)."""
    lines: list[str] = []
    if procedure is not None:
        lines.append(f"Cơ quan giải quyết: {shorten(procedure.agency or UNKNOWN_TEXT, 140)}")
    if procedure is not None and not catalog_walk.handled_at_ward(procedure):
        lines = [shorten(line, 200) for line in catalog_walk.where_lines(procedure)]
    elif procedure is None or "xa" in procedure.level:
        lines.append(f"Nơi tiếp nhận: {shorten(office_place(office), 160)}")
        lines.append(f"Giờ làm việc: {shorten(office_hours(office), 160)}")
        lines.append(f"Điện thoại: {office.value_or_unknown('phone')}")
    if procedure is not None and channel in (None, "online") and procedure.channel("online"):
        lines.append(f"Nộp trực tuyến: {office.online_portal_url or procedure.source or UNKNOWN_TEXT}")
    if procedure is not None:
        lines.append(citation(procedure))
    return Reply(pack_lines(lines)[0])


def recap(procedure: Procedure, channel: str | None, checklist: Checklist, documents_shown: bool = True) -> list[Reply]:
    """Step 7: recap, how to follow the dossier, and the feedback question.

    `documents_shown`: whether the checklist was sent in this walk; if not, the recap says so
    instead of pointing to a list the citizen never saw.
    """
    how = CHANNEL_WORDS.get(channel or "", "")
    documents = f"{len(checklist.documents)} loại theo danh sách đã gửi" if checklist.documents else UNKNOWN_TEXT
    if not checklist.documents and checklist.maybe:
        documents = f"{len(checklist.maybe)} loại tùy trường hợp, theo danh sách đã gửi"
    if not documents_shown:
        documents = "anh/chị chưa xem danh sách, bấm \"Xem giấy tờ\" để xem"
    lines = [
        f"Tóm tắt: {procedure.display_name}{f' (nộp {how})' if how else ''}.",
        f"Giấy tờ: {documents}.",
        f"Lệ phí: {shorten(fee_text(procedure, channel), 80)}. Thời gian: {shorten(time_text(procedure, channel), 80)}.",
        citation(procedure),
    ]
    follow = (
        "Sau khi nộp, anh/chị giữ mã hồ sơ ghi trên phiếu hẹn/biên nhận. "
        "Muốn biết hồ sơ đến đâu, anh/chị nhắn \"tra cứu hồ sơ\" kèm mã đó, tôi kiểm tra giúp."
    )
    return [
        Reply(pack_lines(lines)[0], [Button("Xem giấy tờ", payload("ask_documents"))]),
        Reply(follow),
        Reply("Thông tin có hữu ích không?", list(YES_NO_BUTTONS)),
    ]


def ambiguous_reply(titles: list[tuple[str, str]]) -> Reply:
    """(code, title) pairs → "Anh/chị muốn hỏi thủ tục nào?" with one button each."""
    buttons = [Button(shorten(title, 60), payload("select_procedure", procedure_code=code)) for code, title in titles]
    return Reply("Anh/chị muốn hỏi thủ tục nào?", buttons)


def unknown_reply(examples: list[str]) -> Reply:
    lines = ["Xin lỗi, tôi chưa tìm được thủ tục phù hợp với câu hỏi của anh/chị."]
    if examples:
        lines.append("Anh/chị thử hỏi theo cách như: " + " hoặc ".join(f"\"{e}\"" for e in examples) + ".")
    lines.append("Hoặc anh/chị có thể gặp cán bộ để được hỗ trợ.")
    return Reply(" ".join(lines), [HANDOFF_BUTTON])


def switch_question(current: Procedure, target: Procedure) -> Reply:
    return Reply(
        f"Anh/chị muốn chuyển sang thủ tục {target.display_name} (mã {target.code})? "
        f"Hướng dẫn {current.display_name} đang làm sẽ dừng lại.",
        [Button("Có, chuyển", payload("affirm")), Button("Không", payload("deny"))],
    )


def redirect_reply(reason: str | None, target: Procedure) -> Reply:
    why = f"{reason.rstrip('.')}. " if reason else ""
    return Reply(f"{why}Tôi chuyển sang hướng dẫn thủ tục {target.display_name} (mã {target.code}).")


def resume_prompt(step_number: int) -> Reply:
    return Reply(
        f"Tiếp tục từ bước {step_number}?",
        [Button("Tiếp tục", payload("affirm")), Button("Kết thúc", payload("end_walk"))],
    )


def document_lines(procedure: Procedure, ids: list[str]) -> list[str]:
    by_id = {d.id: d for d in procedure.documents}
    return [document_line(by_id[i]) for i in ids if i in by_id]


def service_down_text(office: Office) -> str:
    """Rasa's own reply when the action server is unreachable (domain.yml `utter_service_down`).

    Built from office.yml like every other fact; `python -m bot dialogue sync-office` writes it into
    domain.yml and tests/test_guidance_office_sync.py checks the two agree.
    """
    contact = office.name or office.ward or "bộ phận một cửa của phường"
    details = [f"giờ làm việc: {office_hours(office)}"]
    if office.phone:
        details.insert(0, f"điện thoại {office.phone}")
    if office.address:
        details.append(f"địa chỉ: {office.address}")
    return (
        "Xin lỗi anh/chị, hệ thống tra cứu đang tạm gián đoạn. Anh/chị vui lòng thử lại sau ít phút "
        f"hoặc liên hệ {contact} ({'; '.join(details)})."
    )
