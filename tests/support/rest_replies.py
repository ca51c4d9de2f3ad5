"""Reading the walk's replies as the REST channel delivers them (text and buttons; no `custom` payload there)."""

from __future__ import annotations

import re


def checklist_of(messages: list[dict]) -> dict | None:
    """The checklist as the REST channel shows it: text only (its `custom` payload would come as a message of
    its own, an empty bubble, so it is not sent on REST). Items are the numbered lines; when every document
    applies only in some cases, the "Tùy trường hợp" lines are the list (as in the kiosk's payload)."""
    texts = [m.get("text") or "" for m in messages]
    start = next((i for i, text in enumerate(texts) if text.startswith("Giấy tờ cần chuẩn bị")), None)
    if start is None:
        return None
    joined = "\n".join(texts[start:])
    code = re.search(r"Mã (\d\.\d{6})", joined)
    items = re.findall(r"^\d+\. (.+)$", joined, re.M)
    if not items and "Tùy trường hợp" in joined:
        items = re.findall(r"^- (.+)$", joined.split("Tùy trường hợp", 1)[1], re.M)
    return {"code": code.group(1) if code else None, "items": items}
