"""Schema of `knowledge/services/*.yml`: every entry carries its `source` and `verified_on`."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ChannelKind = Literal["online", "in_person", "postal"]


class _Sourced(BaseModel):
    """An entry a citizen is told: where it comes from and when it was checked, never optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source: str = Field(min_length=1)
    verified_on: dt.date
    to_confirm: list[str] = Field(default_factory=list)  # what the ward still has to check


class PaymentMethod(_Sourced):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1)
    channels: list[ChannelKind] = Field(min_length=1)  # the ways of submitting this method goes with
    provinces: list[str] = Field(default_factory=list)  # empty: everywhere; else only there (e.g. iHanoi)
    summary: str = Field(min_length=1)
    steps: list[str] = Field(min_length=1)


class PaymentGuide(BaseModel):
    model_config = ConfigDict(extra="forbid")

    methods: list[PaymentMethod] = Field(min_length=1)


class VneidTask(_Sourced):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = Field(min_length=1, max_length=40)  # button title
    keywords: list[str] = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    procedure: str | None = Field(default=None, pattern=r"^\d\.\d{6}$")  # the procedure behind it, if any


class VneidGuide(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: list[VneidTask] = Field(min_length=1)


class WardsNote(_Sourced):
    """The legal source and the sentence said with every old → new ward answer (data: vietnamadminunits)."""

    note: str = Field(min_length=1)


class Services(BaseModel):
    """Everything in `knowledge/services/`; a missing file leaves its part empty (the bot then says it has no guide)."""

    payment: PaymentGuide | None = None
    vneid: VneidGuide | None = None
    wards: WardsNote | None = None

    def payment_methods(self, channel: str | None, province: str | None = None) -> list[PaymentMethod]:
        """Methods for a way of submitting (all when None), without those of another province."""
        if self.payment is None:
            return []
        return [
            m for m in self.payment.methods
            if (channel is None or channel in m.channels) and _in_province(m.provinces, province)
        ]

    def vneid_task(self, task_id: str) -> VneidTask | None:
        if self.vneid is None:
            return None
        return next((t for t in self.vneid.tasks if t.id == task_id), None)


def _in_province(provinces: list[str], province: str | None) -> bool:
    if not provinces:
        return True
    if province is None:
        return False
    return any(p.lower() in province.lower() for p in provinces)
