"""Knowledge review: an officer proposes an alias or a draft procedure (from `kb draft`); it waits in a review list;
a reviewer approves it and only then, if the validator passes on a copy of the knowledge folder with the change,
is the file written under knowledge/. Nothing else writes knowledge/."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
from pathlib import Path

from bot.db import Database, Row
from bot.knowledge.models import CODE_PATTERN


class ReviewError(ValueError):
    """The proposal cannot be made or applied; the message is shown to the officer."""


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def propose_alias(conn: Database, author: str, code: str, alias: str, question_id: int | None,
                  knowledge_dir: Path) -> int:
    alias = " ".join(alias.split())
    if not re.fullmatch(CODE_PATTERN, code) or not (knowledge_dir / "procedures" / f"{code}.yaml").exists():
        raise ReviewError(f"Không có thủ tục mã {code} trong knowledge/procedures.")
    if not 2 <= len(alias) <= 120:
        raise ReviewError("Tên gọi khác cần 2–120 ký tự.")
    return int(conn.execute(
        "INSERT INTO knowledge_reviews (created_at, author, kind, procedure_code, alias, question_id)"
        " VALUES (?, ?, 'alias', ?, ?, ?) RETURNING id", (now_iso(), author, code, alias, question_id)).fetchone()[0])


def propose_draft(conn: Database, author: str, code: str, question_id: int | None,
                  catalog: Path | None) -> int:
    """Runs `kb draft` (bot/knowledge/draft.py) into a temporary folder; the YAML waits in the review list."""
    from bot.knowledge.draft import DraftError, write_draft

    if catalog is None or not Path(catalog).exists():
        raise ReviewError("Chưa cấu hình cơ sở dữ liệu thủ tục quốc gia (settings.yml catalog / BOT_CATALOG).")
    with tempfile.TemporaryDirectory(prefix="console-draft-") as folder:
        try:
            path = write_draft(code, Path(catalog), Path(folder))
        except DraftError as exc:
            raise ReviewError(str(exc)) from None
        content = path.read_text(encoding="utf-8")
    return int(conn.execute(
        "INSERT INTO knowledge_reviews (created_at, author, kind, procedure_code, question_id, content)"
        " VALUES (?, ?, 'draft', ?, ?, ?) RETURNING id", (now_iso(), author, code, question_id, content)).fetchone()[0])


def pending(conn: Database) -> list[Row]:
    return conn.execute("SELECT * FROM knowledge_reviews ORDER BY CASE WHEN status = 'pending' THEN 0 ELSE 1 END,"
                        " id DESC LIMIT 100").fetchall()


def with_alias(text: str, alias: str) -> str:
    """The procedure file's text with one more alias (comments and layout kept)."""
    quoted = json.dumps(alias, ensure_ascii=False)
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith("aliases:"):
            if line.strip() == "aliases: []" or line.strip() == "aliases:" and (
                    index + 1 == len(lines) or not lines[index + 1].startswith("  -")):
                lines[index] = f"aliases:\n  - {quoted}\n"
                return "".join(lines)
            end = index + 1
            while end < len(lines) and lines[end].startswith("  - "):
                end += 1
            lines.insert(end, f"  - {quoted}\n")
            return "".join(lines)
    raise ReviewError("Tệp thủ tục không có mục aliases.")


def _validate_with(knowledge_dir: Path, relative: str, text: str, extra_codes: set[str]) -> list[str]:
    from bot.knowledge.validator import validate_knowledge_dir

    with tempfile.TemporaryDirectory(prefix="console-review-") as folder:
        copy = Path(folder) / "knowledge"
        shutil.copytree(knowledge_dir, copy, ignore=shutil.ignore_patterns("drafts"))
        (copy / relative).write_text(text, encoding="utf-8")
        return validate_knowledge_dir(copy, extra_codes=extra_codes).errors


def approve(conn: Database, review_id: int, reviewer: str, knowledge_dir: Path, content: str | None = None,
            extra_codes: set[str] | None = None) -> list[str]:
    """Apply the change if the validator passes; returns the validator's errors (empty: written to knowledge/)."""
    row = conn.execute("SELECT * FROM knowledge_reviews WHERE id = ? AND status = 'pending'", (review_id,)).fetchone()
    if row is None:
        raise ReviewError("Đề xuất không còn chờ duyệt.")
    if row["author"] == reviewer:
        raise ReviewError("Người đề xuất không tự duyệt: cần một cán bộ khác.")
    relative = f"procedures/{row['procedure_code']}.yaml"
    target = knowledge_dir / relative
    if row["kind"] == "alias":
        text = with_alias(target.read_text(encoding="utf-8"), row["alias"])
    else:
        text = content if content is not None else row["content"]
        if target.exists():
            raise ReviewError(f"{relative} đã có: dùng đề xuất tên gọi khác thay vì bản nháp.")
    errors = _validate_with(knowledge_dir, relative, text, extra_codes or set())
    if errors:
        conn.execute("UPDATE knowledge_reviews SET content = ?, note = ? WHERE id = ?",
                     (text if row["kind"] == "draft" else row["content"], "\n".join(errors[:20]), review_id))
        return errors
    target.write_text(text, encoding="utf-8")
    conn.execute("UPDATE knowledge_reviews SET status = 'approved', reviewer = ?, reviewed_at = ?, note = NULL"
                 " WHERE id = ?", (reviewer, now_iso(), review_id))
    return []


def reject(conn: Database, review_id: int, reviewer: str) -> None:
    conn.execute("UPDATE knowledge_reviews SET status = 'rejected', reviewer = ?, reviewed_at = ? WHERE id = ?"
                 " AND status = 'pending'", (reviewer, now_iso(), review_id))
