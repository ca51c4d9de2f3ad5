"""HMAC-SHA256 signature of a registry event body (`X-Registry-Signature: sha256=<hex>`), shared secret."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, raw_body: bytes) -> str:
    """The header value a sender puts in `X-Registry-Signature` for this body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, raw_body: bytes, header: str | None) -> bool:
    """Constant-time check of the header against the body's signature."""
    return hmac.compare_digest((header or "").strip().lower().encode("ascii", "replace"),
                               sign(secret, raw_body).encode("ascii"))
