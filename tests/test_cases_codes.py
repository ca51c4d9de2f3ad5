"""Dossier code patterns: normalization, locality formats, configuration errors."""

from __future__ import annotations

import pytest

from bot.cases.codes import CodePatternError, DossierCodes
from bot.cases.config import CasesConfigError, load_cases_config
from bot.settings import load_settings


@pytest.fixture()
def codes() -> DossierCodes:
    return DossierCodes()


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("000.00.04.H51-200221-0001", "000.00.04.H51-200221-0001"),
        ("000.00.04.h51-200221-0001", "000.00.04.H51-200221-0001"),
        (" 000.00.04.H51 - 200221 - 0001 ", "000.00.04.H51-200221-0001"),
        ("000.00.04.H51–200221–0001", "000.00.04.H51-200221-0001"),  # en dashes from a phone keyboard
        ("h29.12-261120-0007", "H29.12-261120-0007"),
        ("000.00.04.H51-200221-0001.", "000.00.04.H51-200221-0001"),
    ],
)
def test_match_normalizes_case_spaces_and_dashes(codes: DossierCodes, typed: str, expected: str) -> None:
    assert codes.match(typed) == expected


@pytest.mark.parametrize("typed", ["", "0912345678", "000.00.04.H51-200221", "H51-200221-0001", "hello", "4821"])
def test_match_rejects_other_text(codes: DossierCodes, typed: str) -> None:
    assert codes.match(typed) is None


def test_find_code_inside_a_sentence(codes: DossierCodes) -> None:
    assert codes.find("tra giúp tôi hồ sơ 000.00.04.h51-261120-0001 nhé") == "000.00.04.H51-261120-0001"
    assert codes.find("mã H29.12 - 261120 - 0007 ạ") == "H29.12-261120-0007"
    assert codes.find("hồ sơ của tôi đến đâu rồi") is None


def test_configured_patterns_replace_the_defaults() -> None:
    codes = DossierCodes([{"name": "hanoi", "regex": r"HN-\d{8}", "example": "HN-12345678"}])
    assert codes.match("hn-12345678") == "HN-12345678"
    assert codes.match("000.00.04.H51-200221-0001") is None
    assert codes.examples == ["HN-12345678"]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"regex": r"\d+"}, "needs 'regex' and 'example'"),
        ({"regex": r"(", "example": "x"}, "bad regex"),
        ({"regex": r"\d{4}", "example": "ABCD"}, "does not match its regex"),
    ],
)
def test_bad_pattern_is_a_clear_error(spec: dict, message: str) -> None:
    with pytest.raises(CodePatternError, match=message):
        DossierCodes([spec])


def test_project_settings_have_a_valid_cases_section() -> None:
    config = load_cases_config(load_settings().section("cases"))
    assert config.registry in ("sqlite", "http")
    assert config.verification in ("phone_last4", "id_last4")
    assert (config.max_failures, config.window_minutes) == (5, 15)
    codes = DossierCodes(config.code_patterns)
    assert codes.match("000.00.04.H51-200221-0001")


@pytest.mark.parametrize(
    "section, message",
    [
        ({"registry": "ftp"}, "cases.registry"),
        ({"verification": "full_phone"}, "cases.verification"),
        ({"registry": "http"}, "cases.http.base_url: required"),
        ({"registry": "http", "http": {"base_url": "ftp://x"}}, "must start with http"),
        ({"registry": "http", "http": {"base_url": "http://x", "dossier_path": "/d"}}, "dossier_path"),
        ({"registry": "http", "http": {"base_url": "http://x", "fields": {"colour": "c"}}}, "unknown field"),
        ({"registry": "http", "http": {"base_url": "http://x", "status_map": {"7": "lost"}}}, "status_map.7"),
        ({"registry": "http", "http": {"base_url": "http://x", "timeout_seconds": -1}}, "timeout_seconds"),
        ({"rate_limit": {"max_failures": 0}}, "max_failures"),
        ({"code_patterns": [{"regex": "(", "example": "x"}]}, "bad regex"),
    ],
)
def test_bad_cases_settings_are_reported_by_key(section: dict, message: str) -> None:
    with pytest.raises(CasesConfigError, match=message):
        load_cases_config(section)


def test_http_token_comes_from_the_environment_and_stays_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASES_TEST_TOKEN", "s3cr3t-token")
    config = load_cases_config({"registry": "http", "http": {"base_url": "http://x/", "token_env": "CASES_TEST_TOKEN"}})
    assert config.http is not None and config.http.token == "s3cr3t-token"
    assert config.http.base_url == "http://x"
    assert "s3cr3t" not in repr(config)


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("ma 000.00.04.h51 261120 0001 nhe", "000.00.04.H51-261120-0001"),  # spaces instead of dashes
        ("000.00.04H51-261120-0001", "000.00.04.H51-261120-0001"),  # a missing dot
        ("00000.04.H51-261120-0001", "000.00.04.H51-261120-0001"),
        ("ho so h2912-261120-0007", "H29.12-261120-0007"),
    ],
)
def test_find_code_typed_loosely_when_unambiguous(codes: DossierCodes, typed: str, expected: str) -> None:
    assert codes.find(typed) == expected


def test_locate_gives_the_text_without_the_code(codes: DossierCodes) -> None:
    code, rest = codes.locate("tra cứu hồ sơ 000.00.04.H51-261130-0003 sđt đuôi 0915")  # type: ignore[misc]
    assert code == "000.00.04.H51-261130-0003" and "0003" not in rest and "0915" in rest
    assert codes.locate("0915 là số cuối, mã 000.00.04.h51 261130 0003")[0] == code  # type: ignore[index]
    assert codes.locate("số cuối 0915") is None


def test_two_different_codes_in_one_message_are_not_guessed_between(codes: DossierCodes) -> None:
    assert codes.locate("000.00.04.H51-261130-0003 hoặc 000.00.04.H51-261130-0004") is None
