"""Old ward → new ward from a citizen's own words ("hang trong cu gio la phuong nao", "p. Bến Nghé, Q1, HCM").

The names come from `vietnamadminunits` (bot/knowledge/admin_units.py); this module only finds which old
ward, district and province a sentence names, with or without diacritics or unit words, and builds the reply:
the new ward, the one-stop-shop address when it is the deployment's ward (office.yml), a plain statement
otherwise, and a short choice (buttons) when the name exists in several places.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.guidance.messages import Button, Reply, payload
from bot.knowledge.admin_units import AdminUnitError, WardMapping, find_old_ward, lower_unit_type
from bot.knowledge.models import UNKNOWN_TEXT, Office
from bot.retrieval.normalize import fold
from bot.services.models import Services

MAX_CHOICES = 4
_WARD_WORDS = {("phuong",), ("p",), ("xa",), ("thi", "tran"), ("tt",)}
_DISTRICT_WORDS = {("quan",), ("q",), ("huyen",), ("h",), ("thi", "xa"), ("tx",), ("thanh", "pho"), ("tp",)}
_PROVINCE_ALIASES = {
    ("hcm",): "hochiminh", ("tphcm",): "hochiminh", ("sai", "gon"): "hochiminh", ("sg",): "hochiminh",
    ("hn",): "hanoi", ("thua", "thien", "hue"): "hue", ("ba", "ria", "vung", "tau"): "bariavungtau",
    ("vung", "tau"): "bariavungtau",
}
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6"}
_TYPE_WORDS = ("Thành phố", "Thị trấn", "Thị xã", "Phường", "Quận", "Huyện", "Tỉnh", "Xã")


@dataclass(frozen=True)
class OldWard:
    """One old ward a sentence may mean (full names as in the package)."""

    ward: str
    district: str
    province: str
    province_key: str

    @property
    def label(self) -> str:
        return f"{_bare(self.ward)} ({lower_unit_type(self.district)})"

    def as_entity(self) -> str:
        return f"{self.ward}, {self.district}, {self.province}"


def _bare(name: str) -> str:
    """'Phường Hàng Trống' -> 'Hàng Trống'; 'Phường 1' stays (a number alone names nothing)."""
    for word in _TYPE_WORDS:
        if name.startswith(word + " ") and not name[len(word) + 1:].isdigit():
            return name[len(word) + 1:]
    return name


def _words(name: str) -> tuple[str, ...]:
    return tuple(fold(_bare(name)).split())


def _type_words(name: str) -> tuple[str, ...]:
    for word in _TYPE_WORDS:
        if name.startswith(word + " "):
            return tuple(fold(word).split())
    return ()


@lru_cache(maxsize=1)
def _rows() -> list[dict[str, Any]]:
    from bot.knowledge.admin_units import _legacy_rows

    return [r for r in _legacy_rows() if r.get("ward") and r.get("district")]


@lru_cache(maxsize=1)
def _provinces() -> dict[tuple[str, ...], str]:
    """Folded province names (and common short forms) -> the package's province short key."""
    found = {_words(r["province"]): r["provinceShortKey"] for r in _rows()}
    return {**found, **_PROVINCE_ALIASES}


@lru_cache(maxsize=64)
def _index(province_key: str | None) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Folded ward name -> old wards of that name (in one province, or everywhere)."""
    index: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in _rows():
        if province_key is None or row["provinceShortKey"] == province_key:
            name = _words(row["ward"])
            index.setdefault(name, []).append(row)
            if name[-1] in _ROMAN:  # "Hải Châu I" is typed "hải châu 1"
                index.setdefault(name[:-1] + (_ROMAN[name[-1]],), []).append(row)
    return index


def _spans(words: list[str], names: set[tuple[str, ...]]) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, name) for every name found as whole words, longest first at each position."""
    longest = max((len(n) for n in names), default=0)
    found = []
    for start in range(len(words)):
        for size in range(min(longest, len(words) - start), 0, -1):
            name = tuple(words[start:start + size])
            if name in names:
                found.append((start, start + size, name))
                break
    return found


def _after(words: list[str], end: int, kinds: set[tuple[str, ...]]) -> bool:
    """Whether a unit word ("phường", "quận") stands right before position `end`."""
    return any(tuple(words[max(0, end - len(k)):end]) == k for k in kinds)


def _said_type(words: list[str], start: int) -> tuple[str, ...] | None:
    """The unit type written before a name: ("phuong",), ("xa",), ("thi", "tran"), or None."""
    before = tuple(words[max(0, start - 2):start])
    if before[-1:] in (("phuong",), ("p",)):
        return ("phuong",)
    if before[-1:] == ("xa",) and before[-2:] != ("thi", "xa"):
        return ("xa",)
    if before in (("thi", "tran"),) or before[-1:] == ("tt",):
        return ("thi", "tran")
    return None


def _province_in(words: list[str]) -> tuple[str | None, set[int]]:
    # "phường Điện Biên" is a ward, not the province of that name
    spans = [s for s in _spans(words, set(_provinces())) if not _after(words, s[0], _WARD_WORDS)]
    if not spans:
        return None, set()
    start, end, name = max(spans, key=lambda s: s[1] - s[0])
    return _provinces()[name], set(range(start, end))


def _district_spans(words: list[str], rows: list[dict[str, Any]]) -> list[tuple[set[int], set[str], bool]]:
    """(positions, old districts, strong) for each district name found among `rows`; strong: after its unit
    word ("quận Đống Đa"). A number or one-word name needs its unit word ("quận 1", "q 1")."""
    by_name: dict[tuple[str, ...], set[str]] = {}
    for row in rows:
        by_name.setdefault(_words(row["district"]), set()).add(row["district"])
    found = []
    for start, end, name in _spans(words, set(by_name)):
        preceded = _after(words, start, _DISTRICT_WORDS)
        if (name[0].isdigit() or len(name) == 1) and not preceded:
            continue
        found.append((set(range(start - (1 if preceded else 0), end)), by_name[name], preceded))
    return found


def find_in_text(text: str, province: str | None, strict: bool = False) -> list[OldWard]:
    """The old wards a sentence names; `province` (the office's) is assumed when the sentence names none.

    A one-word or numbered name counts only after a unit word ("phường 1", "xã Yên") or before "cũ";
    `strict`: every name does, and only the named or the office's province is searched. A sentence that
    names a province is searched in that province only.
    """
    words = fold(text).split()
    # "q1", "p12": a unit letter glued to its number
    words = [w for word in words for w in ((word[0], word[1:]) if len(word) > 1 and word[0] in "pq" and word[1:].isdigit() else (word,))]
    named_key, province_span = _province_in(words)
    default_key = _provinces().get(_words(province or ""), None) if province else None
    keys = [named_key] if named_key else [default_key] + ([] if strict else [None])
    for key in dict.fromkeys(keys):
        if key is None and (strict or named_key):
            continue
        found = _search(words, key, province_span, strict or key is None)
        if found:
            return found
    return []


def _search(words: list[str], province_key: str | None, skip: set[int], strict: bool = False) -> list[OldWard]:
    index = _index(province_key)
    ward_spans = [s for s in _spans(words, set(index)) if not set(range(s[0], s[1])) & skip]
    rows = [r for rs in index.values() for r in rs] if province_key else []
    districts: set[str] = set()
    taken: set[int] = set()
    for positions, names, strong in _district_spans(words, rows):
        overlapping = [a for a, b, _ in ward_spans if positions & set(range(a, b))]
        # "quận Đống Đa" is the district even if a ward has that name; so is "Hải Châu" in
        # "Thạch Thang Hải Châu" (another ward is named beside it)
        if strong or len(overlapping) < len(ward_spans):
            districts |= names
            taken |= positions
    candidates: list[dict[str, Any]] = []
    for start, end, name in ward_spans:
        if set(range(start, end)) & taken:
            continue
        preceded = _after(words, start, _WARD_WORDS)
        followed = end < len(words) and words[end] == "cu"
        if (strict or len(name) == 1 or name[0].isdigit()) and not (preceded or followed):
            continue
        rows_here = index[name]
        said = _said_type(words, start)
        if said:  # "phường 1" names "Phường 1", never "Xã 1"; elsewhere the type is a preference
            typed = [r for r in rows_here if _type_words(r["ward"]) == said]
            rows_here = typed if typed or name[0].isdigit() or province_key is None else rows_here
        candidates += rows_here
    if districts:
        in_district = [r for r in candidates if r["district"] in districts]
        candidates = in_district or candidates
    unique = {(r["ward"], r["district"], r["province"]): r for r in candidates}
    return [OldWard(w, d, p, r["provinceShortKey"]) for (w, d, p), r in unique.items()]


def _mapping(old: OldWard) -> WardMapping | None:
    try:
        return find_old_ward(old.ward, old.district, old.province)[0]
    except AdminUnitError:
        return None


def new_unit(text: str, province: str | None) -> list[WardMapping]:
    """The new units of every old ward the sentence names (for tests and the reply)."""
    return [m for m in (_mapping(o) for o in find_in_text(text, province)) if m is not None]


def ward_replies(text: str, office: Office, services: Services) -> list[Reply]:
    """The reply to "X cũ giờ là phường nào": new unit (+ the office when it serves it), or a choice, or a hint."""
    found = find_in_text(text, office.province)
    if not found:
        return [Reply(
            "Anh/chị cho tôi biết tên phường/xã cũ (trước 01/7/2025), kèm quận/huyện nếu có, "
            "ví dụ: \"phường Hàng Trống, quận Hoàn Kiếm\"."
        )]
    if len(found) > 1:
        return [_choice(found)]
    mapping = _mapping(found[0])
    if mapping is None:
        return [Reply(f"Xin lỗi, tôi chưa có dữ liệu sáp nhập của {found[0].label}. Anh/chị vui lòng liên hệ "
                      "bộ phận một cửa của phường/xã nơi cư trú.")]
    return [Reply(_answer(mapping, office, services))]


def _choice(found: list[OldWard]) -> Reply:
    if len(found) > MAX_CHOICES:
        return Reply(f"Có {len(found)} nơi tên {_bare(found[0].ward)}. Anh/chị cho biết thêm quận/huyện "
                     "(và tỉnh/thành phố) cũ giúp tôi.")
    one_province = len({o.province for o in found}) == 1
    buttons = [
        Button(o.label if one_province else f"{o.label}, {_bare(o.province)}", payload("ask_new_ward", old_ward=o.as_entity()))
        for o in found
    ]
    return Reply(f"Có nhiều nơi tên {_bare(found[0].ward)}. Anh/chị ở nơi nào ạ?", buttons)


def _answer(mapping: WardMapping, office: Office, services: Services) -> str:
    lines = [mapping.message()]
    if mapping.served_by(office.ward):
        place = office.name or f"bộ phận một cửa {lower_unit_type(office.ward or '')}"
        where = f"nộp hồ sơ tại {place}, địa chỉ: {office.address or UNKNOWN_TEXT}."
        if mapping.divided:
            where = f"Nếu nhà anh/chị thuộc phần nay là {lower_unit_type(office.ward or '')}, anh/chị " + where
        else:
            where = "Anh/chị " + where
        lines.append(where)
    else:
        lines.append(f"Hồ sơ cấp xã của anh/chị do {lower_unit_type(mapping.new_ward)} tiếp nhận; "
                     "anh/chị liên hệ bộ phận một cửa của phường/xã đó hoặc nộp trực tuyến.")
    if services.wards is not None:
        lines.append(services.wards.note)
    return "\n".join(lines)
