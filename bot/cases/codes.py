"""Dossier codes: locality-specific patterns, normalization, and where a citizen finds the code.

Codes are printed on the receipt / appointment slip (Giấy tiếp nhận hồ sơ và hẹn trả kết quả)
and sent by SMS or e-mail when a dossier is filed online. Provinces use different formats,
so the accepted patterns come from settings (`cases.code_patterns`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable

# The national one-stop-shop format: <agency code>-<yymmdd>-<sequence>, e.g. 000.00.04.H51-261120-0001.
DEFAULT_PATTERNS: tuple[dict[str, str], ...] = (
    {
        "name": "national",
        "regex": r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}",
        "example": "000.00.04.H51-261120-0001",
    },
    {
        "name": "provincial",
        "regex": r"[A-Z]\d{2}\.\d{1,3}-\d{6}-\d{4}",
        "example": "H29.12-261120-0007",
    },
)

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212"), "-")


class CodePatternError(ValueError):
    """A configured code pattern is not usable."""


@dataclass(frozen=True)
class CodePattern:
    name: str
    regex: re.Pattern[str]
    example: str


def _split_parts(regex: str) -> tuple[list[str], list[str]] | None:
    """The regex cut at its top-level literal dots and dashes: (parts, separators '.'/'-'); None when it
    holds alternatives or groups (then it is used only as written)."""
    parts, separators, current, depth, i = [], [], "", 0, 0
    while i < len(regex):
        char = regex[i]
        if char == "\\":
            if depth == 0 and regex[i + 1:i + 2] == ".":
                parts.append(current)
                separators.append(".")
                current, i = "", i + 2
                continue
            current, i = current + regex[i:i + 2], i + 2
            continue
        if char in "()|":
            return None
        depth += char == "["
        depth -= char == "]"
        if char == "-" and depth == 0:
            parts.append(current)
            separators.append("-")
            current = ""
        else:
            current += char
        i += 1
    return parts + [current], separators


def _tolerant(regex: str) -> tuple[re.Pattern[str], list[str]] | None:
    """The pattern with each '.' and '-' made loose (missing, or spaced: as citizens type codes), and the
    separators to put back; None when the regex is not a plain sequence of parts."""
    split = _split_parts(regex)
    if split is None:
        return None
    parts, separators = split
    loose = {".": r"[\s.]*", "-": r"[\s\-]*"}
    body = "".join(f"({part})" + (loose[separators[i]] if i < len(separators) else "") for i, part in enumerate(parts))
    return re.compile(rf"(?<![0-9A-Z]){body}(?![0-9A-Z])"), separators


class DossierCodes:
    """Recognizes dossier codes of the configured localities."""

    def __init__(self, patterns: Iterable[dict[str, Any]] | None = None) -> None:
        compiled: list[CodePattern] = []
        for index, spec in enumerate(patterns or DEFAULT_PATTERNS):
            if not isinstance(spec, dict) or not spec.get("regex") or not spec.get("example"):
                raise CodePatternError(f"cases.code_patterns[{index}]: needs 'regex' and 'example'")
            try:
                regex = re.compile(str(spec["regex"]))
            except re.error as exc:
                raise CodePatternError(f"cases.code_patterns[{index}]: bad regex: {exc}") from exc
            pattern = CodePattern(str(spec.get("name") or f"pattern{index}"), regex, str(spec["example"]))
            if not regex.fullmatch(self.normalize(pattern.example)):
                raise CodePatternError(
                    f"cases.code_patterns[{index}]: example {pattern.example!r} does not match its regex"
                )
            compiled.append(pattern)
        if not compiled:
            raise CodePatternError("cases.code_patterns: at least one pattern is needed")
        self.patterns: tuple[CodePattern, ...] = tuple(compiled)
        self._loose = [(p, loose) for p in compiled if (loose := _tolerant(p.regex.pattern)) is not None]

    @staticmethod
    def normalize(text: str) -> str:
        """Upper case, no spaces, one kind of dash: ' 000.00.04.h51 – 261120-0001 ' -> '000.00.04.H51-261120-0001'."""
        value = unicodedata.normalize("NFKC", text or "").translate(_DASHES)
        return re.sub(r"\s+", "", value).upper().strip(".,;:!?")

    def match(self, text: str) -> str | None:
        """The normalized code if `text` is a code of a known pattern, else None."""
        code = self.normalize(text)
        return code if any(p.regex.fullmatch(code) for p in self.patterns) else None

    def find(self, text: str) -> str | None:
        """A code written somewhere inside a longer message ('tra hồ sơ 000.00.04.H51-261120-0001 giúp tôi')."""
        whole = self.match(text)
        if whole:
            return whole
        for token in re.split(r"[\s,;:!?()\"']+", unicodedata.normalize("NFKC", text or "").translate(_DASHES)):
            code = self.match(token)
            if code:
                return code
        # a code split by spaces around its dashes: '000.00.04.H51 - 261120 - 0001'
        squeezed = self.normalize(re.sub(r"\s*-\s*", "-", text or ""))
        for pattern in self.patterns:
            found = pattern.regex.search(squeezed)
            if found:
                return found.group(0)
        located = self.locate(text)
        return located[0] if located else None

    def locate(self, text: str) -> tuple[str, str] | None:
        """(code, the text without it) for a code typed loosely: lower case, spaces instead of dashes,
        a missing dot ('000.00.04h51 261130 0003'). Only when every reading gives the same code:
        two different codes from one message (two patterns disagreeing) are not guessed between."""
        prepared = unicodedata.normalize("NFKC", text or "").translate(_DASHES).upper()
        readings: dict[str, str] = {}
        for pattern, (regex, separators) in self._loose:
            for found in regex.finditer(prepared):
                groups = found.groups()
                code = groups[0] + "".join(sep + part for sep, part in zip(separators, groups[1:]))
                if pattern.regex.fullmatch(code):
                    readings.setdefault(code, prepared[: found.start()] + " " + prepared[found.end():])
        if len(readings) != 1:
            return None
        return next(iter(readings.items()))

    @property
    def examples(self) -> list[str]:
        return [p.example for p in self.patterns]
