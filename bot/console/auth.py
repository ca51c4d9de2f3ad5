"""Officers' accounts and sessions: argon2id password hashes, lockout after repeated wrong passwords (persisted),
random session tokens stored hashed, one CSRF token per session."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.db import Database

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
SESSION_SECONDS = 8 * 3600  # one working day
MIN_PASSWORD = 10

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not-a-password-used-for-timing")


class AuthError(ValueError):
    """A user cannot be created (bad name, short password, exists)."""


@dataclass(frozen=True)
class Session:
    user: str
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(conn: Database, name: str, password: str, replace: bool = False) -> None:
    if not NAME_RE.match(name):
        raise AuthError("tên đăng nhập: 2–40 chữ cái không dấu, số, . _ -")
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"mật khẩu cần ít nhất {MIN_PASSWORD} ký tự")
    exists = conn.execute("SELECT 1 FROM console_users WHERE name = ?", (name,)).fetchone()
    if exists and not replace:
        raise AuthError(f"người dùng {name} đã có (dùng --replace để đặt lại mật khẩu)")
    conn.execute(
        "INSERT INTO console_users (name, password_hash, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT(name) DO UPDATE SET password_hash = excluded.password_hash, failed_count = 0, locked_until = 0",
        (name, _hasher.hash(password), time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())),
    )


def check_password(conn: Database, name: str, password: str, now: float | None = None) -> str:
    """'ok', 'locked' or 'wrong'. Wrong passwords are counted in the database; MAX_FAILURES lock the account."""
    now = time.time() if now is None else now
    row = conn.execute("SELECT password_hash, failed_count, locked_until FROM console_users WHERE name = ?",
                       (name,)).fetchone()
    if row is None:
        try:
            _hasher.verify(_DUMMY, password)  # same time as for a real user: names cannot be probed
        except VerificationError:
            pass
        return "wrong"
    if row["locked_until"] > now:
        return "locked"
    try:
        _hasher.verify(row["password_hash"], password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        # counted in the database itself (not read-then-written), so console replicas never lose a failure
        with conn.transaction():
            conn.lock(f"console_users:{name}")
            failures = int(conn.execute("UPDATE console_users SET failed_count = failed_count + 1 WHERE name = ?"
                                        " RETURNING failed_count", (name,)).fetchone()[0])
            if failures < MAX_FAILURES:
                return "wrong"
            conn.execute("UPDATE console_users SET failed_count = 0, locked_until = ? WHERE name = ?",
                         (now + LOCK_SECONDS, name))
        return "locked"
    conn.execute("UPDATE console_users SET failed_count = 0, locked_until = 0 WHERE name = ?", (name,))
    return "ok"


def start_session(conn: Database, name: str, now: float | None = None) -> str:
    """A new session token (the cookie value); only its hash is stored."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    conn.execute("DELETE FROM console_sessions WHERE expires_at < ?", (now,))
    conn.execute("INSERT INTO console_sessions (token_hash, user_name, csrf, expires_at) VALUES (?, ?, ?, ?)",
                 (_digest(token), name, secrets.token_urlsafe(24), now + SESSION_SECONDS))
    return token


def session_for(conn: Database, token: str | None, now: float | None = None) -> Session | None:
    if not token or len(token) > 100:
        return None
    now = time.time() if now is None else now
    row = conn.execute("SELECT user_name, csrf FROM console_sessions WHERE token_hash = ? AND expires_at > ?",
                       (_digest(token), now)).fetchone()
    return Session(row["user_name"], row["csrf"]) if row else None


def end_session(conn: Database, token: str | None) -> None:
    if token:
        conn.execute("DELETE FROM console_sessions WHERE token_hash = ?", (_digest(token),))


def csrf_ok(session: Session, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(session.csrf.encode(), str(given).encode())
