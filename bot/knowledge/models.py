"""Pydantic v2 schema of a procedure file and of the ward's service point.

The shape mirrors `docs/architecture.md` (the contract). Pydantic checks types,
formats and ranges; rules that need the whole file or the whole knowledge base
(steps per channel, document ids, related codes, required-for-curated fields)
live in `bot.knowledge.validator` so every error can be reported at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

CODE_PATTERN = r"^\d\.\d{6}$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_]*$"

Code = Annotated[str, Field(pattern=CODE_PATTERN)]
Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
ChannelKind = Literal["online", "postal", "in_person"]
TimeUnit = Literal["working_days", "days", "hours"]
Level = Literal["xa", "tinh", "bo"]
Origin = Literal["curated", "catalog"]

CHANNEL_LABELS: dict[str, str] = {
    "online": "Trực tuyến",
    "postal": "Dịch vụ bưu chính",
    "in_person": "Trực tiếp",
}
UNIT_LABELS: dict[str, str] = {"working_days": "ngày làm việc", "days": "ngày", "hours": "giờ"}

# What the bot says for a value nobody has filled in (never invent one).
UNKNOWN_TEXT = "chưa có thông tin"


class _Strict(BaseModel):
    """Unknown keys are errors: a typo such as `step_online` must not pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProcessingTime(_Strict):
    value: float = Field(ge=0)
    unit: TimeUnit
    note: str | None = None

    @field_serializer("value")
    def _plain_number(self, value: float) -> int | float:
        """Write `1`, not `1.0`, so a YAML round trip keeps the curator's text."""
        return int(value) if float(value).is_integer() else value

    def text(self) -> str:
        """Vietnamese wording, e.g. "3 ngày làm việc"."""
        value = int(self.value) if float(self.value).is_integer() else self.value
        return f"{value} {UNIT_LABELS[self.unit]}"


class Fee(_Strict):
    free: bool = False
    amount_vnd: int | None = Field(default=None, ge=0)
    note: str | None = None

    @model_validator(mode="after")
    def _free_or_amount(self) -> "Fee":
        if self.free and self.amount_vnd not in (None, 0):
            raise ValueError("a fee cannot be both free and have amount_vnd")
        if not self.free and self.amount_vnd is None:
            raise ValueError("a fee needs either free: true or amount_vnd")
        return self

    def text(self) -> str:
        """Vietnamese wording, e.g. "Miễn phí" or "8.000 đồng"."""
        if self.free or self.amount_vnd == 0:
            return "Miễn phí"
        return f"{self.amount_vnd:,} đồng".replace(",", ".")


class Channel(_Strict):
    """One way to submit. Catalogue records may lack time or fee (None = chưa có thông tin)."""

    kind: ChannelKind
    processing_time: ProcessingTime | None = None
    fee: Fee | None = None


class Document(_Strict):
    id: str = Field(pattern=SLUG_PATTERN)
    name: str = Field(min_length=1)
    copies: str | None = None
    form: str | None = None
    when: str | None = None  # set: conditional, only added by a case answer


class CaseAnswer(_Strict):
    label: str = Field(min_length=1)
    adds_documents: list[Slug] = Field(default_factory=list)
    removes_documents: list[Slug] = Field(default_factory=list)
    redirect: str | None = Field(default=None, pattern=CODE_PATTERN)
    reason: str | None = None


class Case(_Strict):
    id: str = Field(pattern=SLUG_PATTERN)
    question: str = Field(min_length=1)
    answers: list[CaseAnswer] = Field(min_length=1)
    # false: a rare condition (e.g. someone going on the citizen's behalf) that is not asked, so common
    # procedures reach the checklist in few messages; its `adds_documents` show as "có thể cần thêm" lines.
    ask: bool = True


class Procedure(_Strict):
    """One administrative procedure (curated YAML file or imported catalogue record)."""

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1)
    short_name: str | None = Field(default=None, max_length=40)
    aliases: list[str] = Field(default_factory=list)
    example_questions: list[str] = Field(default_factory=list)
    field: str | None = None
    level: list[Level] = Field(default_factory=list)
    who: str | None = None
    agency: str | None = None
    channels: list[Channel] = Field(default_factory=list)
    documents: list[Document] = Field(default_factory=list)
    cases: list[Case] = Field(default_factory=list)
    steps_online: list[str] = Field(default_factory=list)
    steps_in_person: list[str] = Field(default_factory=list)
    result: str | None = None
    legal_basis: list[str] = Field(default_factory=list)
    related: list[Code] = Field(default_factory=list)
    source: str | None = None
    verified_on: dt.date | None = None
    tips: list[str] = Field(default_factory=list)
    # National-portal fields quoted as they are (catalogue records; a curated file may set them too):
    # where the dossier is received (dia_chi_tiep_nhan), conditions (yeu_cau_dieu_kien), the decision
    # that published the procedure (so_quyet_dinh).
    receiving_address: str | None = None
    requirements: str | None = None
    decision: str | None = None
    # Set by the loader, never written in YAML.
    origin: Origin = "curated"

    def channel(self, kind: str) -> Channel | None:
        return next((c for c in self.channels if c.kind == kind), None)

    @property
    def channel_kinds(self) -> list[str]:
        return [c.kind for c in self.channels]

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    def base_documents(self) -> list[Document]:
        """The checklist before any case answer: every document without `when`."""
        return [d for d in self.documents if not d.when]

    def to_yaml_dict(self) -> dict:
        """Plain data for writing a YAML file (no `origin`, no empty optional values)."""
        data = self.model_dump(mode="json", exclude={"origin"}, exclude_none=True)
        for case in data.get("cases", []):
            if case.get("ask") is True:  # the default: not written
                del case["ask"]
        return {k: v for k, v in data.items() if v not in ([], None)}

    def asked_cases(self) -> list[Case]:
        """The case questions the walk asks (`ask: false` ones only annotate the checklist)."""
        return [c for c in self.cases if c.ask]


class ChannelGuide(_Strict):
    """Generic steps for a way of submitting that no procedure file describes (`knowledge/channels.yml`).

    Used for the postal channel: the procedures list `postal` but carry no postal steps, and the
    steps (hand the dossier to the public postal service, pay, keep the receipt) are the same for all.
    """

    name: str = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    source: str = Field(min_length=1)
    verified_on: dt.date
    to_confirm: list[str] = Field(default_factory=list)  # what the ward still has to check


class ChannelGuides(_Strict):
    """`knowledge/channels.yml`: one optional entry per channel kind without per-procedure steps."""

    postal: ChannelGuide | None = None


class PaymentOption(_Strict):
    name: str = Field(min_length=1)
    note: str | None = None


class OpeningHours(_Strict):
    days: str = Field(min_length=1)  # e.g. "Thứ Hai – Thứ Sáu"
    hours: str = Field(min_length=1)  # e.g. "Sáng 8h00–12h00, chiều 13h30–17h00"


class Office(_Strict):
    """The deploying ward's public administrative service point (`knowledge/office.yml`).

    Every value may be missing: the bot then says "chưa có thông tin" and never
    guesses an address, a phone number or a link.
    """

    ward: str | None = None  # new ward after 1 July 2025, e.g. "Phường Hoàn Kiếm"
    province: str | None = None  # e.g. "Thành phố Hà Nội"
    name: str | None = None  # service point name
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    opening_hours: list[OpeningHours] = Field(default_factory=list)
    online_queue_url: str | None = None
    online_portal_url: str | None = None
    payment_options: list[PaymentOption] = Field(default_factory=list)
    merged_from: list[str] = Field(default_factory=list)  # old wards merged into this one
    to_confirm: list[str] = Field(default_factory=list)  # field names filled with usual public values, to check
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_to_confirm(self) -> "Office":
        unknown = [name for name in self.to_confirm if name not in type(self).model_fields]
        if unknown:
            raise ValueError(f"to_confirm names unknown field(s): {', '.join(unknown)}")
        return self

    def value_or_unknown(self, field_name: str) -> str:
        """The field's text, or "chưa có thông tin" when the ward has not filled it."""
        value = getattr(self, field_name)
        if value in (None, "", []):
            return UNKNOWN_TEXT
        return str(value)

    def missing_fields(self) -> list[str]:
        names = ("ward", "name", "address", "phone", "opening_hours", "online_queue_url", "payment_options")
        return [n for n in names if getattr(self, n) in (None, "", [])]
