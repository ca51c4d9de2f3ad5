"""knowledge/services/ (issue 14): every entry sourced and dated, checked by the validator with file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.knowledge import KnowledgeBaseError, load_knowledge_base
from bot.knowledge.validator import validate_knowledge_dir
from bot.services import load_services, validate_services_dir
from bot.settings import PROJECT_ROOT

KNOWLEDGE = PROJECT_ROOT / "knowledge"
SERVICES = KNOWLEDGE / "services"


def copy_kb(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE, target)
    return target


def copy_services(tmp_path: Path) -> Path:
    """Only the services folder: what validate_services_dir reads."""
    target = tmp_path / "kb"
    shutil.copytree(SERVICES, target / "services")
    return target


def edit(kb: Path, name: str, change) -> None:
    path = kb / "services" / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_shipped_services_are_valid_and_every_entry_is_sourced_and_dated() -> None:
    services = load_services(KNOWLEDGE)
    entries = [*services.payment.methods, *services.vneid.tasks, services.wards]
    assert len(services.payment.methods) >= 6 and len(services.vneid.tasks) >= 5
    for entry in entries:
        assert entry.source.strip() and entry.verified_on is not None
    kinds = {kind for m in services.payment.methods for kind in m.channels}
    assert kinds == {"online", "in_person", "postal"}
    names = " ".join(m.name for m in services.payment.methods)
    for needed in ("Cổng Dịch vụ công quốc gia", "VNeID", "iHanoi", "ngân hàng", "một cửa", "bưu điện"):
        assert needed in names
    ids = {t.id for t in services.vneid.tasks}
    assert {"muc_2", "kich_hoat", "quen_mat_khau", "tich_hop_giay_to", "tre_em"} <= ids


def test_vneid_procedure_links_exist_in_the_knowledge_base() -> None:
    kb = load_knowledge_base(KNOWLEDGE)
    for task in load_services(KNOWLEDGE).vneid.tasks:
        assert task.procedure is None or kb.get(task.procedure) is not None, task.id


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("payment.yml", lambda d: d["methods"][0].pop("source"), "payment.yml: methods[0].source: required field is missing"),
        ("payment.yml", lambda d: d["methods"][2].pop("verified_on"), "payment.yml: methods[2].verified_on: required field is missing"),
        ("payment.yml", lambda d: d["methods"][1].update(source=""), "payment.yml: methods[1].source:"),
        ("payment.yml", lambda d: d["methods"][0].update(verified_on="2026-13-01"), "payment.yml: methods[0].verified_on:"),
        ("payment.yml", lambda d: d["methods"][0].update(verified_on="2999-01-01"), "payment.yml: methods[0].verified_on: date 2999-01-01 is in the future"),
        ("payment.yml", lambda d: d["methods"][0].update(channels=["fax"]), "payment.yml: methods[0].channels[0]:"),
        ("payment.yml", lambda d: d["methods"][1].update(id=d["methods"][0]["id"]), "payment.yml: methods[1].id: id 'cong_dvc_quoc_gia' used 2 times"),
        ("vneid.yml", lambda d: d["tasks"][3].pop("source"), "vneid.yml: tasks[3].source: required field is missing"),
        ("vneid.yml", lambda d: d["tasks"][0].pop("verified_on"), "vneid.yml: tasks[0].verified_on: required field is missing"),
        ("vneid.yml", lambda d: d["tasks"][0].update(surce="x"), "vneid.yml: tasks[0].surce: unknown field"),
        ("wards.yml", lambda d: d.pop("source"), "wards.yml: source: required field is missing"),
        ("wards.yml", lambda d: d.pop("verified_on"), "wards.yml: verified_on: required field is missing"),
    ],
)
def test_validator_names_file_and_field(tmp_path: Path, name: str, change, expected: str) -> None:
    kb = copy_services(tmp_path)
    edit(kb, name, change)
    errors = validate_services_dir(kb)
    assert any(expected in e for e in errors), errors


def test_knowledge_base_refuses_invalid_services(tmp_path: Path) -> None:
    kb = copy_kb(tmp_path)
    edit(kb, "vneid.yml", lambda d: d["tasks"][1].pop("verified_on"))
    expected = "vneid.yml: tasks[1].verified_on: required field is missing"
    assert any(expected in e for e in validate_knowledge_dir(kb).errors)
    with pytest.raises(KnowledgeBaseError) as raised:  # the bot refuses to start on it
        load_knowledge_base(kb)
    assert any(expected in e for e in raised.value.errors)


def test_yaml_syntax_error_has_file_and_line(tmp_path: Path) -> None:
    kb = copy_services(tmp_path)
    (kb / "services" / "vneid.yml").write_text("tasks:\n  - id: [unclosed\n", encoding="utf-8")
    errors = validate_services_dir(kb)
    assert len(errors) == 1 and "vneid.yml: line" in errors[0] and "YAML syntax error" in errors[0]


def test_a_missing_services_folder_is_not_an_error(tmp_path: Path) -> None:
    kb = copy_services(tmp_path)
    shutil.rmtree(kb / "services")
    assert validate_services_dir(kb) == []
    assert load_services(kb).payment is None


def test_kb_validate_command_reports_a_services_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    kb = copy_kb(tmp_path)
    edit(kb, "payment.yml", lambda d: d["methods"][4].pop("source"))
    result = subprocess.run([sys.executable, "-m", "bot", "kb", "validate", str(kb)], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=120)
    assert result.returncode != 0
    assert "payment.yml: methods[4].source: required field is missing" in result.stdout + result.stderr
