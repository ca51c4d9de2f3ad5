"""What citizens ask, over a chosen period: unanswered questions grouped by similar wording, feedback per
procedure, handoffs per day, messages per channel. Plain rows, used by the pages, the charts and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from bot.db import Database

SIMILAR = 80  # rapidfuzz token_set_ratio on folded text: "lam giay khai sinh" ~ "giấy khai sinh cho con"


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @classmethod
    def parse(cls, start: str | None, end: str | None, today: dt.date | None = None) -> "Period":
        """From the page's date inputs; default the last 30 days; a bad date falls back to the default."""
        today = today or dt.datetime.now(dt.timezone.utc).date()
        try:
            last = dt.date.fromisoformat(end) if end else today
        except ValueError:
            last = today
        try:
            first = dt.date.fromisoformat(start) if start else last - dt.timedelta(days=29)
        except ValueError:
            first = last - dt.timedelta(days=29)
        if first > last:
            first, last = last, first
        return cls(first, min(last, first + dt.timedelta(days=366)))

    @property
    def bounds(self) -> tuple[str, str]:
        return self.start.isoformat(), (self.end + dt.timedelta(days=1)).isoformat()

    def days(self) -> list[str]:
        return [(self.start + dt.timedelta(days=i)).isoformat() for i in range((self.end - self.start).days + 1)]


def fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return " ".join(re.findall(r"[a-z0-9]+", text))


@dataclass
class QuestionGroup:
    text: str  # the first wording seen
    count: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    question_ids: list[int] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)


def unanswered_groups(conn: Database, period: Period) -> list[QuestionGroup]:
    rows = conn.execute("SELECT id, text, decision FROM unanswered_questions WHERE created_at >= ? AND created_at < ?"
                        " ORDER BY id", period.bounds).fetchall()
    groups: list[tuple[str, QuestionGroup]] = []
    for row in rows:
        key = fold(row["text"])
        match = next((g for k, g in groups if fuzz.token_set_ratio(k, key) >= SIMILAR), None)
        if match is None:
            match = QuestionGroup(row["text"])
            groups.append((key, match))
        match.count += 1
        match.decisions[row["decision"]] = match.decisions.get(row["decision"], 0) + 1
        match.question_ids.append(int(row["id"]))
        if row["text"] not in match.variants and len(match.variants) < 5:
            match.variants.append(row["text"])
    return sorted((g for _k, g in groups), key=lambda g: -g.count)


def feedback_by_procedure(conn: Database, period: Period) -> list[dict[str, object]]:
    comments = conn.string_agg("CASE WHEN comment IS NOT NULL AND comment != '' THEN comment END", " | ")
    rows = conn.execute(
        "SELECT COALESCE(procedure_code, '(chưa chọn)') AS code,"
        " SUM(CASE WHEN helpful = 1 THEN 1 ELSE 0 END) AS yes_count,"
        " SUM(CASE WHEN helpful = 0 THEN 1 ELSE 0 END) AS no_count,"
        f" {comments} AS comments"
        " FROM feedback WHERE created_at >= ? AND created_at < ?"
        " GROUP BY COALESCE(procedure_code, '(chưa chọn)') ORDER BY no_count DESC, yes_count DESC",
        period.bounds).fetchall()
    return [{"code": r["code"], "helpful": int(r["yes_count"] or 0), "unhelpful": int(r["no_count"] or 0),
             "comments": (r["comments"] or "")[:500]} for r in rows]


def handoffs_per_day(conn: Database, period: Period) -> list[tuple[str, int]]:
    rows = dict(conn.execute("SELECT substr(created_at, 1, 10), COUNT(*) FROM handoff_requests"
                             " WHERE created_at >= ? AND created_at < ? GROUP BY 1", period.bounds).fetchall())
    return [(day, int(rows.get(day, 0))) for day in period.days()]


def messages_per_channel(conn: Database, period: Period) -> list[tuple[str, int]]:
    start, end = period.bounds
    rows = conn.execute("SELECT channel, SUM(count) FROM channel_messages WHERE day >= ? AND day < ?"
                        " GROUP BY channel ORDER BY 2 DESC", (start, end)).fetchall()
    return [(r[0], int(r[1])) for r in rows]


def report_csv(conn: Database, period: Period) -> str:
    """One CSV with a `section` column, so a spreadsheet filters it (UTF-8 with BOM for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "value", "detail"])
    for group in unanswered_groups(conn, period):
        writer.writerow(["unanswered", group.text, group.count, " | ".join(group.variants)])
    for item in feedback_by_procedure(conn, period):
        writer.writerow(["feedback", item["code"], f"{item['helpful']}/{item['unhelpful']}", item["comments"]])
    for day, count in handoffs_per_day(conn, period):
        writer.writerow(["handoffs_per_day", day, count, ""])
    for channel, count in messages_per_channel(conn, period):
        writer.writerow(["messages_per_channel", channel, count, ""])
    return "\ufeff" + out.getvalue()
