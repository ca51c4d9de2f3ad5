"""The interface every dossier registry implements (embedded SQLite, a one-stop-shop REST API, ...)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from bot.cases.models import Dossier


class RegistryUnavailable(RuntimeError):
    """The registry cannot answer now (timeout, 5xx, bad answer): the citizen is told to try later.

    Never raised for an unknown code: that is `None` from `get`, so it can be
    answered exactly like a wrong verification value.
    """


class CaseRegistry(ABC):
    """Read access to dossiers by their (normalized) code."""

    kind: str = "abstract"

    @abstractmethod
    def get(self, code: str) -> Dossier | None:
        """The dossier with this code, or None when there is none. Raises RegistryUnavailable."""

    def close(self) -> None:
        """Release connections; the default has nothing to release."""
