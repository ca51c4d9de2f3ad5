"""Old ward -> new ward from citizens' own words (issue 14), over the shipped `vietnamadminunits` data.

20 questions from Hà Nội, Hồ Chí Minh City and Đà Nẵng, with and without diacritics, unit words,
district or province; the expected new units are those of the 2025 arrangement as the package gives them.
"""

from __future__ import annotations

import pytest

from bot.knowledge import load_knowledge_base
from bot.services import load_services
from bot.services.wards import find_in_text, new_unit, ward_replies
from bot.settings import PROJECT_ROOT

HANOI = "Thành phố Hà Nội"

CASES = [
    # Hà Nội (the deployment's province: no province needed)
    ("phường Hàng Trống cũ giờ là phường nào", "Phường Hàng Trống", "Phường Hoàn Kiếm"),
    ("hang trong cu gio la phuong nao", "Phường Hàng Trống", "Phường Hoàn Kiếm"),
    ("Hàng Bạc quận Hoàn Kiếm cũ giờ thuộc phường nào", "Phường Hàng Bạc", "Phường Hoàn Kiếm"),
    ("phường Quán Thánh cũ nay là phường gì", "Phường Quán Thánh", "Phường Ba Đình"),
    ("phuong dich vong hau cu", "Phường Dịch Vọng Hậu", "Phường Cầu Giấy"),
    ("Láng Hạ Đống Đa cũ giờ là phường nào", "Phường Láng Hạ", "Phường Láng"),
    ("phường Nghĩa Tân cầu giấy cũ giờ thuộc đâu", "Phường Nghĩa Tân", "Phường Nghĩa Đô"),
    ("phường Trung Hòa quận Cầu Giấy cũ", "Phường Trung Hòa", "Phường Yên Hòa"),
    ("phường Điện Biên quận Ba Đình cũ", "Phường Điện Biên", "Phường Ba Đình"),
    ("xã Đông Hội huyện Đông Anh cũ giờ là xã nào", "Xã Đông Hội", "Xã Đông Anh"),
    ("phường Văn Chương quận Đống Đa, Hà Nội", "Phường Văn Chương", "Phường Văn Miếu - Quốc Tử Giám"),
    # Thành phố Hồ Chí Minh
    ("phường Bến Nghé quận 1 TP HCM cũ giờ là phường nào", "Phường Bến Nghé", "Phường Sài Gòn"),
    ("p ben thanh q1 tphcm", "Phường Bến Thành", "Phường Bến Thành"),
    ("phường Thảo Điền TP Thủ Đức Hồ Chí Minh cũ", "Phường Thảo Điền", "Phường An Khánh"),
    ("phường 1 quận Gò Vấp TP.HCM", "Phường 1", "Phường Hạnh Thông"),
    ("phường Tân Định quận 1 Sài Gòn cũ", "Phường Tân Định", "Phường Tân Định"),
    # Thành phố Đà Nẵng
    ("Thạch Thang Hải Châu Đà Nẵng giờ là phường nào", "Phường Thạch Thang", "Phường Hải Châu"),
    ("phuong my an ngu hanh son da nang", "Phường Mỹ An", "Phường Ngũ Hành Sơn"),
    ("phường An Hải Bắc Sơn Trà Đà Nẵng cũ giờ là phường nào", "Phường An Hải Bắc", "Phường An Hải"),
    ("phường Hòa Khánh Bắc quận Liên Chiểu Đà Nẵng", "Phường Hòa Khánh Bắc", "Phường Liên Chiểu"),
]


@pytest.mark.parametrize(("question", "old", "new"), CASES)
def test_old_ward_question_gives_the_new_unit(question: str, old: str, new: str) -> None:
    mappings = new_unit(question, HANOI)
    assert [(m.old_ward, m.new_ward) for m in mappings] == [(old, new)]


def test_twenty_questions_from_three_provinces() -> None:
    provinces = {new_unit(q, HANOI)[0].province for q, _, _ in CASES}
    assert len(CASES) == 20 and provinces == {HANOI, "Thành phố Hồ Chí Minh", "Thành phố Đà Nẵng"}


@pytest.fixture(scope="module")
def kb_and_services():
    knowledge = PROJECT_ROOT / "knowledge"
    return load_knowledge_base(knowledge), load_services(knowledge)


def test_hang_trong_reply_names_hoan_kiem_and_the_office(kb_and_services) -> None:
    kb, services = kb_and_services
    [reply] = ward_replies("Hàng Trống cũ giờ là phường nào?", kb.office, services)
    assert "nay phần lớn thuộc phường Hoàn Kiếm" in reply.text
    assert kb.office.name in reply.text and "địa chỉ" in reply.text  # the deployment's ward: its one-stop shop


def test_a_ward_of_another_new_unit_gets_a_plain_statement(kb_and_services) -> None:
    kb, services = kb_and_services
    [reply] = ward_replies("phường Bến Nghé quận 1 TP HCM cũ", kb.office, services)
    assert "phường Sài Gòn" in reply.text and "do phường Sài Gòn tiếp nhận" in reply.text
    assert kb.office.name not in reply.text


def test_an_ambiguous_name_gets_a_short_choice_and_the_button_answers(kb_and_services) -> None:
    kb, services = kb_and_services
    [choice] = ward_replies("Trung Hòa cũ giờ là phường nào", kb.office, services)
    assert choice.text.startswith("Có nhiều nơi tên Trung Hòa")
    titles = [b.title for b in choice.buttons]
    assert titles == ["Trung Hòa (quận Cầu Giấy)", "Trung Hòa (huyện Chương Mỹ)"]
    entity = choice.buttons[1].payload.split('"old_ward":"')[1].rstrip('"}')
    [answer] = ward_replies(entity, kb.office, services)
    assert "Xã Trung Hòa (huyện Chương Mỹ) cũ" in answer.text and "xã Phú Nghĩa" in answer.text


def test_no_ward_named_asks_for_it(kb_and_services) -> None:
    kb, services = kb_and_services
    [reply] = ward_replies("phường cũ của tôi giờ là phường nào", kb.office, services)
    assert "tên phường/xã cũ" in reply.text and not reply.buttons


def test_strict_search_ignores_ordinary_where_questions() -> None:
    for text in ("nộp hồ sơ ở đâu", "làm khai sinh ở đâu", "đăng ký thường trú nộp ở chỗ nào", "văn phòng mở cửa lúc mấy giờ"):
        assert find_in_text(text, HANOI, strict=True) == [], text
    assert find_in_text("nhà tôi ở phường Cửa Nam cũ thì nộp ở đâu", HANOI, strict=True)


def test_a_named_province_is_searched_alone() -> None:
    # "Thạch Thắng" (Hà Tĩnh) and "Thạch Thang" (Đà Nẵng) fold to the same words
    [ha_tinh] = new_unit("xã Thạch Thắng Hà Tĩnh", HANOI)
    assert ha_tinh.old_ward == "Xã Thạch Thắng" and ha_tinh.province == "Tỉnh Hà Tĩnh"
    assert new_unit("phường Hàng Trống Đà Nẵng", HANOI) == []
