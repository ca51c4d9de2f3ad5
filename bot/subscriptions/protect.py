"""Recipient ids (Telegram chat id, Zalo user id) encrypted at rest with Fernet.

The key comes from `$BOT_SUBSCRIPTIONS_KEY` or, failing that, a key file under var/ created on first use
(mode 0600). Losing the key only loses the ability to send notices to existing subscribers.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_ENV = "BOT_SUBSCRIPTIONS_KEY"


def load_key(key_file: Path) -> bytes:
    """The Fernet key: environment first, else the key file (made on first use)."""
    from_env = (os.environ.get(KEY_ENV) or "").strip()
    if from_env:
        return from_env.encode("ascii")
    if key_file.exists():
        return key_file.read_bytes().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(str(key_file), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class RecipientCipher:
    """Encrypts and decrypts one recipient id."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, recipient: str) -> str:
        return self._fernet.encrypt(recipient.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str | None:
        """The recipient id, or None when the key changed (the notice cannot be delivered)."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            return None
