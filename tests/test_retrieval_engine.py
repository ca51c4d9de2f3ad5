"""Lexical ranker, fusion (several texts per procedure, priors, coverage), decisions, search API."""

from __future__ import annotations

import dataclasses

import pytest

from bot.retrieval.config import RetrievalConfig
from bot.retrieval.corpus import ProcedureDoc
from bot.retrieval.decision import decide
from bot.retrieval.lexical import LexicalRanker
from bot.retrieval.service import engine_from_docs

DOCS = [
    ProcedureDoc("1.000001", "Đăng ký tạm trú", ("xa",), False, ("Đăng ký tạm trú",)),
    ProcedureDoc("1.000002", "Xóa đăng ký tạm trú", ("xa",), False, ("Xóa đăng ký tạm trú",)),
    ProcedureDoc("1.000003", "Gia hạn tạm trú", ("xa",), False, ("Gia hạn tạm trú",)),
    ProcedureDoc("1.000004", "Thủ tục đăng ký khai tử", ("xa",), False, ("Thủ tục đăng ký khai tử",)),
    ProcedureDoc(
        "1.000005",
        "Thủ tục cấp Giấy xác nhận tình trạng hôn nhân",
        ("xa",),
        True,
        ("Thủ tục cấp Giấy xác nhận tình trạng hôn nhân", "giấy chứng nhận chưa lập gia đình", "cần giấy gì để chứng minh mình chưa lấy ai"),
        ("name", "alias", "example"),
    ),
    ProcedureDoc(
        "2.000010",
        "Cấp lại thẻ căn cước (thực hiện tại cấp tỉnh)",
        ("tinh",),
        False,
        ("Cấp lại thẻ căn cước (thực hiện tại cấp tỉnh)", "Cấp lại thẻ căn cước"),
    ),
    ProcedureDoc("1.000011", "Cấp lại thẻ căn cước", ("xa",), False, ("Cấp lại thẻ căn cước",)),
    ProcedureDoc("3.000020", "Cấp giấy phép hoạt động cảng cá", ("bo",), False, ("Cấp giấy phép hoạt động cảng cá",)),
]


@pytest.fixture(scope="module")
def engine():
    return engine_from_docs(DOCS)


def codes(outcome) -> list[str]:
    return [hit.code for hit in outcome.results]


def test_bm25_prefers_texts_with_the_phrase() -> None:
    ranker = LexicalRanker.build([["tam", "tru", "tam_tru"], ["tam", "biet"], ["tru", "so"]])
    scores = ranker.scores(["tam", "tru", "tam_tru"])
    assert scores[0] > scores[1] > 0 and scores[0] > scores[2] > 0
    assert not ranker.scores(["khong_co"]).any()


def test_repair_fixes_one_edit_typos_only() -> None:
    ranker = LexicalRanker.build([["thuong", "tru"], ["tam", "tru"]])
    assert ranker.repair("thuongg") == "thuong"
    assert ranker.repair("xyzabc") == "xyzabc"
    assert ranker.repair("tru") == "tru"  # known words stay


def test_coverage_both_ways() -> None:
    ranker = LexicalRanker.build([["tam", "tru", "tam_tru"], ["xoa", "tam", "tru", "xoa_tam", "tam_tru"]])
    weights = ranker.query_weights(["tam", "tru", "tam_tru"])
    assert ranker.overlap(weights, 0) == pytest.approx((1.0, 1.0))
    query_cover, text_cover = ranker.overlap(weights, 1)
    assert query_cover == pytest.approx(1.0) and text_cover < 0.8  # the text is about something more specific


def test_diacritics_and_abbreviations_find_the_same_procedure(engine) -> None:
    for query in ("đăng ký tạm trú", "dang ky tam tru", "đk tạm chú", "DK TAM TRU"):
        assert codes(engine.search(query))[0] == "1.000001", query


def test_more_specific_titles_do_not_win_on_shared_words(engine) -> None:
    assert codes(engine.search("đăng ký tạm trú"))[:2] == ["1.000001", "1.000002"]
    assert codes(engine.search("xóa tạm trú"))[0] == "1.000002"


def test_alias_and_example_texts_map_back_to_their_procedure(engine) -> None:
    outcome = engine.search("giấy chứng nhận chưa lập gia đình")
    assert codes(outcome)[0] == "1.000005"
    assert outcome.results[0].title == "Thủ tục cấp Giấy xác nhận tình trạng hôn nhân"
    assert len(set(codes(engine.search("giấy độc thân", top=10)))) == len(codes(engine.search("giấy độc thân", top=10)))


def test_situation_reaches_the_procedure_through_the_lexicon(engine) -> None:
    assert codes(engine.search("bố tôi mất rồi phải làm giấy gì"))[0] == "1.000004"


def test_level_prior_puts_ward_procedures_first_and_is_configurable() -> None:
    query = "cấp lại thẻ căn cước"  # both versions share the core title
    at_ward = engine_from_docs(DOCS)
    assert codes(at_ward.search(query))[:2] == ["1.000011", "2.000010"]
    at_province = engine_from_docs(DOCS, dataclasses.replace(RetrievalConfig(), preferred_level="tinh"))
    assert codes(at_province.search(query))[:2] == ["2.000010", "1.000011"]


def test_a_level_named_in_the_question_wins_over_the_default(engine) -> None:
    assert codes(engine.search("cấp lại thẻ căn cước ở cấp tỉnh"))[0] == "2.000010"
    assert codes(engine.search("cấp lại thẻ căn cước ở phường"))[0] == "1.000011"


def test_variant_procedures_need_a_hint_in_the_question() -> None:
    docs = [
        ProcedureDoc("1.000656", "Thủ tục đăng ký khai tử", ("xa",), False, ("Thủ tục đăng ký khai tử",)),
        ProcedureDoc("1.005461", "Đăng ký lại khai tử", ("xa",), False, ("Đăng ký lại khai tử", "khai tử cho bố mẹ")),
    ]
    with_penalty = engine_from_docs(docs)
    without = engine_from_docs(docs, dataclasses.replace(RetrievalConfig(), qualifier_penalty=1.0))

    def score(engine, query: str, code: str) -> float:
        return next(h.score for h in engine.search(query).results if h.code == code)

    # no "lại" in the question: the variant is scaled down by the configured penalty
    assert score(with_penalty, "khai tử cho mẹ", "1.005461") == pytest.approx(0.85 * score(without, "khai tử cho mẹ", "1.005461"))
    # the question asks for it: no penalty
    assert score(with_penalty, "đăng ký lại khai tử", "1.005461") == pytest.approx(score(without, "đăng ký lại khai tử", "1.005461"))
    # the plain procedure is never penalized
    assert score(with_penalty, "khai tử cho mẹ", "1.000656") == pytest.approx(score(without, "khai tử cho mẹ", "1.000656"))


def test_scores_are_sorted_and_top_is_respected(engine) -> None:
    outcome = engine.search("tạm trú", top=2)
    assert len(outcome.results) == 2
    scores = [hit.score for hit in engine.search("tạm trú", top=5).results]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("confidence", "top", "second", "expected"),
    [
        (0.9, 1.0, 0.5, "sure"),
        (0.9, 1.0, 0.95, "ambiguous"),  # not clearly ahead of the second
        (0.5, 1.0, 0.5, "ambiguous"),  # ahead but not confident enough
        (0.2, 1.0, 0.1, "unknown"),
        (0.9, 0.0, 0.0, "unknown"),
    ],
)
def test_decide_thresholds(confidence: float, top: float, second: float, expected: str) -> None:
    assert decide(confidence, top, second, sure_min_score=0.6, sure_min_margin=0.1, unknown_below=0.35) == expected


def test_decisions_on_real_questions(engine) -> None:
    assert engine.search("đăng ký khai tử").decision == "sure"
    # the same procedure listed at two levels is not a choice: the ward's own is the answer
    outcome = engine.search("căn cước")
    assert outcome.decision == "sure" and codes(outcome)[0] == "1.000011"
    for query in ("thời tiết hôm nay", "giá vàng", "kể cho tôi một câu chuyện"):
        assert engine.search(query).decision == "unknown", query


def test_a_rival_the_walk_tells_apart_is_not_a_reason_to_ask() -> None:
    """Two close procedures are a choice for the citizen, unless the top one's case questions redirect to the
    other: then the walk asks the question that separates them."""
    base = ProcedureDoc("1.000100", "Thủ tục đăng ký khai sinh", ("xa",), True, ("Thủ tục đăng ký khai sinh",))
    variant = ProcedureDoc(
        "1.000101", "Thủ tục đăng ký khai sinh kết hợp nhận cha con", ("xa",), True,
        ("Thủ tục đăng ký khai sinh kết hợp nhận cha con",),
    )
    other = ProcedureDoc("1.000200", "Thủ tục đăng ký kết hôn", ("xa",), True, ("Thủ tục đăng ký kết hôn",))
    config = dataclasses.replace(RetrievalConfig(), sure_min_score=0.3, sure_min_margin=0.2)
    plain = engine_from_docs([base, variant, other], config)
    outcome = plain.search("đăng ký khai sinh cho con")
    assert outcome.decision == "ambiguous" and codes(outcome)[:2] == ["1.000100", "1.000101"]
    redirecting = dataclasses.replace(base, redirects=(variant.code,))
    walked = engine_from_docs([redirecting, variant, other], config)
    outcome = walked.search("đăng ký khai sinh cho con")
    assert outcome.decision == "sure" and codes(outcome)[:2] == ["1.000100", "1.000101"]


def test_empty_and_bad_input(engine) -> None:
    assert engine.search("").decision == "unknown"
    assert engine.search("   ?? ").results == []
    with pytest.raises(ValueError):
        engine.search("tạm trú", top=0)
    with pytest.raises(TypeError):
        engine.search(None)  # type: ignore[arg-type]
    # a pasted wall of text is cut, not an error
    assert codes(engine.search("đăng ký khai tử " * 2000))[0] == "1.000004"


def test_a_typed_procedure_code_is_found_directly(engine) -> None:
    outcome = engine.search("thủ tục 1.000003 cần gì")
    assert outcome.decision == "sure" and codes(outcome) == ["1.000003"]
    assert engine.search("1.000003 hay 1.000004").decision == "ambiguous"
    assert engine.search("mã 9.999999").results == []  # unknown code: ordinary search, nothing matches


def test_search_outcome_json_shape(engine) -> None:
    data = engine.search("gia hạn tạm trú", top=3).to_json("gia hạn tạm trú")
    assert set(data) == {"query", "decision", "results"}
    assert set(data["results"][0]) == {"code", "title", "score"}
    assert data["results"][0]["code"] == "1.000003"


def test_settings_section_is_validated(tmp_path) -> None:
    from bot.settings import SettingsError, load_settings

    settings_file = tmp_path / "settings.yml"
    settings_file.write_text("retrieval:\n  level_bost: 0.2\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown keys"):
        RetrievalConfig.from_settings(load_settings(settings_file))
    settings_file.write_text("retrieval:\n  level_boost: high\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="must be a number"):
        RetrievalConfig.from_settings(load_settings(settings_file))
    settings_file.write_text("retrieval:\n  level_boost: 0.3\n  preferred_level: tinh\n", encoding="utf-8")
    config = RetrievalConfig.from_settings(load_settings(settings_file))
    assert config.level_boost == 0.3 and config.preferred_level == "tinh"


def _score(engine, query: str, code: str) -> float:
    return next(h.score for h in engine.search(query, top=10).results if h.code == code)


def test_a_variant_the_citizen_names_must_be_in_the_procedure_name() -> None:
    """"gia hạn" said by the citizen (lexicon asked_qualifiers) scales down procedures that are not a renewal."""
    off = engine_from_docs(DOCS, dataclasses.replace(RetrievalConfig(), asked_qualifier_penalty=1.0))
    on = engine_from_docs(DOCS, dataclasses.replace(RetrievalConfig(), asked_qualifier_penalty=0.5))
    query = "xin gia hạn tạm trú thêm"
    assert _score(on, query, "1.000001") == pytest.approx(0.5 * _score(off, query, "1.000001"))
    assert _score(on, query, "1.000003") == pytest.approx(_score(off, query, "1.000003"))
    # "hết hạn" expands to "đổi gia hạn": expansions are not the citizen naming a variant
    assert on.normalizer.asked_qualifiers(on.analyze("căn cước hết hạn")[0]) == frozenset()


def test_a_situation_can_rule_a_procedure_out() -> None:
    """Lexicon excludes: a child who already has a birth certificate needs recognition, not a birth registration."""
    docs = [
        ProcedureDoc("1.000689", "Thủ tục đăng ký khai sinh kết hợp đăng ký nhận cha, mẹ, con", ("xa",), False,
                     ("Thủ tục đăng ký khai sinh kết hợp đăng ký nhận cha, mẹ, con",)),
        ProcedureDoc("1.001022", "Thủ tục đăng ký nhận cha, mẹ, con", ("xa",), False, ("Thủ tục đăng ký nhận cha, mẹ, con",)),
    ]
    off = engine_from_docs(docs, dataclasses.replace(RetrievalConfig(), exclude_penalty=1.0))
    on = engine_from_docs(docs, dataclasses.replace(RetrievalConfig(), exclude_penalty=0.5))
    query = "bé đã có giấy khai sinh, bố muốn nhận con"
    assert _score(on, query, "1.000689") == pytest.approx(0.5 * _score(off, query, "1.000689"))
    assert _score(on, query, "1.001022") == pytest.approx(_score(off, query, "1.001022"))
    assert codes(on.search(query))[0] == "1.001022"
    # without that situation nothing is ruled out
    other = "chưa cưới, làm giấy khai sinh cho con và nhận cha luôn"
    assert _score(on, other, "1.000689") == pytest.approx(_score(off, other, "1.000689"))


def test_a_level_stated_in_the_name_beats_the_level_field() -> None:
    """Twins that differ by "(thực hiện tại cấp huyện)" / "(... cấp xã)": at a ward the cấp xã one comes first."""
    docs = [
        ProcedureDoc("1.010385", "Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp huyện)", ("xa",), False,
                     ("Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp huyện)", "Trình báo mất hộ chiếu phổ thông")),
        ProcedureDoc("1.010386", "Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp xã)", ("xa",), False,
                     ("Trình báo mất hộ chiếu phổ thông (thực hiện tại cấp xã)", "Trình báo mất hộ chiếu phổ thông")),
    ]
    assert codes(engine_from_docs(docs).search("báo mất hộ chiếu"))[0] == "1.010386"


def test_the_province_comes_before_the_ministry_at_a_ward() -> None:
    docs = [
        ProcedureDoc("2.002797", "Nhập quốc tịch Việt Nam", ("bo",), False, ("Nhập quốc tịch Việt Nam",)),
        ProcedureDoc("2.002039", "Nhập quốc tịch Việt Nam", ("tinh",), False, ("Nhập quốc tịch Việt Nam",)),
    ]
    assert codes(engine_from_docs(docs).search("nhập quốc tịch"))[0] == "2.002039"
    flat = engine_from_docs(docs, dataclasses.replace(RetrievalConfig(), next_level_boost=0.0))
    assert _score(flat, "nhập quốc tịch", "2.002039") == pytest.approx(_score(flat, "nhập quốc tịch", "2.002797"))


def test_a_restriction_at_the_end_of_a_long_name_marks_a_variant() -> None:
    """Lexicon tail_qualifiers: "... đối với tổ chức ..." is a variant a private person did not ask for."""
    head = "Đăng ký đất đai, tài sản gắn liền với đất, cấp Giấy chứng nhận quyền sử dụng đất lần đầu"
    docs = [
        ProcedureDoc("1.012753", f"{head} đối với tổ chức đang sử dụng đất", ("xa",), False, (f"{head} đối với tổ chức đang sử dụng đất",)),
        ProcedureDoc("1.013978", f"{head} đối với hộ gia đình, cá nhân, cộng đồng dân cư", ("xa",), False,
                     (f"{head} đối với hộ gia đình, cá nhân, cộng đồng dân cư",)),
    ]
    engine = engine_from_docs(docs)
    assert codes(engine.search("cấp giấy chứng nhận quyền sử dụng đất lần đầu cho cá nhân"))[0] == "1.013978"
    assert codes(engine.search("cấp giấy chứng nhận quyền sử dụng đất lần đầu đối với tổ chức"))[0] == "1.012753"
