"""Dossier status lookup: registries (SQLite, HTTP), code patterns, verification + rate limit, replies.

Public API (see docs/architecture.md): `build_case_service(settings) -> CaseService`,
`CaseService.lookup(sender_id, dossier_code, verification) -> LookupResult`.
"""

from bot.cases.models import Dossier, DossierEvent, Status
from bot.cases.registry import CaseRegistry, RegistryUnavailable
from bot.cases.service import CaseService, LookupResult, build_case_service, get_case_service

__all__ = [
    "CaseRegistry",
    "CaseService",
    "Dossier",
    "DossierEvent",
    "LookupResult",
    "RegistryUnavailable",
    "Status",
    "build_case_service",
    "get_case_service",
]
