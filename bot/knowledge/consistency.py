"""Do a curated file's facts agree with the national record of the same code?

"Agree" means, for each channel the curated file lists: the catalogue record has
a channel of the same kind; when the record states a processing time, the value
and unit are the same; when it states a fee, both are free or both have the
same amount in VND. Values the record does not state ("Không có thông tin") are
not compared. Channels the record offers but the ward does not list are allowed.
"""

from __future__ import annotations

from bot.knowledge.models import Procedure


def fact_differences(curated: Procedure, record: Procedure) -> list[str]:
    """Human-readable differences (`code: channels[kind].field: curated X, catalogue Y`); empty = agree."""
    diffs: list[str] = []
    for channel in curated.channels:
        where = f"{curated.code}: channels[{channel.kind}]"
        other = record.channel(channel.kind)
        if other is None:
            offered = ", ".join(record.channel_kinds) or "none"
            diffs.append(f"{where}: not offered in the national record (it lists: {offered})")
            continue
        mine, theirs = channel.processing_time, other.processing_time
        if theirs is not None and mine is not None:
            if (float(mine.value), mine.unit) != (float(theirs.value), theirs.unit):
                diffs.append(f"{where}.processing_time: curated {mine.text()}, catalogue {theirs.text()}")
        if other.fee is not None and channel.fee is not None:
            if (channel.fee.free, channel.fee.amount_vnd) != (other.fee.free, other.fee.amount_vnd):
                diffs.append(f"{where}.fee: curated {channel.fee.text()}, catalogue {other.fee.text()}")
    return diffs
