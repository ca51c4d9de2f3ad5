"""Old ward / district (before 1 July 2025) -> new ward, with the `vietnamadminunits` package.

Since 1 July 2025 districts are gone and wards were merged, but citizens still
name their old ward ("phường Hàng Trống, quận Hoàn Kiếm"). The package's
`convert_address` gives the new ward (its default when the old ward was split);
its bundled conversion table tells which other new wards took a part, so the
bot can say "một phần thuộc ..." instead of sounding surer than it is.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

DEFAULT_PROVINCE = "Hà Nội"
_WARD_PREFIX = re.compile(r"^\s*(?:phường|phuong|p\.|xã|xa|thị trấn|thi tran|tt\.?)\s+", re.IGNORECASE)
_DISTRICT_PREFIX = re.compile(
    r"^\s*(?:quận|quan|q\.|huyện|huyen|h\.|thị xã|thi xa|tx\.?|thành phố|thanh pho|tp\.?)\s+", re.IGNORECASE
)
_PROVINCE_PREFIX = re.compile(r"^\s*(?:thành phố|thanh pho|tp\.?|tỉnh|tinh)\s+", re.IGNORECASE)


class AdminUnitError(ValueError):
    """An old ward / district that cannot be looked up (empty or unknown)."""


def unit_key(text: str) -> str:
    """'Hàng Trống' -> 'hangtrong' (the package's key style: no accents, no spaces)."""
    text = unicodedata.normalize("NFD", text.strip().lower()).replace("đ", "d")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return re.sub(r"[^a-z0-9]", "", text)


def lower_unit_type(name: str) -> str:
    """'Phường Hoàn Kiếm' -> 'phường Hoàn Kiếm' (unit type in lower case mid-sentence)."""
    head, _, rest = name.partition(" ")
    if head in {"Phường", "Xã", "Quận", "Huyện"}:
        return f"{head.lower()} {rest}"
    if name.startswith(("Thị trấn", "Thị xã")):
        return name[0].lower() + name[1:]
    return name


@dataclass(frozen=True)
class WardMapping:
    """Where an old ward went; `also_in` lists other new wards that received part of it."""

    old_ward: str
    old_district: str
    province: str
    new_ward: str
    also_in: tuple[str, ...] = field(default_factory=tuple)

    @property
    def divided(self) -> bool:
        return bool(self.also_in)

    def message(self) -> str:
        """Vietnamese sentence for a citizen, e.g. "Phường Hàng Trống (quận Hoàn Kiếm) cũ nay thuộc phường Hoàn Kiếm."."""
        old = f"{self.old_ward} ({lower_unit_type(self.old_district)}) cũ"
        new = lower_unit_type(self.new_ward)
        if not self.also_in:
            return f"{old} nay thuộc {new}, {self.province}."
        others = ", ".join(lower_unit_type(w) for w in self.also_in)
        return (
            f"{old} nay phần lớn thuộc {new}, {self.province}; một phần thuộc {others}. "
            "Anh/chị vui lòng cho biết số nhà, tên đường để xác định chính xác."
        )

    def served_by(self, ward: str | None) -> bool:
        """Whether the new ward `ward` (e.g. the office's) covers at least part of this old ward."""
        if not ward:
            return False
        key = unit_key(_WARD_PREFIX.sub("", ward))
        return any(unit_key(_WARD_PREFIX.sub("", w)) == key for w in (self.new_ward, *self.also_in))


@lru_cache(maxsize=1)
def _legacy_rows() -> list[dict[str, Any]]:
    from vietnamadminunits.database import get_data

    fields = ["province", "district", "ward", "provinceKey", "provinceShortKey", "districtShortKey",
              "wardShortKey", "wardKey"]
    return get_data(fields=fields, table="admin_units_legacy")


@lru_cache(maxsize=1)
def _new_ward_names() -> dict[tuple[str, str], str]:
    from vietnamadminunits.database import get_data

    rows = get_data(fields=["provinceKey", "wardKey", "ward"], table="admin_units")
    return {(r["provinceKey"], r["wardKey"]): r["ward"] for r in rows}


@lru_cache(maxsize=1)
def _divided_table() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The package's table of old wards split among several new wards (empty if the file moved)."""
    try:
        text = resources.files("vietnamadminunits").joinpath("data/converter_2025.json").read_text("utf-8")
        return json.loads(text).get("DICT_PROVINCE_WARD_DIVIDED", {})
    except (OSError, ValueError, ModuleNotFoundError):
        return {}


def _province_key(province: str) -> str:
    return unit_key(_PROVINCE_PREFIX.sub("", province))


def _rows_for(province: str) -> list[dict[str, Any]]:
    key = _province_key(province)
    return [r for r in _legacy_rows() if r["provinceShortKey"] == key]


def _mapping_for(row: dict[str, Any]) -> WardMapping | None:
    from vietnamadminunits import convert_address

    unit = convert_address(f"{row['ward']}, {row['district']}, {row['province']}")
    if not unit.ward:
        return None
    full_key = f"{row['provinceKey']}_{unit_key(row['district'])}_{row['wardKey']}"
    parts = _divided_table().get(row["provinceKey"], {}).get(full_key, [])
    names = _new_ward_names()
    others = tuple(
        names.get((row["provinceKey"], p["newWardKey"]), p["newWardKey"])
        for p in parts
        if names.get((row["provinceKey"], p["newWardKey"])) != unit.ward
    )
    return WardMapping(
        old_ward=row["ward"], old_district=row["district"], province=unit.province or row["province"],
        new_ward=unit.ward, also_in=others,
    )


def find_old_ward(ward: str, district: str | None = None, province: str = DEFAULT_PROVINCE) -> list[WardMapping]:
    """Every old ward of that name (one per district when the name repeats), mapped to its new ward.

    Raises AdminUnitError when the name is empty or matches no old ward of the province.
    """
    if not ward or not ward.strip():
        raise AdminUnitError("tên phường/xã cũ đang trống")
    ward_key = unit_key(_WARD_PREFIX.sub("", ward))
    district_key = unit_key(_DISTRICT_PREFIX.sub("", district)) if district else None
    # numbered units keep their type in the package's short key ("Phường 1" -> "phuong1", "Quận 1" -> "quan1")
    ward_keys = {ward_key, unit_key(ward)}
    district_keys = {district_key, unit_key(district)} if district else set()
    rows = [
        r for r in _rows_for(province)
        if r["wardShortKey"] in ward_keys and (not district_keys or r["districtShortKey"] in district_keys)
    ]
    if not rows:
        where = f", {district}" if district else ""
        raise AdminUnitError(f"không tìm thấy phường/xã cũ '{ward.strip()}{where}' ở {province}")
    mappings = [m for m in (_mapping_for(r) for r in rows) if m is not None]
    if not mappings:
        raise AdminUnitError(f"chưa có dữ liệu sáp nhập cho '{ward.strip()}' ở {province}")
    return mappings


def new_wards_of_old_district(district: str, province: str = DEFAULT_PROVINCE) -> list[str]:
    """New wards that took over (part of) an old district, sorted."""
    district_key = unit_key(_DISTRICT_PREFIX.sub("", district or ""))
    rows = [r for r in _rows_for(province) if r["districtShortKey"] == district_key]
    if not district_key or not rows:
        raise AdminUnitError(f"không tìm thấy quận/huyện cũ '{district}' ở {province}")
    wards: set[str] = set()
    for row in rows:
        mapping = _mapping_for(row)
        if mapping:
            wards.add(mapping.new_ward)
            wards.update(mapping.also_in)
    return sorted(wards)


def old_wards_of(new_ward: str, province: str = DEFAULT_PROVINCE) -> tuple[list[str], list[str]]:
    """(old wards wholly in `new_ward`, old wards partly in it), as "Phường X (Quận Y)"."""
    target = unit_key(_WARD_PREFIX.sub("", new_ward))
    whole: list[str] = []
    partial: list[str] = []
    for row in _rows_for(province):
        mapping = _mapping_for(row)
        if mapping is None:
            continue
        label = f"{row['ward']} ({row['district']})"
        names = [unit_key(_WARD_PREFIX.sub("", w)) for w in (mapping.new_ward, *mapping.also_in)]
        if target not in names:
            continue
        (partial if mapping.divided else whole).append(label)
    return whole, partial
