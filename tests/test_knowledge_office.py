"""knowledge/office.yml and old ward -> new ward mapping for Hà Nội (vietnamadminunits)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.admin_units import (
    AdminUnitError,
    find_old_ward,
    new_wards_of_old_district,
    old_wards_of,
)
from bot.knowledge.loader import KnowledgeBaseError
from bot.knowledge.models import Office
from bot.knowledge.office import (
    contact_text,
    hours_text,
    load_office,
    old_ward_text,
    payment_text,
    where_text,
)
from bot.settings import PROJECT_ROOT

OFFICE_FILE = PROJECT_ROOT / "knowledge" / "office.yml"


@pytest.mark.parametrize(
    ("old_ward", "district", "new_ward"),
    [
        ("Phường Hàng Bạc", "Quận Hoàn Kiếm", "Phường Hoàn Kiếm"),
        ("hàng trống", None, "Phường Hoàn Kiếm"),
        ("Tràng Tiền", "Hoàn Kiếm", "Phường Cửa Nam"),
        ("Dịch Vọng", "quận Cầu Giấy", "Phường Cầu Giấy"),
        ("Xã Tân Triều", "Huyện Thanh Trì", "Phường Thanh Liệt"),
        ("phuong hang ma", "hoan kiem", "Phường Hoàn Kiếm"),
    ],
)
def test_old_ward_maps_to_new_ward(old_ward: str, district: str | None, new_ward: str) -> None:
    mappings = find_old_ward(old_ward, district)
    assert len(mappings) == 1
    assert mappings[0].new_ward == new_ward


def test_message_says_old_ward_now_belongs_to_new_ward() -> None:
    whole = find_old_ward("Hàng Bạc", "Hoàn Kiếm")[0]
    assert not whole.divided
    assert whole.message() == "Phường Hàng Bạc (quận Hoàn Kiếm) cũ nay thuộc phường Hoàn Kiếm, Thành phố Hà Nội."
    split = find_old_ward("Tràng Tiền", "Hoàn Kiếm")[0]
    assert split.divided and "Phường Hoàn Kiếm" in split.also_in
    assert "nay phần lớn thuộc phường Cửa Nam" in split.message()
    assert "một phần thuộc phường Hoàn Kiếm" in split.message()


def test_same_old_name_in_two_districts_gives_both() -> None:
    mappings = find_old_ward("Trung Hòa")
    assert {m.old_district for m in mappings} == {"Quận Cầu Giấy", "Huyện Chương Mỹ"}


def test_unknown_or_empty_old_ward_is_a_clear_error() -> None:
    with pytest.raises(AdminUnitError, match="không tìm thấy"):
        find_old_ward("Phường Không Có", "Hoàn Kiếm")
    with pytest.raises(AdminUnitError, match="trống"):
        find_old_ward("  ")


def test_old_district_and_new_ward_lookups() -> None:
    assert "Phường Hoàn Kiếm" in new_wards_of_old_district("Quận Hoàn Kiếm")
    whole, partial = old_wards_of("Phường Hoàn Kiếm")
    assert "Phường Hàng Bạc (Quận Hoàn Kiếm)" in whole
    assert "Phường Tràng Tiền (Quận Hoàn Kiếm)" in partial


def test_shipped_office_is_valid_and_consistent_with_the_package() -> None:
    office = load_office(OFFICE_FILE)
    assert office.ward == "Phường Hoàn Kiếm"
    whole, partial = old_wards_of(office.ward)
    listed = {entry.split(" (")[0] for entry in office.merged_from}
    assert listed == {entry.split(" (")[0] for entry in whole + partial}
    # unknown values stay empty rather than invented
    assert office.address is None and office.phone is None and office.online_queue_url is None
    assert {"name", "opening_hours", "payment_options"} <= set(office.to_confirm)
    names = " ".join(o.name for o in office.payment_options)
    for expected in ("VNeID", "iHanoi", "ngân hàng", "Tiền mặt"):
        assert expected in names


def test_office_answers_say_what_is_unknown() -> None:
    office = load_office(OFFICE_FILE)
    assert "Địa chỉ cụ thể: chưa có thông tin" in where_text(office)
    assert "Số điện thoại: chưa có thông tin" in contact_text(office)
    assert "đang chờ phường xác nhận" in hours_text(office)
    assert "iHanoi" in payment_text(office)
    empty = Office()
    assert "chưa có thông tin" in hours_text(empty) and "chưa có thông tin" in payment_text(empty)
    filled = Office(ward="Phường Hoàn Kiếm", name="Điểm phục vụ", address="1 Phố X")
    assert where_text(filled) == "Anh/chị nộp hồ sơ trực tiếp tại Điểm phục vụ, địa chỉ: 1 Phố X."


def test_old_ward_text_for_the_office() -> None:
    office = load_office(OFFICE_FILE)
    served = old_ward_text(office, "Hàng Bạc", "Hoàn Kiếm")
    assert served.startswith("Phường Hàng Bạc (quận Hoàn Kiếm) cũ nay thuộc phường Hoàn Kiếm")
    assert "có thể làm thủ tục tại" in served
    elsewhere = old_ward_text(office, "Dịch Vọng", "Cầu Giấy")
    assert "liên hệ bộ phận một cửa của phường Cầu Giấy" in elsewhere
    assert "cho biết quận/huyện cũ" in old_ward_text(office, "Trung Hòa")
    assert "kiểm tra lại" in old_ward_text(office, "Không Có")


def test_broken_office_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "office.yml"
    path.write_text("ward: Phường Hoàn Kiếm\nopening_hours: [{days: Thứ Hai}]\nto_confirm: [fax]\n", "utf-8")
    with pytest.raises(KnowledgeBaseError) as caught:
        load_office(path)
    assert any("opening_hours[0].hours" in e for e in caught.value.errors)
