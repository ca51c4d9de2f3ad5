"""Typed answers: what a citizen's own words mean at the prompt the walk is showing.

Buttons are limited on Zalo, absent on a kiosk keyboard, and people type anyway: "có", "chưa",
"cái thứ hai", "không có giấy chứng sinh", "bước 3", "quay lại". This module reads such text on
folded words (`fold`: no diacritics, lower case) with common abbreviations expanded, and says
which choice it names, or None. It never guesses between two choices: a tie is None, and the
walk then shows the choices again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.retrieval.normalize import fold

# Chat abbreviations and typos (folded) → folded words.
_ABBREVIATIONS: dict[str, str] = {
    "ko": "khong", "k": "khong", "kh": "khong", "khg": "khong", "kg": "khong", "hong": "khong", "hok": "khong",
    "hem": "khong", "khog": "khong", "kong": "khong", "khon": "khong", "chu": "chua",
    "dc": "duoc", "dk": "dang ki", "dki": "dang ki", "dky": "dang ki", "r": "roi", "rui": "roi",
    "uh": "u", "um": "u", "uhm": "u", "uk": "u", "ok": "ok", "oke": "ok", "okay": "ok", "oki": "ok",
    "vg": "vang", "yes": "co", "no": "khong", "gcs": "giay chung sinh", "gks": "giay khai sinh",
    "bme": "bo me", "bm": "bo me", "ck": "chong", "vk": "vo", "cccd": "can cuoc", "ttin": "thong tin",
    "bc": "buoc", "ntn": "nhu the nao", "ct": "chung tu", "e": "em",
}
# Words that only soften a short answer ("có ạ", "dạ không nhé", "vâng em").
_PARTICLES = frozenset("a ah ak nhe nha nhen oi em anh chi minh toi day ha nhi nho lun luon thi".split())
_YES = frozenset("co vang da u ok dong duoc dung phai chac tiep chuan yep".split())
_NO = frozenset("khong chua thoi".split())
# Words that introduce a choice by its position ("cái thứ hai", "số 2", "phương án 1").
_POSITION_WORDS = frozenset("cai thu so cau phuong an dap lua chon y tra loi muc truong hop lam".split())
_ORDINALS = {"nhat": 1, "mot": 1, "hai": 2, "nhi": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "sau": 6}
# Words a label shares with many texts: ignored when looking for a label inside a longer message.
_COMMON = frozenset(
    "co khong da chua roi la cua va hoac cho toi be chau con minh nay do o thi duoc can lam muon voi "
    "cac nhung mot khac nhu".split()
)
# Words of a negative answer (not "thôi", which stops rather than answers), and of not knowing.
_NO_ANSWER = frozenset({"khong", "chua"})
_UNSURE = frozenset("biet ro chac nho hieu".split())
# Hedges before an answer ("chắc là chưa", "hình như có", "có lẽ không").
_HEDGES = (("co", "le"), ("chac", "la"), ("hinh", "nhu"), ("chac",), ("de",), ("chac", "chan"))
_PARENTHESES = re.compile(r"\([^)]*\)")


def words(text: str) -> list[str]:
    """Folded words with abbreviations expanded: "ko co gcs" → khong co giay chung sinh."""
    out: list[str] = []
    for word in fold(text or "").split():
        out.extend(_ABBREVIATIONS.get(word, word).split())
    return out


def _core(text: str) -> list[str]:
    return [w for w in words(text) if w not in _PARTICLES]


def is_payload(text: str) -> bool:
    return (text or "").lstrip().startswith("/")


def yes_no(text: str) -> bool | None:
    """True / False for a short yes or no ("có ạ", "dạ vâng", "ko", "chưa", "thôi khỏi"), else None."""
    if is_payload(text):
        return None
    core = _core(text)
    if not core or len(core) > 4:
        return None
    if core[0] == "da" and len(core) > 1:  # "dạ không", "dạ có": the first "dạ" is politeness
        core = core[1:]
    if core[0] in _NO or core[0] == "khoi":
        return False if len(core) <= 4 else None
    if core[0] in _YES and not any(w in _NO for w in core[1:]) and len(core) <= 5:
        return True  # "có, rất hữu ích"; but "có mất phí không" is a question, not a yes
    return None


def ordinal(text: str, count: int) -> int | None:
    """The 1-based position the text names ("2", "số 2", "cái thứ hai", "cái đầu", "cái cuối"), else None."""
    if is_payload(text) or count < 1:
        return None
    core = _core(text)
    if not core or len(core) > 5:
        return None
    introduced = core[0] in _POSITION_WORDS
    rest = [w for w in core if w not in _POSITION_WORDS]
    number: int | None = None
    if rest == ["dau", "tien"] or (introduced and rest == ["dau"]):
        number = 1
    elif rest in (["cuoi"], ["cuoi", "cung"]) and introduced or rest == ["cuoi", "cung"]:
        number = count
    elif len(rest) == 1 and rest[0].isdigit():
        number = int(rest[0])
    elif len(rest) == 1 and introduced and rest[0] in _ORDINALS:
        number = _ORDINALS[rest[0]]
    elif not rest and core[-1] == "nhat" and introduced:  # "cái thứ nhất": "nhat" is a position word here
        number = 1
    return number if number is not None and 1 <= number <= count else None


def unsure(text: str) -> bool:
    """"không biết", "chưa rõ", "ko nhớ": the citizen does not know the answer."""
    core = _core(text)
    return any(a in _NO_ANSWER and b in _UNSURE for a, b in zip(core, core[1:]))


def _lead(core: list[str]) -> bool | None:
    """Yes (True) / no (False) said by the first word after hedges and a polite "dạ", else None."""
    words_ = list(core)
    for hedge in _HEDGES:
        if tuple(words_[:len(hedge)]) == hedge and len(words_) > len(hedge):
            words_ = words_[len(hedge):]
            break
    if len(words_) > 1 and words_[0] == "da" and words_[1] in _YES | _NO_ANSWER:
        words_ = words_[1:]
    if not words_ or (len(words_) > 1 and words_[1] in _UNSURE):
        return None
    if words_[0] in _NO_ANSWER:
        return False
    if words_[0] in ("co", "da", "dung", "phai", "roi", "vang", "u", "ok", "con"):
        return True
    return None


def _label_words(label: str) -> list[str]:
    return words(_PARENTHESES.sub(" ", label))


def _negative(label_words: list[str]) -> bool:
    return bool(label_words) and label_words[0] in _NO


def _yes_label(label_words: list[str]) -> bool:
    return bool(label_words) and label_words[0] in ("co", "da", "dung", "phai", "con")


def _unique(numbers: list[int]) -> int | None:
    return numbers[0] if len(numbers) == 1 else None


def _negated(text_words: list[str]) -> bool:
    return any(w in _NO_ANSWER for w in text_words)


def match_answer(text: str, labels: list[str], question: str = "") -> int | None:
    """The answer (1-based) a typed reply to a case question names, or None (nothing fits, or a tie).

    In this order: a position ("2", "cái thứ hai"); a bare yes/no ("có", "rồi", "chưa", "không")
    mapped onto the only label starting with such a word; the label's own words, folded or partial
    ("có giấy chứng sinh"); a negation of a label ("không có giấy chứng sinh") → the only negative one.
    """
    if is_payload(text) or not labels:
        return None
    position = ordinal(text, len(labels))
    if position is not None:
        return position
    split = [_label_words(label) for label in labels]
    core = _core(text)
    lead = _lead(core)
    by_lead = None
    if lead is not None:
        by_lead = _unique([n for n, lw in enumerate(split, 1) if (_yes_label(lw) if lead else _negative(lw))])
        if by_lead is None and lead and len(core) <= 2 and core[-1] in ("co", "roi", "da"):
            by_lead = _unique([n for n, lw in enumerate(split, 1) if not _negative(lw)])
    full = [words(label) for label in labels]
    if by_lead is not None:
        # "có sát vách" to "... có sát vách công trình liền kề không?": the rest of the message is about this
        # question; "có giấy chứng sinh" typed at another question is not a yes to it
        rest = [w for w in core[1:] if w not in _COMMON and w not in _UNSURE]
        topic = set(words(question)).union(*map(set, full))
        if 2 * sum(w in topic for w in rest) >= len(rest):
            by_words = _by_words(words(text), split, full)
            return by_words if by_words is not None and lead is False and _negative(split[by_words - 1]) else by_lead
        by_lead = None
    return _by_words(words(text), split, full) or _by_overlap(words(text), full)


def _by_overlap(text_words: list[str], full: list[list[str]]) -> int | None:
    """Last resort for labels made of common words ("Cho chính tôi", "Đất của tôi"): the label holding
    most of the typed words, if clearly ahead of the others."""
    typed = ["toi" if w == "minh" else w for w in text_words if w not in _PARTICLES or w in ("toi", "minh")]
    if not typed:
        return None
    scores = sorted(((sum(w in set(label) for w in typed) / len(typed), n) for n, label in enumerate(full, 1)), reverse=True)
    best, number = scores[0]
    if best < 0.6 or (len(scores) > 1 and scores[1][0] >= best):
        return None
    return number


def _by_words(text_words: list[str], split: list[list[str]], full: list[list[str]]) -> int | None:
    """Label whose distinctive words (its note in brackets included: "sinh ở nhà") the text holds best;
    a negated text takes the only negative label."""
    if not text_words:
        return None
    present = set(text_words)
    content = [w for w in text_words if w not in _COMMON]
    scores: list[tuple[float, int, int]] = []
    for number, label_words in enumerate(full, start=1):
        key = [w for w in label_words if w not in _COMMON]
        found = sum(1 for w in key if w in present)
        scores.append((found / min(len(key), max(1, len(content))) if found else 0.0, found, number))
    scores.sort(reverse=True)
    best, count, number = scores[0]
    if best < 0.5 or (len(scores) > 1 and scores[1][:2] == (best, count)):
        return None
    label_words = split[number - 1]
    own = set(full[number - 1])  # "... sổ gốc cũng không còn": a "không" of the label itself negates nothing
    if _negated([w for w in text_words if w not in own]) and not _negative(label_words):
        return _unique([n for n, lw in enumerate(split, 1) if _negative(lw)])
    if not _negated(text_words) and _negative(label_words) and not (set(full[number - 1]) - _COMMON) & present:
        return None
    return number


def found_in(text: str, labels: list[str], ignore: set[str] | frozenset[str] = frozenset()) -> int | None:
    """An answer stated inside a longer message ("..., bố mẹ đã đăng ký kết hôn"), or None.

    Stricter than `match_answer`: the label's distinctive words (at least two) all appear, close
    together and in order; a negation just before them takes the only negative label instead.
    `ignore`: words that do not tell answers apart (the procedure's own name: "đăng ký", "khai sinh").
    """
    text_words = words(text)
    for number, label in enumerate(labels, start=1):
        label_words = _label_words(label)
        key = [w for w in label_words if w not in _COMMON and w not in ignore]
        if len(key) < 2:
            continue
        start = _in_order(text_words, key)
        if start is None:
            continue
        before = text_words[max(0, start - 3):start]
        if any(w in _NO for w in before) and not _negative(label_words):
            split = [_label_words(other) for other in labels]
            return _unique([n for n, lw in enumerate(split, 1) if _negative(lw)])
        if _negative(label_words) and label_words[0] not in before and label_words[0] not in text_words[start:start + len(key) + 3]:
            continue
        return number
    return None


def _in_order(text_words: list[str], key: list[str]) -> int | None:
    """Index where `key` words start in `text_words`, in order with at most 2 other words between them."""
    for start, word in enumerate(text_words):
        if word != key[0]:
            continue
        position, ok = start, True
        for wanted in key[1:]:
            window = text_words[position + 1:position + 4]
            if wanted not in window:
                ok = False
                break
            position = position + 1 + window.index(wanted)
        if ok:
            return start
    return None


@dataclass(frozen=True)
class Command:
    """A walk command typed in words: intent name and, for go_to_step, the step number."""

    intent: str
    number: int | None = None


_STEP_RE = re.compile(r"^(?:xem |toi |sang |qua |den |cho xem |chuyen sang )?buoc (?:so )?(\d{1,2})$")
_COMMANDS: dict[str, str] = {
    "quay lai": "previous_step", "lui lai": "previous_step", "tro lai": "previous_step", "buoc truoc": "previous_step",
    "quay lai buoc truoc": "previous_step", "back": "previous_step",
    "tiep": "next_step", "tiep theo": "next_step", "buoc tiep": "next_step", "buoc tiep theo": "next_step",
    "tiep di": "next_step", "next": "next_step", "buoc sau": "next_step", "tiep tuc": "next_step",
    "xem lai giay to": "ask_documents", "xem giay to": "ask_documents", "giay to": "ask_documents",
    "danh sach giay to": "ask_documents", "xem lai danh sach giay to": "ask_documents", "xem lai ho so": "ask_documents",
    "lam lai tu dau": "start_over", "bat dau lai": "start_over", "lam lai": "start_over", "tu dau": "start_over",
    "bat dau lai tu dau": "start_over", "lam lai tu dau di": "start_over",
    "ket thuc": "end_walk", "xong": "end_walk", "dung lai": "end_walk", "xong roi": "end_walk",
    "nhac lai": "repeat", "noi lai": "repeat", "hoi lai": "repeat",
}


def command(text: str) -> Command | None:
    """"bước 3", "quay lại", "xem lại giấy tờ", "làm lại từ đầu", "tiếp", "kết thúc" typed as a whole message."""
    if is_payload(text):
        return None
    core = " ".join(_core(text))
    step = _STEP_RE.match(core)
    if step:
        return Command("go_to_step", int(step.group(1)))
    intent = _COMMANDS.get(core)
    return Command(intent) if intent else None


# Folded phrases that make a message a question ("... thì nộp hồ sơ ở đâu"), not an answer to the one shown.
_QUESTION_PHRASES = ("o dau", "bao nhieu", "bao lau", "the nao", "nhu nao", "may ngay", "cho nao", "lam sao", "ra sao")


def is_question(text: str) -> bool:
    """Whether the citizen asks something ("nhà tôi ở phường X cũ thì nộp ở đâu?") rather than answers."""
    if "?" in (text or ""):
        return True
    folded = " " + " ".join(words(text)) + " "
    return any(f" {phrase} " in folded for phrase in _QUESTION_PHRASES)


def answer_shaped(text: str) -> bool:
    """A short reply that reads as an answer to the question shown, not a new request:
    a yes/no word first, a position, or at most three words."""
    if is_payload(text):
        return False
    core = _core(text)
    if not core:
        return False
    if len(core) <= 6 and (core[0] in _YES or core[0] in _NO or core[0] in ("khoi", "chac", "hinh", "de", "hmm")):
        return True
    return len(core) <= 3 or ordinal(text, 9) is not None
