"""National catalogue (dichvucong.gov.vn records, JSON lines) -> `Procedure` models.

The portal's tables arrive flattened: cells are concatenated without
separators. Each parser here undoes one table:

- `cach_thuc_thuc_hien`: "Hình thức nộpThời gianPhí, lệ phíMô tả" then, per
  channel, `<Trực tuyến|Dịch vụ bưu chính|Trực tiếp><time><fee>(<fee note>)<description>`;
  a bare time number is in working days (portal default); when a bare time is
  glued to a fee number ("120,000 VNĐ" = 1 day + 20,000 đ) the split giving the
  roundest fee wins; "Ngày" whose description says "N ngày làm việc" is working
  days; "Tháng" / "Năm" become 30 / 365 days (note keeps the original).
- `thanh_phan_ho_so`: sections ("* Giấy tờ phải nộp:") with the header
  "Tên giấy tờMẫu đơn, tờ khaiSố lượng", then `<name><form file><N bản chính[,M bản sao]>` items.
- `can_cu_phap_ly`: "Tên văn bản pháp lýMã văn bản" then `<title><code>` pairs.
- `trinh_tu_thuc_hien`: free text, split into steps by lines.

About a fifth of the records are in decomposed Unicode; lines are NFC-normalised
on read. Records that yield no channel with time and fee or no document are
reported in `failed` with a warning (they are still served); so are fee amounts
that disagree with their own note (the portal sometimes writes 40 for 40.000 đ).
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from pydantic import ValidationError

from bot.knowledge.models import Channel, Document, Fee, Procedure, ProcessingTime

NO_INFO = "Không có thông tin"
CHANNEL_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
DOCUMENT_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"

CHANNEL_NAMES: dict[str, str] = {"Trực tuyến": "online", "Dịch vụ bưu chính": "postal", "Trực tiếp": "in_person"}
LEVELS: dict[str, str] = {"Cấp xã": "xa", "Cấp tỉnh": "tinh", "Cấp bộ": "bo"}

# A channel cell starts where a channel name is followed by a time (digits) or an empty time.
_CHANNEL_START = re.compile(r"(Trực tuyến|Dịch vụ bưu chính|Trực tiếp)(?=\s*(?:\d|Không))")
_TIME = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*(Ngày làm việc|Ngày|Giờ|Tháng|Năm)?", re.IGNORECASE)
_UNITS: dict[str, tuple[str, float]] = {
    "ngày làm việc": ("working_days", 1),
    "ngày": ("days", 1),
    "giờ": ("hours", 1),
    "tháng": ("days", 30),
    "năm": ("days", 365),
}
_MONEY = re.compile(r"([\d.,]+)\s*(?:Việt Nam Đồng|VNĐ|VND|đồng|Đồng)", re.IGNORECASE)
_FEE_MARKER = re.compile(r"Miễn phí|Không có thông tin|\d[\d.,]*\s*(?:Việt Nam Đồng|VNĐ|VND|Đồng)", re.IGNORECASE)
_GROUPED = re.compile(r"^[1-9]\d{0,2}(?:,\d{3})*$|^[1-9]\d*$|^0$")
_QUANTITY = re.compile(r"(\d+)\s*bản chính(?:\s*,\s*(\d+)\s*bản sao)?|(\d+)\s*bản sao")
_FORM_FILE = re.compile(r"\.(?:docx?|pdf|xlsx?|rar|zip)$", re.IGNORECASE)
_SECTION = re.compile(r"\*\s*([^*:]{1,120}?)\s*:\s*(?=" + re.escape(DOCUMENT_HEADER) + ")")
_LEGAL_CODE = re.compile(r"\d+(?:\.\d+)?/\d{4}/[A-ZĐ0-9][A-ZĐ0-9\-]*")
_BULLET = re.compile(r"^(?:[-+*•]+|\(?[a-zđ0-9ivx]{1,4}[).]|Bước\s*\d+\s*[:.)-]?)\s*", re.IGNORECASE)
_NOT_BASE_SECTIONS = ("lưu ý",)
_NOTE_ROW = re.compile(r"^(?:Trường hợp|Nếu|Lưu ý|Ghi chú|Người tiếp nhận|Cơ quan)", re.IGNORECASE)
_NOT_A_DOCUMENT = re.compile(r"^(?:không quy định|không có|do .{0,40} quy định)\.?$", re.IGNORECASE)
_BASE_SECTIONS = ("giấy tờ phải nộp", "hồ sơ gồm", "thành phần hồ sơ")


class CatalogError(Exception):
    """The catalogue file cannot be read."""


@dataclass
class ImportReport:
    procedures: list[Procedure] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _clean(text: Any) -> str:
    value = re.sub(r"\s+", " ", str(text or "")).strip()
    return "" if value == NO_INFO else value


# --- channels -------------------------------------------------------------------------------


def _parse_amount(digits: str) -> int | None:
    digits = digits.strip(".,")
    if not digits:
        return None
    if "," in digits and "." in digits:
        return None
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", digits):
        return int(re.sub(r"[.,]", "", digits))
    if re.fullmatch(r"\d+", digits):
        return int(digits)
    return None


def _split_glued(digits: str) -> tuple[str, int] | None:
    """'120,000' (bare time glued to a fee) -> ('1', 20000): the roundest well-formed fee wins."""
    best: tuple[int, int, str, int] | None = None
    for cut in range(1, min(4, len(digits))):
        time_part, fee_part = digits[:cut], digits[cut:]
        if not time_part.isdigit() or not _GROUPED.match(fee_part):
            continue
        amount = int(fee_part.replace(",", ""))
        significant = len(str(amount).rstrip("0")) if amount else 0
        key = (significant, cut)
        if best is None or key < best[:2]:
            best = (significant, cut, time_part, amount)
    return (best[2], best[3]) if best else None


def _fee_from(text: str) -> tuple[Fee | None, str]:
    """Fee at the start of `text`; returns (fee or None, rest of the text)."""
    text = text.lstrip()
    if text.startswith("Miễn phí"):
        rest = text[len("Miễn phí"):]
        note, rest = _paren(rest)
        return Fee(free=True, note=note or None), rest
    if text.startswith(NO_INFO):
        return None, text[len(NO_INFO):]
    money = _MONEY.match(text)
    if money:
        amount = _parse_amount(money.group(1))
        rest = text[money.end():]
        note, rest = _paren(rest)
        if amount is None:
            return None, rest
        return Fee(free=amount == 0, amount_vnd=None if amount == 0 else amount, note=note or None), rest
    return None, text


def _paren(text: str) -> tuple[str, str]:
    """A leading '( ... )' (balanced) as a note, and what follows it."""
    if not text.startswith("("):
        return "", text
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            inner = text[1:i].strip()
            while inner.startswith("(") and inner.endswith(")"):
                inner = inner[1:-1].strip()
            return inner, text[i + 1:]
    return text[1:].strip(), ""


def parse_channels(raw: str) -> list[Channel]:
    """Channels of `cach_thuc_thuc_hien`, first cell of each kind (later ones are e.g. embassy variants)."""
    text = str(raw or "")
    if text.startswith(CHANNEL_HEADER):
        text = text[len(CHANNEL_HEADER):]
    starts = list(_CHANNEL_START.finditer(text))
    channels: dict[str, Channel] = {}
    for i, match in enumerate(starts):
        kind = CHANNEL_NAMES[match.group(1)]
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        cell = text[match.end():end]
        if kind in channels:
            continue
        channels[kind] = _parse_channel_cell(kind, cell)
    return list(channels.values())


def _parse_channel_cell(kind: str, cell: str) -> Channel:
    time: ProcessingTime | None = None
    fee: Fee | None = None
    rest = cell
    if rest.lstrip().startswith((NO_INFO, "Không quy định")):
        rest = re.sub(r"^\s*(?:Không có thông tin|Không quy định)", "", rest)
        fee, rest = _fee_from(rest)
        return Channel(kind=kind, processing_time=None, fee=fee)
    glued = re.match(r"\s*([\d][\d.,]*)\s*(?:Việt Nam Đồng|VNĐ|VND|Đồng)", rest, re.IGNORECASE)
    if glued:
        split = _split_glued(glued.group(1))
        if split:
            note, _ = _paren(rest[glued.end():])
            time = ProcessingTime(value=float(split[0]), unit="working_days")
            amount = split[1]
            fee = Fee(free=amount == 0, amount_vnd=None if amount == 0 else amount, note=note or None)
            return Channel(kind=kind, processing_time=time, fee=fee)
    m = _TIME.match(rest)
    if m:
        value = float(m.group(1).replace(",", "."))
        unit, factor = _UNITS[(m.group(2) or "ngày làm việc").lower()]
        note = None if factor == 1 else f"{m.group(1)} {m.group(2).lower()}"
        rest = rest[m.end():]
        if unit == "days" and factor == 1 and value.is_integer() and _says_working_days(rest, int(value)):
            unit, note = "working_days", "Bảng ghi 'Ngày'; phần mô tả ghi rõ ngày làm việc"
        time = ProcessingTime(value=value * factor, unit=unit, note=note)
    else:
        # The time cell holds words ("Không phải trả kết quả ..."): the fee cell starts at the first fee marker.
        marker = _FEE_MARKER.search(rest)
        if marker:
            rest = rest[marker.start():]
    fee, rest = _fee_from(rest)
    return Channel(kind=kind, processing_time=time, fee=fee)


def _says_working_days(description: str, value: int) -> bool:
    """The cell's description states the same number of *working* days ("tối đa 20 ngày làm việc")."""
    pattern = rf"(?<!\d)0*{value}\s*(?:\([^)]*\)\s*)?ngày làm việc"
    return re.search(pattern, description, re.IGNORECASE) is not None


# --- documents ------------------------------------------------------------------------------


def _split_form(text: str) -> tuple[str, str | None]:
    """'Đơn ... Mẫu số 08;Mus08.docx' -> ('Đơn ... Mẫu số 08', 'Mus08.docx').

    The form cell (a file name) is glued to the document name. Candidate cuts are
    after a separator (;.:)) or where a lower-case letter meets an upper-case one
    ("quy địnhMauon.docx"); the last cut leaving a plausible file name wins
    ("MauKX11 (1).docx", not ".docx"; "Mẫu-NA12,-Đơn-....-doc.doc", not "-doc.doc").
    """
    if not _FORM_FILE.search(text):
        return text, None
    stem_end = text.rfind(".")
    after_separator = [i + 1 for i, ch in enumerate(text[:stem_end]) if ch in ";.:)"]
    case_change = [i for i in range(1, stem_end) if text[i - 1].islower() and text[i].isupper()]
    for cuts in (after_separator, case_change[-1:]):
        for cut in sorted(cuts, reverse=True):
            form = text[cut:].strip()
            stem = form[: len(form) - (len(text) - stem_end)]
            if len(stem) < 2 or stem[0] in "-_.,(" or re.fullmatch(r"(?:19|20)\d\d", stem):
                continue
            name = text[:cut].strip().rstrip(";:").strip()
            if name:
                return name, form
    return text, None


def _doc_name(text: str) -> str:
    text = _clean(text)
    text = _BULLET.sub("", text)
    return text.rstrip(";,").strip()


def parse_documents(raw: str) -> list[Document]:
    """Documents of `thanh_phan_ho_so`; items with no copies required (notes) are dropped."""
    text = str(raw or "")
    if DOCUMENT_HEADER not in text:
        return []
    sections: list[tuple[str, str]] = []
    marks = list(_SECTION.finditer(text))
    if marks:
        for i, mark in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            sections.append((mark.group(1).strip(), text[mark.end():end]))
    else:
        sections.append(("", text))
    documents: list[Document] = []
    for title, body in sections:
        lowered = title.lower()
        if any(lowered.startswith(s) for s in _NOT_BASE_SECTIONS):
            continue
        body = body.split(DOCUMENT_HEADER, 1)[-1]
        presented = "xuất trình" in lowered
        conditional = title and not presented and not any(lowered.startswith(s) for s in _BASE_SECTIONS)
        start = 0
        for q in _QUANTITY.finditer(body):
            item, start = body[start:q.start()], q.end()
            originals = int(q.group(1) or 0)
            copies_n = int(q.group(2) or q.group(3) or 0)
            name, form = _split_form(_clean(item))
            name = _doc_name(name)
            if not name or _NOT_A_DOCUMENT.match(name):
                continue
            if originals == 0 and copies_n == 0 and _NOTE_ROW.match(name):
                continue  # "Trường hợp ... thì không phải nộp ...0 bản chính": a note, not a document
            parts = []
            if originals:
                parts.append(f"{originals} bản chính")
            if copies_n:
                parts.append(f"{copies_n} bản sao")
            copies = (", ".join(parts) + (" (xuất trình)" if presented else "")) if parts else None
            documents.append(
                Document(
                    id=f"giay_to_{len(documents) + 1}",
                    name=name,
                    copies=copies,
                    form=form,
                    when=title if conditional else None,
                )
            )
    return documents


# --- legal basis, steps, result -------------------------------------------------------------


_CELL = "\u241f"  # marks a cell boundary found before the main scan
_DOUBLED_CODE = re.compile(r"(\d+(?:\.\d+)?/\d{4}/[A-ZĐ0-9\-]+?)(?=\1)")
_YEAR_GLUED = re.compile(r"((?:19|20)\d{2})(\d{1,3}/\d{4}/)")


def _legal_codes(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, code) of each document-number cell: a code glued to the next title or at the end.

    A code inside a title ("Nghị định số 123/2015/NĐ-CP ngày ...") is followed by lower-case text and is
    skipped. The greedy match may swallow the next title's capital ("QH13Quy"), given back here.
    """
    for m in _LEGAL_CODE.finditer(text):
        code, end = m.group(0), m.end()
        while len(code) > 1 and code[-1].isupper() and end < len(text) and text[end].islower():
            code, end = code[:-1], end - 1
        after = text[end:].lstrip(" ")
        if not after or after[0] == _CELL or after[0].isupper():
            yield m.start(), end, code


def parse_legal_basis(raw: str) -> list[str]:
    """`Tên văn bản pháp lýMã văn bản` pairs -> ["<title> (<code>)", ...] (title alone when it has the code)."""
    text = str(raw or "")
    if text.startswith(LEGAL_HEADER):
        text = text[len(LEGAL_HEADER):]
    text = _clean(text)
    if not text:
        return []
    # "Nghị định 05/2012/NĐ-CP05/2012/NĐ-CP": a title ending with its own code, glued to the code cell.
    text = _DOUBLED_CODE.sub(lambda m: m.group(1) + _CELL, text)
    # "Luật Khiếu nại năm 201102/2011/QH13": a title ending with a year, glued to the code cell.
    text = _YEAR_GLUED.sub(lambda m: m.group(1) + _CELL + m.group(2), text)
    out: list[str] = []
    start = 0
    for begin, end, code in _legal_codes(text):
        title = text[start:begin].replace(_CELL, "").strip(" ,;")
        start = end
        if not title:
            if out and code not in out[-1]:
                out[-1] = f"{out[-1]} ({code})"
            continue
        out.append(title if code in title else f"{title} ({code})")
    tail = text[start:].replace(_CELL, "").strip(" ,;")
    if tail:
        out.append(tail)
    return list(dict.fromkeys(out))


def parse_steps(raw: str) -> list[str]:
    """Ordered steps from `trinh_tu_thuc_hien` (one per non-empty line, bullets removed)."""
    text = str(raw or "").strip()
    if not text or text == NO_INFO:
        return []
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line and line != NO_INFO]
    if len(lines) == 1:
        parts = re.split(r"(?=Bước\s*\d+)", lines[0])
        lines = [p.strip() for p in parts if p.strip()]
    return lines


def parse_result(raw: str) -> str:
    text = str(raw or "")
    names = [n for n in (_clean(part) for part in re.split(r"Mã:\s*KQ[\w.]*.*?Mô tả(?:Không có thông tin)?", text)) if n]
    names = [n for n in names if not n.startswith("Chọn cơ quan")]
    return "; ".join(dict.fromkeys(names)) if names else ""


def parse_levels(raw: str) -> list[str]:
    return [LEVELS[p.strip()] for p in str(raw or "").split(",") if p.strip() in LEVELS]


# --- records --------------------------------------------------------------------------------


def record_to_procedure(record: dict[str, Any], known_codes: set[str] | None = None) -> Procedure:
    """One portal record -> Procedure(origin="catalog"). Raises ValueError / ValidationError."""
    code = str(record.get("ma_thu_tuc", "")).strip()
    channels = parse_channels(record.get("cach_thuc_thuc_hien", ""))
    steps = parse_steps(record.get("trinh_tu_thuc_hien", ""))
    kinds = {c.kind for c in channels}
    related = re.findall(r"\d\.\d{6}", str(record.get("thu_tuc_lien_quan", "")))
    if known_codes is not None:
        related = [c for c in related if c in known_codes and c != code]
    return Procedure(
        code=code,
        name=_clean(record.get("ten_thu_tuc")),
        field=_clean(record.get("linh_vuc")) or None,
        level=parse_levels(record.get("cap_thuc_hien", "")),
        who=_clean(record.get("doi_tuong_thuc_hien")) or None,
        agency=_clean(record.get("co_quan_thuc_hien")) or _clean(record.get("co_quan_co_tham_quyen")) or None,
        channels=channels,
        documents=parse_documents(record.get("thanh_phan_ho_so", "")),
        steps_online=steps if "online" in kinds else [],
        steps_in_person=steps if kinds & {"in_person", "postal"} or not kinds else [],
        result=parse_result(record.get("ket_qua_xu_ly", "")) or None,
        legal_basis=parse_legal_basis(record.get("can_cu_phap_ly", "")),
        related=list(dict.fromkeys(related)),
        source=_clean(record.get("detail_url")) or None,
        receiving_address=_clean(record.get("dia_chi_tiep_nhan")) or None,
        requirements=_clean(record.get("yeu_cau_dieu_kien")) or None,
        decision=_clean(record.get("so_quyet_dinh")) or None,
        origin="catalog",
    )


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a `.jsonl` or `.jsonl.gz` file; a broken line is a CatalogError naming its line."""
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: catalogue file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    # About a fifth of the portal's text is in decomposed Unicode (NFD).
                    record = json.loads(unicodedata.normalize("NFC", line))
                except json.JSONDecodeError as exc:
                    raise CatalogError(f"{path}: line {number}: not valid JSON: {exc.msg}") from exc
                if not isinstance(record, dict):
                    raise CatalogError(f"{path}: line {number}: a record must be a JSON object")
                yield record
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read catalogue: {exc}") from exc


def _fee_note_warnings(proc: Procedure) -> list[str]:
    """A fee amount that no amount in its own note repeats ("40 Việt Nam Đồng (4.000 đ/giấy)"): worth a look."""
    warnings = []
    for channel in proc.channels:
        fee = channel.fee
        if fee is None or fee.amount_vnd is None or not fee.note:
            continue
        amounts = {_parse_amount(m) for m in re.findall(r"(\d[\d.,]*\d|\d)\s*(?:đồng|đ\b|vnđ|vnd)", fee.note, re.I)}
        amounts.discard(None)
        if amounts and fee.amount_vnd not in amounts:
            shown = ", ".join(f"{a:,}".replace(",", ".") for a in sorted(amounts))
            warnings.append(
                f"{proc.code}: channels[{channel.kind}].fee: amount {fee.text()} but its note says {shown} đồng"
            )
    return warnings


def _usable(proc: Procedure) -> tuple[bool, bool, bool, bool]:
    with_channels = bool(proc.channels)
    with_fees = any(c.processing_time is not None and c.fee is not None for c in proc.channels)
    return with_channels, with_fees, bool(proc.documents), bool(proc.steps_online or proc.steps_in_person)


def _import(path: Path, level: str | None) -> ImportReport:
    records = list(iter_records(path))
    known = {str(r.get("ma_thu_tuc", "")).strip() for r in records}
    out = ImportReport()
    counts = {"records": 0, "with_channels": 0, "with_fees": 0, "with_documents": 0, "with_steps": 0}
    failed: list[str] = []
    for record in records:
        code = str(record.get("ma_thu_tuc", "")).strip() or "?"
        if level and level not in parse_levels(record.get("cap_thuc_hien", "")):
            continue
        counts["records"] += 1
        try:
            proc = record_to_procedure(record, known)
        except (ValidationError, ValueError) as exc:
            failed.append(code)
            first = str(exc).splitlines()[0]
            out.warnings.append(f"{code}: cannot parse record: {first}")
            continue
        out.warnings.extend(_fee_note_warnings(proc))
        channels, fees, documents, steps = _usable(proc)
        counts["with_channels"] += channels
        counts["with_fees"] += fees
        counts["with_documents"] += documents
        counts["with_steps"] += steps
        if not (fees and documents):
            failed.append(code)
            missing = [n for n, ok in (("channel with time and fee", fees), ("document", documents)) if not ok]
            out.warnings.append(f"{code}: no {' and no '.join(missing)} parsed")
        out.procedures.append(proc)
    out.report = {**counts, "failed": failed}
    return out


def _import_derived(path: Path, level: str | None) -> ImportReport:
    """The shipped derived catalogue (already parsed records): read back, not re-parsed."""
    from bot.knowledge.catalog_file import DerivedCatalogError, load_derived

    try:
        _, procedures = load_derived(path)
    except DerivedCatalogError as exc:
        raise CatalogError(str(exc)) from exc
    if level:
        procedures = [p for p in procedures if level in p.level]
    out = ImportReport(procedures=procedures)
    counts = {"records": len(procedures), "with_channels": 0, "with_fees": 0, "with_documents": 0, "with_steps": 0}
    failed = []
    for proc in procedures:
        channels, fees, documents, steps = _usable(proc)
        counts["with_channels"] += channels
        counts["with_fees"] += fees
        counts["with_documents"] += documents
        counts["with_steps"] += steps
        if not (fees and documents):
            failed.append(proc.code)
    out.report = {**counts, "failed": failed}
    return out


@lru_cache(maxsize=4)
def _cached_import(path: str, mtime_ns: int, size: int, level: str | None) -> ImportReport:
    from bot.knowledge.catalog_file import is_derived

    if is_derived(Path(path)):
        return _import_derived(Path(path), level)
    return _import(Path(path), level)


def import_catalog(path: Path | str, level: str | None = None) -> ImportReport:
    """Import every record (or those of one level); cached per file version within the process.

    `path` is the raw portal crawl or the derived file shipped in knowledge/catalog/ (bot.knowledge.catalog_file).

    `report` = {"records", "with_channels", "with_fees", "with_documents", "with_steps", "failed": [codes]};
    a record lands in `failed` when it cannot be parsed or yields no channel with time and fee or no document
    (it is still served when it parsed).
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise CatalogError(f"{path}: catalogue file not found") from exc
    return _cached_import(str(path.resolve()), stat.st_mtime_ns, stat.st_size, level)


def catalog_codes(path: Path | str) -> set[str]:
    """Every code in the catalogue (for checking `related` / `redirect` against it)."""
    from bot.knowledge.catalog_file import is_derived

    if is_derived(Path(path)):
        return {p.code for p in import_catalog(path).procedures}
    return {str(r.get("ma_thu_tuc", "")).strip() for r in iter_records(Path(path))}


def find_record(path: Path | str, code: str) -> dict[str, Any] | None:
    return next((r for r in iter_records(Path(path)) if str(r.get("ma_thu_tuc", "")).strip() == code), None)


def write_yaml(proc: Procedure, path: Path, header: str | None = None) -> None:
    """Write a procedure as YAML (keys in schema order, Unicode kept readable)."""
    import yaml

    text = yaml.safe_dump(proc.to_yaml_dict(), allow_unicode=True, sort_keys=False, width=120)
    prefix = "".join(f"# {line}\n" for line in (header or "").splitlines())
    path.write_text(prefix + text, encoding="utf-8")
