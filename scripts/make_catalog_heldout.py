"""Writes tests/data/catalog_heldout_queries.jsonl: the held-out set for catalogue-only procedures (issue 11).

Written once, before any tuning on it, and never tuned on:
- portal-FAQ style ("faq"): a seeded random sample of catalogue-only procedures (not curated), the official
  title wrapped in the question forms of the national portal's FAQ; a third of them typed without diacritics;
  every code with the same title counts as right;
- citizens' own words ("colloquial"): hand-written in tests/data/catalog_heldout_citizen.txt (query|codes);
- out of scope: questions no procedure answers.
Run: .venv/bin/python scripts/make_catalog_heldout.py
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import load_knowledge_base  # noqa: E402
from bot.knowledge.catalog_file import load_derived  # noqa: E402
from bot.retrieval.normalize import fold  # noqa: E402

SEED = 2026
FAQ_COUNT = 100
TEMPLATES = [
    "Hồ sơ {t} gồm những gì?",
    "Trình tự thực hiện {t} như thế nào?",
    "Căn cứ pháp lý của thủ tục {t} là gì?",
    "Cơ quan có thẩm quyền giải quyết {t} là cơ quan nào?",
    "Thời hạn giải quyết thủ tục {t} là bao lâu?",
    "Lệ phí thủ tục {t} là bao nhiêu?",
    "Thành phần hồ sơ {t} cần những giấy tờ gì?",
    "Thủ tục {t} được thực hiện qua những cách thức nào?",
    "Yêu cầu, điều kiện để thực hiện {t} là gì?",
    "Kết quả thực hiện thủ tục {t} là gì?",
]
OUT_OF_SCOPE = [
    "thời tiết hà nội ngày mai thế nào",
    "cách nấu phở bò ngon",
    "giá vàng hôm nay bao nhiêu",
    "tỷ số trận đấu tối qua",
    "mua vé máy bay đi Đà Nẵng ở đâu rẻ",
    "cach chua dau dau nhanh",
    "hoc tieng anh online mien phi o dau",
    "bài hát mới nhất của Sơn Tùng",
    "đặt pizza giao tận nhà",
    "cach cai win 10 cho laptop",
    "phim hay chiếu rạp tuần này",
    "cong thuc lam banh flan",
    "số điện thoại taxi gần đây",
    "quán cà phê nào đẹp ở quận 1",
    "lich thi dau bong da hom nay",
]


def _title(name: str) -> str:
    name = name.strip().rstrip(".")
    name = re.sub(r"^Thủ tục\s+", "", name)
    return name[:1].lower() + name[1:]


def main() -> None:
    kb = load_knowledge_base()
    _, catalogue = load_derived(ROOT / "knowledge" / "catalog" / "tthc-national-2026.procedures.jsonl.gz")
    by_title: dict[str, list[str]] = {}
    for proc in catalogue:
        by_title.setdefault(fold(_title(proc.name)), []).append(proc.code)
    pool = sorted((p for p in catalogue if p.code not in kb.curated_codes), key=lambda p: p.code)
    rnd = random.Random(SEED)
    commune = [p for p in pool if "xa" in p.level]
    others = [p for p in pool if "xa" not in p.level]
    chosen = rnd.sample(commune, FAQ_COUNT // 2) + rnd.sample(others, FAQ_COUNT // 2)
    lines = []
    for n, proc in enumerate(chosen):
        query = rnd.choice(TEMPLATES).format(t=_title(proc.name))
        tags = ["faq"]
        if n % 3 == 2:
            query, tags = fold(query), ["faq", "no_diacritics"]
        codes = sorted(set(by_title[fold(_title(proc.name))]) - kb.curated_codes)
        lines.append({"query": query, "codes": codes, "tags": tags})
    for raw in (ROOT / "tests" / "data" / "catalog_heldout_citizen.txt").read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        query, codes = raw.split("|")
        tags = ["colloquial"] + (["no_diacritics"] if fold(query) == query.lower() else [])
        lines.append({"query": query, "codes": codes.split(","), "tags": tags})
    for query in OUT_OF_SCOPE:
        lines.append({"query": query, "codes": [], "tags": ["out_of_scope"]})
    out = ROOT / "tests" / "data" / "catalog_heldout_queries.jsonl"
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    print(f"{out}: {len(lines)} lines")


if __name__ == "__main__":
    main()
