"""Channel words in a citizen's own message: "làm khai sinh online", "nộp trực tiếp", "gửi qua bưu điện".

A channel named in the first request is kept, so the walk does not ask for it again. Matching is
on folded text (`bot.retrieval.normalize.fold`: no diacritics, lower case), whole words only.
The phrases are narrow on purpose: a false match would skip the channel question, so words that
also name procedures ("VNeID" alone: the VNeID account procedure) are left out.
"""

from __future__ import annotations

from bot.retrieval.normalize import fold

# Folded phrases → channel kind.
CHANNEL_PHRASES: dict[str, str] = {
    "online": "online",
    "truc tuyen": "online",
    "qua mang": "online",
    "tren mang": "online",
    "tren vneid": "online",
    "qua vneid": "online",
    "cong dich vu cong": "online",
    "truc tiep": "in_person",
    "tai quay": "in_person",
    "mot cua": "in_person",
    "len phuong": "in_person",
    "ra phuong": "in_person",
    "nop tai phuong": "in_person",
    "len uy ban": "in_person",
    "ra uy ban": "in_person",
    "den uy ban": "in_person",
    "tan noi": "in_person",
    "buu dien": "postal",
    "buu chinh": "postal",
    "vnpost": "postal",
    "chuyen phat": "postal",
}


# Words that only connect a channel phrase to the sentence ("gửi QUA bưu điện", "nộp THEO hình thức
# trực tuyến"): dropped when right before a channel phrase. Verbs of submitting are dropped anywhere
# once a channel is named: left in, they make "nộp đăng ký tạm trú" look unlike "đăng ký tạm trú".
_LEAD_WORDS = frozenset("qua bang theo tren duong hinh thuc tai o".split())
_SUBMIT_VERBS = frozenset("gui nop lam".split())
_PHRASES = [(tuple(phrase.split()), kind) for phrase, kind in CHANNEL_PHRASES.items()]


def _matches(words: list[str]) -> list[tuple[int, int, str]]:
    """(first word, end word, kind) of every channel phrase found as whole words, in text order."""
    found = []
    for start in range(len(words)):
        for phrase, kind in _PHRASES:
            if tuple(words[start:start + len(phrase)]) == phrase:
                found.append((start, start + len(phrase), kind))
    return sorted(found)


def channel_in(text: str) -> str | None:
    """The channel kind the text names first, or None (button payloads "/..." name none)."""
    if not text or text.startswith("/"):
        return None
    found = _matches(fold(text).split())
    return found[0][2] if found else None


def without_channel_words(text: str) -> str:
    """The folded text without its channel phrases (and their connecting words): what is left to
    search a procedure with. Text without a channel phrase is only folded."""
    words = fold(text or "").split()
    found = _matches(words)
    if not found:
        return " ".join(words)
    dropped: set[int] = set()
    for start, end, _ in found:
        dropped.update(range(start, end))
        while start > 0 and words[start - 1] in _LEAD_WORDS:
            start -= 1
            dropped.add(start)
    return " ".join(w for i, w in enumerate(words) if i not in dropped and w not in _SUBMIT_VERBS)
