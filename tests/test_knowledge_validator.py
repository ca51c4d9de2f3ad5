"""One test per validator error kind; broken YAML is written into tmp_path."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bot.knowledge import KnowledgeBaseError, load_knowledge_base
from bot.knowledge.validator import validate_knowledge_dir
from bot.settings import PROJECT_ROOT
from tests.test_knowledge_schema import sample


def partner() -> dict:
    """A second valid procedure, so `related` / `redirect` have something to point at."""
    data = copy.deepcopy(sample())
    data.update(code="1.000689", name="Thủ tục đăng ký khai sinh kết hợp nhận cha, mẹ, con", related=["1.001193"])
    data["cases"][0]["answers"][2]["redirect"] = "1.001193"
    return data


def write_kb(root: Path, *procedures: dict, office: Any = None) -> Path:
    folder = root / "procedures"
    folder.mkdir(parents=True, exist_ok=True)
    for data in procedures:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        (folder / f"{data['code']}.yaml").write_text(text, encoding="utf-8")
    if office is not None:
        (root / "office.yml").write_text(yaml.safe_dump(office, allow_unicode=True), encoding="utf-8")
    return root


def errors_after(tmp_path: Path, change: Callable[[dict], None]) -> list[str]:
    data = copy.deepcopy(sample())
    change(data)
    write_kb(tmp_path, data, partner())
    return validate_knowledge_dir(tmp_path).errors


def only(errors: list[str], field: str, fragment: str) -> None:
    """Exactly one error, on `field`, containing `fragment`, in `file: field: message` form."""
    assert len(errors) == 1, errors
    file_part, field_part, message = errors[0].split(": ", 2)
    assert file_part.endswith(".yaml")
    assert field_part == field
    assert fragment in message


def test_valid_knowledge_base_has_no_error(tmp_path: Path) -> None:
    write_kb(tmp_path, sample(), partner(), office={"ward": "Phường Hoàn Kiếm"})
    result = validate_knowledge_dir(tmp_path)
    assert result.errors == []
    assert set(result.procedures) == {"1.001193", "1.000689"}
    assert result.office.ward == "Phường Hoàn Kiếm"


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    write_kb(tmp_path, partner())
    (tmp_path / "procedures" / "1.001193.yaml").write_text('code: "1.001193"\nname: [unclosed\nfield: x\n')
    errors = validate_knowledge_dir(tmp_path).errors
    assert len(errors) == 1
    assert errors[0].startswith(str(tmp_path / "procedures" / "1.001193.yaml") + ": line ")
    assert "YAML syntax error" in errors[0]


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    write_kb(tmp_path, partner())
    text = yaml.safe_dump(sample(), allow_unicode=True, sort_keys=False) + 'name: "again"\n'
    (tmp_path / "procedures" / "1.001193.yaml").write_text(text, encoding="utf-8")
    errors = validate_knowledge_dir(tmp_path).errors
    assert len(errors) == 1 and "duplicate key 'name'" in errors[0]


def test_missing_required_field(tmp_path: Path) -> None:
    only(errors_after(tmp_path, lambda d: d.pop("result")), "result", "required")


def test_empty_aliases_are_an_error(tmp_path: Path) -> None:
    only(errors_after(tmp_path, lambda d: d.update(aliases=[])), "aliases", "required")


def test_bad_code_format(tmp_path: Path) -> None:
    errors = errors_after(tmp_path, lambda d: d.update(code="1001193"))
    assert any(": code: " in e and "pattern" in e for e in errors), errors


def test_file_name_must_match_code(tmp_path: Path) -> None:
    write_kb(tmp_path, partner())
    text = yaml.safe_dump(sample(), allow_unicode=True, sort_keys=False)
    (tmp_path / "procedures" / "khai-sinh.yaml").write_text(text, encoding="utf-8")
    only(validate_knowledge_dir(tmp_path).errors, "code", "file name must be 1.001193.yaml")


def test_duplicate_code_across_files(tmp_path: Path) -> None:
    write_kb(tmp_path, sample(), partner())
    copy_path = tmp_path / "procedures" / "1.000689.yml"
    copy_path.write_text(yaml.safe_dump(partner(), allow_unicode=True), encoding="utf-8")
    errors = validate_knowledge_dir(tmp_path).errors
    assert any("duplicate code 1.000689" in e for e in errors), errors


def test_unknown_channel_kind(tmp_path: Path) -> None:
    errors = errors_after(tmp_path, lambda d: d["channels"][0].update(kind="email"))
    assert any(e.split(": ")[1] == "channels[0].kind" for e in errors), errors


def test_unknown_time_unit(tmp_path: Path) -> None:
    errors = errors_after(tmp_path, lambda d: d["channels"][0]["processing_time"].update(unit="weeks"))
    only(errors, "channels[0].processing_time.unit", "working_days")


def test_negative_fee(tmp_path: Path) -> None:
    errors = errors_after(tmp_path, lambda d: d["channels"][1].update(fee={"amount_vnd": -8000}))
    only(errors, "channels[1].fee.amount_vnd", "greater than or equal to 0")


def test_negative_time(tmp_path: Path) -> None:
    errors = errors_after(tmp_path, lambda d: d["channels"][1]["processing_time"].update(value=-1))
    only(errors, "channels[1].processing_time.value", "greater than or equal to 0")


def test_fee_with_neither_free_nor_amount(tmp_path: Path) -> None:
    errors = errors_after(tmp_path, lambda d: d["channels"][1].update(fee={"note": "theo quy định"}))
    only(errors, "channels[1].fee", "either free: true or amount_vnd")


def test_missing_steps_for_online_channel(tmp_path: Path) -> None:
    only(errors_after(tmp_path, lambda d: d.update(steps_online=[])), "steps_online", "'online' channel")


def test_missing_steps_for_in_person_channel(tmp_path: Path) -> None:
    only(errors_after(tmp_path, lambda d: d.pop("steps_in_person")), "steps_in_person", "'in_person' channel")


def test_missing_time_or_fee_on_curated_channel(tmp_path: Path) -> None:
    errors = errors_after(tmp_path, lambda d: d["channels"][0].pop("fee"))
    only(errors, "channels[0].fee", "required for a curated channel")


def test_unknown_document_id_in_case_answer(tmp_path: Path) -> None:
    def change(d: dict) -> None:
        d["cases"][0]["answers"][1]["removes_documents"] = ["giay_chung_sinh"]

    only(errors_after(tmp_path, change), "cases[0].answers[1].removes_documents", "unknown document id")


def test_unknown_related_code(tmp_path: Path) -> None:
    only(errors_after(tmp_path, lambda d: d.update(related=["1.999999"])), "related[0]", "unknown procedure code")


def test_unknown_redirect_code(tmp_path: Path) -> None:
    def change(d: dict) -> None:
        d["cases"][0]["answers"][2]["redirect"] = "2.123456"

    only(errors_after(tmp_path, change), "cases[0].answers[2].redirect", "unknown procedure code 2.123456")


def test_related_code_known_from_catalogue_is_accepted(tmp_path: Path) -> None:
    data = sample()
    data["related"] = ["1.000689", "2.000815"]
    write_kb(tmp_path, data, partner())
    assert validate_knowledge_dir(tmp_path).errors != []
    assert validate_knowledge_dir(tmp_path, extra_codes={"2.000815"}).errors == []


def test_bad_date(tmp_path: Path) -> None:
    write_kb(tmp_path, partner())
    text = yaml.safe_dump(sample(), allow_unicode=True, sort_keys=False)
    text = text.replace("verified_on: 2026-11-27", "verified_on: 2026-13-45")
    (tmp_path / "procedures" / "1.001193.yaml").write_text(text, encoding="utf-8")
    errors = validate_knowledge_dir(tmp_path).errors
    assert len(errors) == 1 and errors[0].split(": ")[1] == "verified_on", errors


def test_future_date(tmp_path: Path) -> None:
    only(errors_after(tmp_path, lambda d: d.update(verified_on="2999-01-01")), "verified_on", "in the future")


def test_case_with_empty_answers(tmp_path: Path) -> None:
    only(errors_after(tmp_path, lambda d: d["cases"][0].update(answers=[])), "cases[0].answers", "at least 1")


def test_unasked_case_may_only_add_documents(tmp_path: Path) -> None:
    # sample case 0 has a redirect answer (answers[2]): it cannot be left unasked
    only(errors_after(tmp_path, lambda d: d["cases"][0].update(ask=False)),
         "cases[0].ask", "not allowed with answers[2].redirect")

    def removes(d: dict) -> None:
        d["cases"][0]["answers"] = [{"label": "Có"}, {"label": "Không", "removes_documents": ["to_khai"]}]
        d["cases"][0]["ask"] = False

    only(errors_after(tmp_path, removes), "cases[0].ask", "not allowed with answers[1].removes_documents")

    def adds_only(d: dict) -> None:
        d["cases"][0]["answers"] = [{"label": "Có"}, {"label": "Không", "adds_documents": ["lam_chung"]}]
        d["cases"][0]["ask"] = False

    assert errors_after(tmp_path, adds_only) == []


def test_ask_must_be_a_boolean(tmp_path: Path) -> None:
    only(errors_after(tmp_path, lambda d: d["cases"][0].update(ask="maybe")), "cases[0].ask", "boolean")


def test_channels_file_is_validated_with_file_and_field(tmp_path: Path) -> None:
    write_kb(tmp_path, sample(), partner())
    guide = {"name": "Qua bưu điện", "steps": ["Gửi hồ sơ"], "source": "Quyết định 45/2016/QĐ-TTg",
             "verified_on": "2026-11-27"}
    channels = tmp_path / "channels.yml"
    channels.write_text(yaml.safe_dump({"postal": guide}, allow_unicode=True), encoding="utf-8")
    result = validate_knowledge_dir(tmp_path)
    assert result.errors == [] and result.channel_guides.postal.steps == ["Gửi hồ sơ"]
    channels.write_text(yaml.safe_dump({"postal": {**guide, "steps": [], "sorce": "x"}}, allow_unicode=True),
                        encoding="utf-8")
    errors = validate_knowledge_dir(tmp_path).errors
    assert {e.split(": ")[1] for e in errors} == {"postal.steps", "postal.sorce"}, errors
    assert all(e.startswith(str(channels) + ": ") for e in errors)
    channels.write_text(yaml.safe_dump({"postal": {**guide, "verified_on": "2999-01-01"}}), encoding="utf-8")
    assert [e.split(": ")[1] for e in validate_knowledge_dir(tmp_path).errors] == ["postal.verified_on"]
    with pytest.raises(KnowledgeBaseError):
        load_knowledge_base(tmp_path)


def test_unknown_field_is_reported_with_its_line(tmp_path: Path) -> None:
    errors = errors_after(tmp_path, lambda d: d.update(step_online=["x"]))
    only(errors, "step_online", "unknown field")
    assert "(line " in errors[0]


def test_origin_must_not_be_written(tmp_path: Path) -> None:
    only(errors_after(tmp_path, lambda d: d.update(origin="catalog")), "origin", "set by the loader")


def test_invalid_office_file(tmp_path: Path) -> None:
    write_kb(tmp_path, sample(), partner(), office={"ward": "Phường Hoàn Kiếm", "phone_number": "x"})
    errors = validate_knowledge_dir(tmp_path).errors
    assert len(errors) == 1 and errors[0].startswith(str(tmp_path / "office.yml") + ": phone_number: ")


def test_every_error_is_collected_in_one_run(tmp_path: Path) -> None:
    def change(d: dict) -> None:
        d["channels"][1]["fee"] = {"amount_vnd": -1}
        d["steps_online"] = []
        d["related"] = ["1.999999"]
        d["cases"][0]["answers"][1]["adds_documents"] = ["khong_co"]

    errors = errors_after(tmp_path, change)
    fields = {e.split(": ")[1] for e in errors}
    assert {"channels[1].fee.amount_vnd", "steps_online", "related[0]",
            "cases[0].answers[1].adds_documents"} <= fields, errors


def test_loader_refuses_a_broken_knowledge_base_listing_all_errors(tmp_path: Path) -> None:
    data = sample()
    data["steps_online"] = []
    data["related"] = ["1.999999"]
    write_kb(tmp_path, data, partner())
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(tmp_path)
    assert len(caught.value.errors) == 2
    assert "2 error(s)" in str(caught.value)


def test_loader_loads_a_valid_knowledge_base(tmp_path: Path) -> None:
    write_kb(tmp_path, sample(), partner(), office={"ward": "Phường Hoàn Kiếm"})
    kb = load_knowledge_base(tmp_path)
    assert kb.curated_codes == {"1.001193", "1.000689"}
    assert kb.get("1.001193").origin == "curated"
    assert kb.get("9.999999") is None
    first = kb.content_hash()
    (tmp_path / "office.yml").write_text("ward: Phường Cửa Nam\n", encoding="utf-8")
    assert load_knowledge_base(tmp_path).content_hash() != first


def _cli(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "BOT_CATALOG": ""}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_validate_exits_non_zero_with_every_error(tmp_path: Path) -> None:
    data = sample()
    data["steps_in_person"] = []
    data["channels"][0]["fee"] = {"amount_vnd": -5}
    write_kb(tmp_path, data, partner())
    run = _cli("kb", "validate", str(tmp_path))
    assert run.returncode == 1
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 2
    assert all(line.startswith(str(tmp_path / "procedures" / "1.001193.yaml") + ": ") for line in lines)
    assert "INVALID: 2 error(s)" in run.stderr


def test_cli_validate_exits_zero_on_valid_dir(tmp_path: Path) -> None:
    write_kb(tmp_path, sample(), partner())
    run = _cli("kb", "validate", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK: 2 procedure file(s)" in run.stderr


def test_shipped_knowledge_base_is_valid() -> None:
    """knowledge/ as committed: the bot must be able to start on it."""
    result = validate_knowledge_dir(PROJECT_ROOT / "knowledge")
    assert result.errors == []
    assert result.office.ward


def test_start_up_refuses_a_broken_knowledge_base(tmp_path: Path) -> None:
    """A process calling load_or_exit() exits 1 with every error; nothing is loaded partially."""
    data = sample()
    data["steps_online"] = []
    write_kb(tmp_path, data, partner())
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "BOT_KNOWLEDGE_DIR": str(tmp_path), "BOT_CATALOG": ""}
    code = "from bot.knowledge import load_or_exit; load_or_exit(); print('started')"
    run = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "started" not in run.stdout
    assert "Refusing to start: invalid knowledge base" in run.stderr
    assert "steps_online: missing steps for the listed 'online' channel" in run.stderr
    write_kb(tmp_path, sample(), partner())
    ok = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "started" in ok.stdout


def test_curated_file_overrides_the_catalogue_record(tmp_path: Path) -> None:
    excerpt = PROJECT_ROOT / "tests" / "fixtures" / "catalog_excerpt.jsonl"
    data = sample()
    data["related"] = ["1.000689", "2.000815"]  # 2.000815 exists only in the catalogue
    write_kb(tmp_path, data, partner())
    kb = load_knowledge_base(tmp_path, catalog=excerpt)
    assert kb.curated_codes == {"1.001193", "1.000689"}
    assert len(kb.procedures) == 16  # the excerpt's 16 records, two of them replaced by curated files
    assert kb.get("1.001193").origin == "curated"
    assert kb.get("1.001193").aliases == ["làm giấy khai sinh"]
    catalogue_only = kb.get("2.000815")
    assert catalogue_only.origin == "catalog"
    assert catalogue_only.channel("in_person").fee.amount_vnd == 2000
    with pytest.raises(KnowledgeBaseError):
        load_knowledge_base(tmp_path)  # without the catalogue, 2.000815 is an unknown related code
