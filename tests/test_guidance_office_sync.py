"""Rasa's own apology (action server down) carries the ward's contact from knowledge/office.yml."""

from __future__ import annotations

import shutil

import pytest

from bot.guidance.domain_sync import DomainSyncError, current_text, load_office, sync_domain
from bot.guidance.texts import service_down_text
from bot.knowledge import Office
from bot.knowledge.models import OpeningHours
from bot.settings import PROJECT_ROOT


def test_domain_apology_matches_office_file():
    office = load_office(PROJECT_ROOT / "knowledge")
    assert current_text(PROJECT_ROOT / "domain.yml") == service_down_text(office), (
        "domain.yml is out of date: run `python -m bot dialogue sync-office`"
    )


def test_text_has_phone_and_hours_when_known_and_invents_nothing():
    office = Office(name="Bộ phận một cửa", phone="024 1111 2222",
                    opening_hours=[OpeningHours(days="Thứ Hai – Thứ Sáu", hours="8h–17h")])
    text = service_down_text(office)
    assert "024 1111 2222" in text and "Thứ Hai – Thứ Sáu: 8h–17h" in text and len(text) <= 600
    bare = service_down_text(Office())
    assert "điện thoại" not in bare and "chưa có thông tin" in bare


def test_sync_rewrites_only_that_response(tmp_path):
    domain = tmp_path / "domain.yml"
    shutil.copy(PROJECT_ROOT / "domain.yml", domain)
    before = domain.read_text(encoding="utf-8")
    office = Office(name="Phường X", phone="0243 999 888")
    assert sync_domain(domain, office) is True
    assert current_text(domain) == service_down_text(office)
    after = domain.read_text(encoding="utf-8")
    assert len(before.splitlines()) == len(after.splitlines())
    assert sync_domain(domain, office) is False


def test_sync_reports_a_missing_response(tmp_path):
    domain = tmp_path / "domain.yml"
    domain.write_text("version: '3.1'\nresponses: {}\n", encoding="utf-8")
    with pytest.raises(DomainSyncError):
        sync_domain(domain, Office())
