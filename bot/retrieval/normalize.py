"""Vietnamese text normalization for procedure search.

Citizens type with or without diacritics, with abbreviations ("đk", "cccd"),
regional misspellings ("tạm chú") and describe situations instead of naming
procedures ("bố tôi mất rồi"). Queries and indexed texts go through the same
pipeline so that they meet on the same syllables:

1. Unicode NFC, lower case, punctuation → spaces;
2. diacritic folding ("đăng ký" → "dang ky") and the i/y spelling variant ("kí" = "ký");
3. lexicon `replace` (longest phrase first) and, for queries, `expand` (appended terms);
4. stopword removal;
5. syllable unigrams + bigrams (bigrams never cross a replaced/expanded segment boundary).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_UNDERSCORE = re.compile(r"_+")
# Syllables where "y" is only a spelling variant of "i" (ký/kí, lý/lí, mỹ/mĩ); "quy", "uy" are not.
_Y_AS_I = re.compile(r"^([bcdghklmnpstvx]|th|ph|nh|ng|ch|tr)y$")
BIGRAM_JOINER = "_"


class LexiconError(ValueError):
    """The lexicon file is missing or malformed."""


def fold(text: str) -> str:
    """Lower case, NFC, diacritics removed, đ → d, punctuation → single spaces."""
    text = unicodedata.normalize("NFC", text).lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    words = _UNDERSCORE.sub(" ", _NON_WORD.sub(" ", stripped)).split()
    return " ".join(_Y_AS_I.sub(lambda m: m.group(1) + "i", w) for w in words)


def syllables(text: str) -> list[str]:
    """Folded syllables of `text`."""
    return fold(text).split()


Phrase = tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    """Folded phrase tables read from `knowledge/lexicon.yml`."""

    replace: dict[Phrase, Phrase] = field(default_factory=dict)
    expand: dict[Phrase, Phrase] = field(default_factory=dict)
    stopwords: frozenset[Phrase] = frozenset()
    out_of_scope: frozenset[Phrase] = frozenset()
    qualifiers: frozenset[Phrase] = frozenset()
    levels: dict[Phrase, str] = field(default_factory=dict)
    # qualifiers that count anywhere in a procedure's core name, not only in its head
    # ("... đối với TỔ CHỨC đang sử dụng đất", "... mà KHÔNG XÁC ĐỊNH ĐƯỢC NƠI THƯỜNG TRÚ")
    tail_qualifiers: frozenset[Phrase] = frozenset()
    # qualifiers that, named by the citizen, a procedure must share ("GIA HẠN tạm trú")
    asked_qualifiers: frozenset[Phrase] = frozenset()
    # situation phrase → phrases the matching procedure's name does NOT start with
    # ("đã có giấy khai sinh" → not a "khai sinh ..." procedure)
    excludes: dict[Phrase, tuple[Phrase, ...]] = field(default_factory=dict)
    # phrases that together, anywhere in a question, describe a situation ("căn cước" + "hết hạn")
    combos: tuple[tuple[tuple[Phrase, ...], Phrase], ...] = ()
    digest: str = ""

    @property
    def max_phrase(self) -> int:
        keys: Iterable[Phrase] = [
            *self.replace, *self.expand, *self.stopwords, *self.out_of_scope, *self.qualifiers, *self.levels,
            *self.excludes, *self.tail_qualifiers, *self.asked_qualifiers,
        ]
        return max((len(k) for k in keys), default=1)


def _phrase_map(raw: object, section: str, source: str) -> dict[Phrase, Phrase]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise LexiconError(f"{source}: {section}: must be a mapping of phrase: phrase")
    result: dict[Phrase, Phrase] = {}
    for key, value in raw.items():
        if not isinstance(value, str) or not str(key).strip() or not value.strip():
            raise LexiconError(f"{source}: {section}: {key!r}: key and value must be non-empty text")
        folded_key, folded_value = tuple(syllables(str(key))), tuple(syllables(value))
        if not folded_key:
            continue
        if section == "replace" and _contains(folded_value, folded_key):
            # replacement runs twice (abbreviation, then the phrase it completes): a value that
            # contains its own key would grow ("cải chính" → "cải chính hộ tịch hộ tịch")
            raise LexiconError(f"{source}: {section}: {key!r}: the replacement contains the phrase itself; use expand")
        result[folded_key] = folded_value
    return result


def _contains(haystack: Phrase, needle: Phrase) -> bool:
    size = len(needle)
    return any(haystack[i : i + size] == needle for i in range(len(haystack) - size + 1))


def _phrase_set(raw: object, section: str, source: str) -> frozenset[Phrase]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise LexiconError(f"{source}: {section}: must be a list of phrases")
    return frozenset(tuple(syllables(str(item))) for item in raw if str(item).strip())


LEVELS = ("xa", "tinh", "bo")


def _level_phrases(raw: object, source: str) -> dict[Phrase, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not set(raw) <= set(LEVELS):
        raise LexiconError(f"{source}: levels: must map xa / tinh / bo to lists of phrases")
    result: dict[Phrase, str] = {}
    for level, phrases in raw.items():
        for phrase in _phrase_set(phrases, f"levels.{level}", source):
            result[phrase] = level
    return result


def _excludes(raw: object, source: str) -> dict[Phrase, tuple[Phrase, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise LexiconError(f"{source}: excludes: must map a phrase to a list of phrases")
    result: dict[Phrase, tuple[Phrase, ...]] = {}
    for key, values in raw.items():
        folded = tuple(syllables(str(key)))
        if not folded:
            raise LexiconError(f"{source}: excludes: empty phrase")
        result[folded] = tuple(sorted(_phrase_set(values, f"excludes.{key}", source)))
        if not result[folded]:
            raise LexiconError(f"{source}: excludes: {key!r}: needs at least one phrase")
    return result


def _combos(raw: object, source: str) -> tuple[tuple[tuple[Phrase, ...], Phrase], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise LexiconError(f"{source}: combos: must map 'part + part' to the terms to add")
    result = []
    for key, value in raw.items():
        parts = tuple(tuple(syllables(part)) for part in str(key).split("+"))
        if len(parts) < 2 or not all(parts):
            raise LexiconError(f"{source}: combos: {key!r}: needs two or more parts joined by '+'")
        folded = tuple(syllables(str(value or "")))
        if not folded:
            raise LexiconError(f"{source}: combos: {key!r}: empty expansion")
        result.append((parts, folded))
    return tuple(result)


def _has(words: list[str], phrase: Phrase) -> bool:
    size = len(phrase)
    return any(tuple(words[i : i + size]) == phrase for i in range(len(words) - size + 1))


def load_lexicon(path: Path) -> Lexicon:
    """Read and fold the lexicon file; raises LexiconError with the file name on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read lexicon: {exc}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise LexiconError(f"{path}: YAML error: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: must be a mapping at top level")
    sections = {
        "replace", "expand", "stopwords", "out_of_scope", "qualifiers", "levels",
        "tail_qualifiers", "asked_qualifiers", "excludes", "combos",
    }
    unknown = set(data) - sections
    if unknown:
        raise LexiconError(f"{path}: unknown sections: {sorted(unknown)}")
    source = str(path)
    return Lexicon(
        replace=_phrase_map(data.get("replace"), "replace", source),
        expand=_phrase_map(data.get("expand"), "expand", source),
        stopwords=_phrase_set(data.get("stopwords"), "stopwords", source),
        out_of_scope=_phrase_set(data.get("out_of_scope"), "out_of_scope", source),
        qualifiers=_phrase_set(data.get("qualifiers"), "qualifiers", source),
        levels=_level_phrases(data.get("levels"), source),
        tail_qualifiers=_phrase_set(data.get("tail_qualifiers"), "tail_qualifiers", source),
        asked_qualifiers=_phrase_set(data.get("asked_qualifiers"), "asked_qualifiers", source),
        excludes=_excludes(data.get("excludes"), source),
        combos=_combos(data.get("combos"), source),
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
    )


@dataclass(frozen=True)
class Analysis:
    """A normalized text: segments of folded syllables and what the lexicon noticed.

    `segments[0]` holds the text's own words; further segments are lexicon expansions.
    """

    segments: list[list[str]]
    out_of_scope: list[str]

    @property
    def words(self) -> list[str]:
        return [w for seg in self.segments for w in seg]

    def terms(self) -> list[str]:
        """Syllable unigrams and in-segment bigrams (joined with "_"), in order, duplicates kept."""
        result: list[str] = []
        for seg in self.segments:
            result.extend(seg)
            result.extend(a + BIGRAM_JOINER + b for a, b in zip(seg, seg[1:]))
        return result


def _longest_match(words: list[str], start: int, table: dict[Phrase, Phrase] | frozenset[Phrase], longest: int) -> int:
    """Length of the longest phrase of `table` starting at `start` (0 if none)."""
    for size in range(min(longest, len(words) - start), 0, -1):
        if tuple(words[start : start + size]) in table:
            return size
    return 0


class Normalizer:
    """Applies one lexicon; `analyze(text, query=True)` for queries, `query=False` for indexed texts."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon()
        self._longest = self.lexicon.max_phrase
        # qualifiers are compared with analyzed texts: bring them to the same form (replaced, no
        # stopwords), so "đối với tổ chức" meets a name analyzed as "đối tổ chức"
        self._qualifiers = frozenset(filter(None, (self._as_analyzed(p) for p in self.lexicon.qualifiers)))
        self._tail = frozenset(filter(None, (self._as_analyzed(p) for p in self.lexicon.tail_qualifiers)))
        self._asked = frozenset(" ".join(p) for p in (self._as_analyzed(q) for q in self.lexicon.asked_qualifiers) if p)

    def _as_analyzed(self, phrase: Phrase) -> Phrase:
        return tuple(self._drop_stopwords(self._replace(self._replace(list(phrase)))))

    def _replace(self, words: list[str]) -> list[str]:
        table, out, i = self.lexicon.replace, [], 0
        while i < len(words):
            size = _longest_match(words, i, table, self._longest)
            if size:
                out.extend(table[tuple(words[i : i + size])])
                i += size
            else:
                out.append(words[i])
                i += 1
        return out

    def _scan(self, words: list[str], table: dict[Phrase, Phrase] | frozenset[Phrase]) -> list[Phrase]:
        found, i = [], 0
        while i < len(words):
            size = _longest_match(words, i, table, self._longest)
            if size:
                found.append(tuple(words[i : i + size]))
                i += size
            else:
                i += 1
        return found

    def _drop_stopwords(self, words: list[str]) -> list[str]:
        out, i = [], 0
        while i < len(words):
            size = _longest_match(words, i, self.lexicon.stopwords, self._longest)
            if size:
                i += size
            else:
                out.append(words[i])
                i += 1
        return out

    def analyze(self, text: str, query: bool = True) -> Analysis:
        """Normalize `text`; queries also get situation expansions and out-of-scope detection."""
        original = syllables(text)
        words = self._replace(self._replace(original))  # twice: "xoá hk" → "xóa hộ khẩu" → ...
        segments = [self._drop_stopwords(words)]
        out_of_scope: list[str] = []
        if query:
            # situations are recognized in the citizen's words and in their replaced form alike
            # ("chưa có sổ đỏ" and "chưa có giấy chứng nhận quyền sử dụng đất")
            found = self._scan(original, self.lexicon.expand) + self._scan(words, self.lexicon.expand)
            expansions = [self.lexicon.expand[phrase] for phrase in dict.fromkeys(found)]
            for parts, expansion in self.lexicon.combos:
                if all(_has(original, part) or _has(words, part) for part in parts):
                    expansions.append(expansion)
            for expansion in dict.fromkeys(expansions):
                segments.append(self._drop_stopwords(list(expansion)))
            out_of_scope = [" ".join(p) for p in self._scan(original, self.lexicon.out_of_scope)]
        # segment 0 is always the citizen's own words (possibly empty); expansions follow
        return Analysis(segments=segments[:1] + [s for s in segments[1:] if s], out_of_scope=out_of_scope)

    def qualifiers(self, analysis: Analysis, tail_only: bool = False) -> frozenset[str]:
        """Lexicon qualifiers ("lại", "xóa", "lưu động", ...) present in an analyzed text.

        A question is searched for both kinds; `tail_only` finds only `tail_qualifiers` (for the
        whole core of a procedure's name, whose head is searched separately).
        """
        table = self._tail if tail_only else self._qualifiers | self._tail
        found: set[str] = set()
        for segment in analysis.segments:
            for start in range(len(segment)):
                for size in range(1, min(self._longest, len(segment) - start) + 1):
                    phrase = tuple(segment[start : start + size])
                    if phrase in table:
                        found.add(" ".join(phrase))
        return frozenset(found)

    def asked_qualifiers(self, analysis: Analysis) -> frozenset[str]:
        """Lexicon `asked_qualifiers` in the citizen's own (replaced) words, not in expansions."""
        own = Analysis(segments=analysis.segments[:1], out_of_scope=[])
        return frozenset(q for q in self.qualifiers(own) if q in self._asked)

    def excluded(self, text: str) -> frozenset[Phrase]:
        """Name openings the question's situation rules out (lexicon `excludes`)."""
        if not self.lexicon.excludes:
            return frozenset()
        original = syllables(text)
        words = self._replace(self._replace(original))
        found = self._scan(original, self.lexicon.excludes) + self._scan(words, self.lexicon.excludes)
        return frozenset(p for key in found for p in self.lexicon.excludes[key])

    def levels(self, text: str) -> frozenset[str]:
        """Administrative levels a question names explicitly ("cấp tỉnh" → tinh)."""
        table = self.lexicon.levels
        return frozenset(table[phrase] for phrase in self._scan(syllables(text), frozenset(table)))

    def normalize(self, text: str) -> str:
        """Readable normalized form of a query (for logs and debugging)."""
        return " | ".join(" ".join(seg) for seg in self.analyze(text).segments)
