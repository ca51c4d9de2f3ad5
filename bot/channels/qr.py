"""QR code of the document checklist for the kiosk, made locally with segno (no web service).

The citizen scans it from the kiosk screen and leaves with the checklist on the phone.
"""

from __future__ import annotations

from typing import Any, Mapping

import segno

from bot.channels.common import checklist_text

TRUNCATED_NOTE = "… (danh sách còn tiếp, xem đủ trên màn hình)"


def qr_svg_data_uri(text: str) -> str:
    """SVG data URI of a QR code for `text` (byte mode, error level L boosted when it fits)."""
    code = segno.make(text, error="l", micro=False)
    return code.svg_data_uri(scale=6, border=3, dark="#000", light="#fff")


def checklist_qr(custom: Mapping[str, Any]) -> dict[str, str]:
    """QR of the checklist text; drops trailing items when the text is too long for one code."""
    items = list(custom.get("items") or [])
    for keep in range(len(items), -1, -1):
        text = checklist_text({**custom, "items": items[:keep]})
        if keep < len(items):
            text += "\n" + TRUNCATED_NOTE
        try:
            return {"svg": qr_svg_data_uri(text), "text": text}
        except segno.DataOverflowError:
            continue
    raise ValueError("checklist header too long for a QR code")
