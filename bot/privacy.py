"""Masking of citizens' personal data before it reaches a log line, a reply or the database.

Standard library only: used by both Python environments (channels, actions, CLI).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re

# Vietnamese mobile/landline numbers (0xxxxxxxxx, +84xxxxxxxxx, with spaces/dots/dashes)
# and ID numbers (12-digit căn cước, 9-digit old CMND).
_PHONE_RE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")
_ID_RE = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)")
DEFAULT_SALT = "tthc-assistant"  # public: the production profile refuses to start with it (bot/deployment.py)


def mask_digits(value: str, keep_last: int = 2) -> str:
    """'0912345678' -> '********78' (keeps only the last `keep_last` digits)."""
    digits = re.sub(r"\D", "", value or "")
    if not digits:
        return ""
    keep = min(keep_last, max(len(digits) - 4, 0))
    return "*" * (len(digits) - keep) + (digits[-keep:] if keep else "")


def mask_phone(value: str) -> str:
    return mask_digits(value, keep_last=2)


def mask_id_number(value: str) -> str:
    return mask_digits(value, keep_last=2)


def mask_name(name: str) -> str:
    """'Nguyễn Văn An' -> 'N*** V** A*': initials only."""
    parts = [p for p in (name or "").split() if p]
    return " ".join(p[0] + "*" * (len(p) - 1) for p in parts)


def redact_text(text: str) -> str:
    """Replace anything that looks like a phone or ID number in free text."""
    if not text:
        return text
    text = _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)
    return _ID_RE.sub(lambda m: mask_id_number(m.group(0)), text)


def hash_sender(sender_id: str) -> str:
    """Stable pseudonym for a conversation id (salted with $BOT_PRIVACY_SALT)."""
    salt = os.environ.get("BOT_PRIVACY_SALT", DEFAULT_SALT)
    return hashlib.sha256(f"{salt}:{sender_id}".encode("utf-8")).hexdigest()[:16]


class RedactingFilter(logging.Filter):
    """Logging filter that masks phone and ID numbers in every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # malformed format args: leave the record alone
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the redacting filter to every handler of `logger` (root by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
