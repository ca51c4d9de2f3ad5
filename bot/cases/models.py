"""Plain data of a dossier (hồ sơ) as every registry returns it, whatever its source."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum

# Vietnam has one time zone and no daylight saving: a fixed offset needs no tz database.
VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")


class Status(str, Enum):
    """Stages a dossier goes through at the one-stop shop (Bộ phận Một cửa)."""

    RECEIVED = "received"                    # đã tiếp nhận
    PROCESSING = "processing"                # đang giải quyết
    SUPPLEMENT_REQUIRED = "supplement_required"  # cần bổ sung giấy tờ
    DONE = "done"                            # đã có kết quả, chờ trả
    RETURNED = "returned"                    # đã trả kết quả
    REJECTED = "rejected"                    # không giải quyết (có văn bản nêu lý do)

    @classmethod
    def parse(cls, value: str) -> "Status":
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown dossier status {value!r} (allowed: {allowed})") from None

    @property
    def finished(self) -> bool:
        """The agency's part is over: no appointment date can be missed any more."""
        return self in (Status.DONE, Status.RETURNED, Status.REJECTED)


@dataclass(frozen=True)
class DossierEvent:
    """One change in a dossier's timeline."""

    at: datetime
    status: Status
    note: str | None = None


@dataclass(frozen=True)
class Dossier:
    """A dossier as the citizen may see it once verified.

    Only the last four digits of the applicant's phone and ID number are held:
    that is all verification needs, and nothing more can leak from here.
    """

    code: str
    procedure_code: str
    procedure_name: str
    applicant_name: str
    phone_last4: str
    id_last4: str
    status: Status
    received_at: datetime
    due_at: datetime | None = None
    channel: str = "in_person"          # in_person | online | postal
    agency: str | None = None
    missing_documents: tuple[str, ...] = ()
    note: str | None = None
    events: tuple[DossierEvent, ...] = field(default_factory=tuple)

    def __repr__(self) -> str:  # never print the applicant's data by accident
        return f"Dossier(code={self.code!r}, procedure_code={self.procedure_code!r}, status={self.status.value!r})"
