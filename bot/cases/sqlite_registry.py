"""The embedded dossier registry: tables `dossiers` and `dossier_events` of the project database (SQLite or
PostgreSQL, bot/db.py; the class keeps its old name and kind "sqlite")."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

from bot.cases.models import Dossier, DossierEvent, Status
from bot.cases.registry import CaseRegistry, RegistryUnavailable
from bot.db import Database, DatabaseError
from bot.storage import open_database


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class SQLiteCaseRegistry(CaseRegistry):
    """Dossiers kept in the project database (the demo registry, or a locality without a one-stop-shop API)."""

    kind = "sqlite"

    def __init__(self, conn: Database) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | Path) -> "SQLiteCaseRegistry":
        """Open (creating and migrating) the database at `path`."""
        return cls(open_database(path))

    def get(self, code: str) -> Dossier | None:
        try:
            with self._lock:
                row = self.conn.execute("SELECT * FROM dossiers WHERE code = ?", (code,)).fetchone()
                if row is None:
                    return None
                events = self.conn.execute(
                    "SELECT at, status, note FROM dossier_events WHERE dossier_code = ? ORDER BY at, id", (code,)
                ).fetchall()
        except DatabaseError as exc:
            raise RegistryUnavailable(f"local registry: {exc.__class__.__name__}") from exc
        return Dossier(
            code=row["code"],
            procedure_code=row["procedure_code"],
            procedure_name=row["procedure_name"],
            applicant_name=row["applicant_name"],
            phone_last4=row["phone_last4"],
            id_last4=row["id_last4"],
            status=Status.parse(row["status"]),
            received_at=datetime.fromisoformat(row["received_at"]),
            due_at=_dt(row["due_at"]),
            channel=row["channel"],
            agency=row["agency"],
            missing_documents=tuple(json.loads(row["missing_documents"] or "[]")),
            note=row["note"],
            events=tuple(
                DossierEvent(datetime.fromisoformat(e["at"]), Status.parse(e["status"]), e["note"]) for e in events
            ),
        )

    def put(self, dossier: Dossier, source: str = "local") -> None:
        """Insert or replace a dossier with its timeline; `source` tags demo rows so a re-seed replaces them."""
        with self._lock, self.conn.transaction():
            self.conn.lock(f"dossiers:{dossier.code}")  # two replicas re-seeding one code: one after the other
            self.conn.execute("DELETE FROM dossiers WHERE code = ?", (dossier.code,))
            self.conn.execute(
                "INSERT INTO dossiers (code, procedure_code, procedure_name, applicant_name, phone_last4, id_last4,"
                " channel, agency, status, received_at, due_at, missing_documents, note, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    dossier.code,
                    dossier.procedure_code,
                    dossier.procedure_name,
                    dossier.applicant_name,
                    dossier.phone_last4,
                    dossier.id_last4,
                    dossier.channel,
                    dossier.agency,
                    dossier.status.value,
                    dossier.received_at.isoformat(),
                    dossier.due_at.isoformat() if dossier.due_at else None,
                    json.dumps(list(dossier.missing_documents), ensure_ascii=False),
                    dossier.note,
                    source,
                ),
            )
            self.conn.executemany(
                "INSERT INTO dossier_events (dossier_code, at, status, note) VALUES (?, ?, ?, ?)",
                [(dossier.code, e.at.isoformat(), e.status.value, e.note) for e in dossier.events],
            )

    def set_status(
        self, code: str, status: Status, at: datetime, note: str | None = None,
        missing_documents: tuple[str, ...] | None = None,
    ) -> bool:
        """Move a dossier to `status` and add a timeline row (staff and demos, issue 15); False if unknown."""
        with self._lock, self.conn.transaction():
            updated = self.conn.execute(
                "UPDATE dossiers SET status = ?, note = COALESCE(?, note) WHERE code = ?", (status.value, note, code)
            ).rowcount
            if updated and missing_documents is not None:
                self.conn.execute(
                    "UPDATE dossiers SET missing_documents = ? WHERE code = ?",
                    (json.dumps(list(missing_documents), ensure_ascii=False), code),
                )
            if updated:
                self.conn.execute(
                    "INSERT INTO dossier_events (dossier_code, at, status, note) VALUES (?, ?, ?, ?)",
                    (code, at.isoformat(), status.value, note),
                )
        return bool(updated)

    def codes(self, source: str | None = None) -> list[str]:
        """Codes held, optionally only those of one source ('demo')."""
        with self._lock:
            if source is None:
                rows = self.conn.execute("SELECT code FROM dossiers ORDER BY code")
            else:
                rows = self.conn.execute("SELECT code FROM dossiers WHERE source = ? ORDER BY code", (source,))
            return [r[0] for r in rows]

    def delete_source(self, source: str) -> int:
        """Remove every dossier of one source (timelines go with them); returns how many."""
        with self._lock:
            return self.conn.execute("DELETE FROM dossiers WHERE source = ?", (source,)).rowcount

    def close(self) -> None:
        self.conn.close()
