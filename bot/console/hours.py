"""Is the ward open now, and when does it open next? Read from `knowledge/office.yml` opening_hours.

The file says it in words ("Thứ Hai đến Thứ Sáu", "Sáng 8h00–12h00, chiều 13h30–17h00"), as citizens read it;
this turns those words into weekday + time ranges. Times are Vietnam time (UTC+7).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Iterable

VIETNAM = dt.timezone(dt.timedelta(hours=7))
_DAYS = {"hai": 0, "ba": 1, "tu": 2, "nam": 3, "sau": 4, "bay": 5, "chu nhat": 6, "cn": 6}
_RANGE = re.compile(r"(\d{1,2})\s*(?:h|g|:)\s*(\d{2})?\s*[–—-]\s*(\d{1,2})\s*(?:h|g|:)\s*(\d{2})?")
_DAY_NAMES = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]

Slot = tuple[int, dt.time, dt.time]  # weekday (Monday 0), start, end


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


def parse_days(text: str) -> set[int]:
    """'Thứ Hai đến Thứ Sáu' -> {0..4}; 'Sáng Thứ Bảy' -> {5}; 'Thứ Hai, Thứ Tư' -> {0, 2}."""
    plain = _plain(text)
    found = re.findall(r"thu (hai|bay|ba|tu|nam|sau)\b|(chu nhat)", plain)
    numbers = [_DAYS[a or b] for a, b in found]
    if len(numbers) == 2 and re.search(r"den|[–—-]", plain):
        return set(range(numbers[0], numbers[1] + 1))
    return set(numbers)


def parse_ranges(text: str) -> list[tuple[dt.time, dt.time]]:
    return [(dt.time(int(a), int(b or 0)), dt.time(int(c), int(d or 0))) for a, b, c, d in _RANGE.findall(text)]


def opening_slots(opening_hours: Iterable[object]) -> list[Slot]:
    """Slots from the office's `opening_hours` entries (objects with `days` and `hours`)."""
    slots: list[Slot] = []
    for entry in opening_hours:
        for day in sorted(parse_days(str(getattr(entry, "days", "")))):
            slots += [(day, start, end) for start, end in parse_ranges(str(getattr(entry, "hours", "")))]
    return slots


def is_open(slots: list[Slot], now: dt.datetime) -> bool:
    local = now.astimezone(VIETNAM)
    return any(day == local.weekday() and start <= local.time() < end for day, start, end in slots)


def next_opening(slots: list[Slot], now: dt.datetime) -> dt.datetime | None:
    """The next start of a slot after `now` (Vietnam time); None when the hours are unknown."""
    local = now.astimezone(VIETNAM)
    for offset in range(8):
        date = (local + dt.timedelta(days=offset)).date()
        starts = sorted(s for d, s, _e in slots if d == date.weekday())
        for start in starts:
            moment = dt.datetime.combine(date, start, tzinfo=VIETNAM)
            if moment > local:
                return moment
    return None


def when_text(moment: dt.datetime) -> str:
    """'8h00 Thứ Hai, 07/12' for a citizen."""
    return f"{moment.hour}h{moment.minute:02d} {_DAY_NAMES[moment.weekday()]}, {moment:%d/%m}"
