"""Vietnamese normalizer: folding, lexicon replace/expand, stopwords, n-grams, lexicon errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.retrieval.normalize import LexiconError, Normalizer, fold, load_lexicon
from bot.settings import PROJECT_ROOT

LEXICON = PROJECT_ROOT / "knowledge" / "lexicon.yml"


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer(load_lexicon(LEXICON))


def words(normalizer: Normalizer, text: str) -> list[str]:
    return normalizer.analyze(text).segments[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Đăng ký tạm trú", "dang ki tam tru"),
        ("dang ky tam tru", "dang ki tam tru"),
        ("ĐĂNG KÝ TẠM TRÚ!!!", "dang ki tam tru"),
        # NFD input (combining marks) folds like NFC input
        ("\u0110a\u0306ng ky\u0301", "dang ki"),
        # old / new tone placement
        ("hoà giải", "hoa giai"),
        ("hòa giải", "hoa giai"),
        # i/y spelling variants meet; "quy", "uy" keep their y
        ("lý lịch", "li lich"),
        ("lí lịch", "li lich"),
        ("quy định", "quy dinh"),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_with_and_without_diacritics_meet(normalizer: Normalizer) -> None:
    assert normalizer.analyze("Đăng ký tạm trú").terms() == normalizer.analyze("dang ky tam tru").terms()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("đk tạm trú", ["dang", "ki", "tam", "tru"]),
        ("dk tam tru", ["dang", "ki", "tam", "tru"]),
        ("làm lại cccd", ["lai", "can", "cuoc"]),
        ("gpxd", ["giay", "phep", "xay", "dung"]),
        ("đk tạm chú", ["dang", "ki", "tam", "tru"]),  # ch/tr confusion
        ("khai xinh", ["khai", "sinh"]),  # s/x confusion
        ("cắt khẩu", ["xoa", "dang", "ki", "thuong", "tru"]),
        ("xin giấy độc thân", ["giay", "xac", "nhan", "tinh", "trang", "hon", "nhan"]),
        # two passes: the abbreviation first, then the colloquial phrase it completes
        ("xoá hk", ["xoa", "dang", "ki", "thuong", "tru"]),
    ],
)
def test_abbreviations_typos_and_colloquial_names(normalizer: Normalizer, query: str, expected: list[str]) -> None:
    assert words(normalizer, query) == expected


def test_situation_is_expanded_in_its_own_segment(normalizer: Normalizer) -> None:
    analysis = normalizer.analyze("bố tôi mất rồi phải làm giấy gì")
    assert ["khai", "tu"] in analysis.segments[1:]
    # the citizen's own words stay, filler words go
    assert "bo" in analysis.segments[0] and "toi" not in analysis.segments[0]


def test_documents_are_not_expanded(normalizer: Normalizer) -> None:
    assert len(normalizer.analyze("bố mất", query=False).segments) == 1


def test_bigrams_do_not_cross_segments(normalizer: Normalizer) -> None:
    terms = normalizer.analyze("vừa qua đời").terms()
    assert "khai_tu" in terms
    assert not any(t.endswith("_khai") for t in terms)  # nothing joins the citizen's words to the expansion


def test_unigrams_and_bigrams(normalizer: Normalizer) -> None:
    assert normalizer.analyze("thường trú", query=False).terms() == ["thuong", "tru", "thuong_tru"]


def test_stopwords_do_not_eat_content_syllables(normalizer: Normalizer) -> None:
    # "đang" folds like "đăng", "cần" like "căn", "tại" like "tài": none of them may be stopwords
    assert words(normalizer, "đăng ký căn cước tài khoản") == ["dang", "ki", "can", "cuoc", "tai", "khoan"]


def test_out_of_scope_phrases_are_reported(normalizer: Normalizer) -> None:
    assert normalizer.analyze("giá vàng hôm nay").out_of_scope == ["gia vang"]
    assert normalizer.analyze("đăng ký kết hôn").out_of_scope == []


def test_empty_and_punctuation_only(normalizer: Normalizer) -> None:
    assert normalizer.analyze("").terms() == []
    assert normalizer.analyze("?!...").terms() == []


def test_lexicon_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "lexicon.yml"
    bad.write_text("replace: [oops\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="lexicon.yml: YAML error"):
        load_lexicon(bad)
    bad.write_text("replace: {đk: 3}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="replace"):
        load_lexicon(bad)
    bad.write_text("synonyms: {a: b}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="unknown sections"):
        load_lexicon(bad)
    with pytest.raises(LexiconError, match="cannot read"):
        load_lexicon(tmp_path / "missing.yml")


def test_project_lexicon_loads_and_has_every_section() -> None:
    lexicon = load_lexicon(LEXICON)
    assert lexicon.replace and lexicon.expand and lexicon.stopwords and lexicon.out_of_scope
    assert len(lexicon.digest) == 16


def test_replacement_may_not_contain_its_own_phrase(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.yml"
    lexicon.write_text("replace: {cải chính: cải chính hộ tịch}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="use expand"):
        load_lexicon(lexicon)


def test_combos_recognize_a_situation_spread_over_the_question(normalizer: Normalizer) -> None:
    """Lexicon combos: parts anywhere in the question, with or without diacritics."""
    for text in ("căn cước của mẹ còn 2 tháng nữa là hết hạn", "can cuoc cua me con 2 thang nua la het han"):
        expansions = [" ".join(seg) for seg in normalizer.analyze(text).segments[1:]]
        assert "cap doi the can cuoc" in expansions
    # one part alone is not enough
    assert all("cap doi the can cuoc" != " ".join(seg) for seg in normalizer.analyze("làm căn cước cho con").segments[1:])


def test_qualifiers_are_compared_in_analyzed_form(normalizer: Normalizer) -> None:
    """"đối với tổ chức" (a stopword inside) meets a name analyzed without the stopword; "dừng" no longer
    folds onto "dựng"/"dụng" and "đổi" no longer onto "đối"."""
    found = normalizer.qualifiers(normalizer.analyze("cấp giấy chứng nhận đối với tổ chức", query=False))
    assert "doi to chuc" in found
    assert normalizer.qualifiers(normalizer.analyze("giấy phép xây dựng đối với công trình", query=False)) == frozenset()


def test_new_lexicon_sections_are_validated(tmp_path: Path) -> None:
    bad = tmp_path / "lexicon.yml"
    bad.write_text("combos:\n  căn cước: cấp đổi\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="combos"):
        load_lexicon(bad)
    bad.write_text("excludes:\n  đã có giấy khai sinh: []\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="excludes"):
        load_lexicon(bad)
