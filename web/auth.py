"""Who may use the clerk's desk: the users file, sessions, the CSRF token and the Host check.

- Users live in a JSON file (default `OUT/.web/users.json`, never served), each password as a salted
  `hashlib.scrypt` hash; `dossier user add OUT NAME` writes it.
- Sessions live in SQLite (`OUT/.web/sessions.sqlite3`): a random token in an HttpOnly, SameSite=Strict
  cookie (only its SHA-256 is stored), a CSRF token of its own, and an idle expiry.
- On 127.0.0.1 / localhost / ::1 nobody signs in: every browser gets a session for the configured user.
  Anywhere else every page but the sign-in page requires a signed-in session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.database import Database
from pipeline.reports.files import replace_into

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
COOKIE = "dossier_session"
CSRF_HEADER = "x-csrf-token"

# scrypt's cost: ~16 MB and ~50 ms a sign-in; stored with each hash so that it can be raised later.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_NAME_MAX = 64
PASSWORD_MIN = 8


class UsersError(ValueError):
    """A users file that cannot be read or a user that cannot be added; the message is Chinese."""


def is_local(host: str) -> bool:
    """Whether the desk listens only on this machine (no sign-in needed)."""
    return host.strip("[]").lower() in LOCAL_HOSTS


# ---------------------------------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------------------------------


def _hash(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=32)


def load_users(path: Path) -> dict[str, dict[str, object]]:
    """Name → its stored hash; an empty dict when the file does not exist."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsersError(f"无法读取用户文件 {path}：{exc}") from exc
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise UsersError(f"用户文件格式不对：{path}")
    return {str(k): v for k, v in users.items() if isinstance(v, dict)}


def check_name(name: str) -> str:
    """A user name as typed, or UsersError: 1–64 characters, no spaces or control characters."""
    name = name.strip()
    if not name or len(name) > _NAME_MAX or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise UsersError(f"用户名须为 1–{_NAME_MAX} 个字符，不含空格和控制字符")
    return name


def add_user(path: Path, name: str, password: str) -> bool:
    """Add NAME (or set a new password for it) in the users file; whether it was new. The file is
    replaced whole and readable by its owner only."""
    name = check_name(name)
    if len(password) < PASSWORD_MIN:
        raise UsersError(f"密码至少 {PASSWORD_MIN} 个字符")
    users = load_users(path)
    salt = secrets.token_bytes(16)
    new = name not in users
    users[name] = {
        "scrypt": _hash(password, salt, **_SCRYPT).hex(),
        "salt": salt.hex(),
        **_SCRYPT,
        "changed": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:  # readable by its owner only: it holds the password hashes
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"users": users}, handle, ensure_ascii=False, indent=2)

    replace_into(path, write)
    return new


def verify_password(path: Path, name: str, password: str) -> bool:
    """Whether NAME signs in with PASSWORD. An unknown name costs the same scrypt as a known one."""
    entry = load_users(path).get(name.strip())
    if entry is None:
        _hash(password, b"\0" * 16, **_SCRYPT)
        return False
    try:
        salt, stored = bytes.fromhex(str(entry["salt"])), bytes.fromhex(str(entry["scrypt"]))
        n, r, p = (int(str(entry[key])) for key in ("n", "r", "p"))
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(_hash(password, salt, n, r, p), stored)


class Throttle:
    """Failed sign-ins by user name: after `limit` within `window` seconds, that name is refused until the
    window has passed (guessing passwords costs an attacker the window, a clerk who mistyped a minute)."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}

    def _recent(self, name: str, now: float) -> list[float]:
        recent = [t for t in self._failures.get(name, []) if now - t < self.window]
        self._failures[name] = recent
        return recent

    def blocked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name.strip(), time.time())) >= self.limit

    def failed(self, name: str) -> None:
        with self._lock:
            now = time.time()
            self._recent(name.strip(), now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name.strip(), None)


# ---------------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    token: str  # the cookie's value (only its hash is stored)
    user: str | None  # None: not signed in yet (the sign-in page's own session, for its CSRF token)
    csrf: str
    created: float
    last_seen: float

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf.encode(), str(sent).encode())


_SESSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,   -- SHA-256 of the cookie's token
    user       TEXT,               -- NULL before sign-in
    csrf       TEXT NOT NULL,
    created    REAL NOT NULL,
    last_seen  REAL NOT NULL
);
"""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions(Database):
    """Sessions in SQLite; a session idle for longer than `idle_hours` is gone."""

    schema = _SESSIONS_SCHEMA

    def __init__(self, path: Path, idle_hours: float = 8.0) -> None:
        self.idle = idle_hours * 3600.0
        super().__init__(path)

    def open(self, user: str | None) -> Session:
        """A new session (a fresh token and CSRF token); expired ones are swept meanwhile."""
        now = time.time()
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), now, now)
        conn = self._conn()
        conn.execute("DELETE FROM sessions WHERE last_seen < ?", (now - self.idle,))
        conn.execute(
            "INSERT INTO sessions (token_hash, user, csrf, created, last_seen) VALUES (?, ?, ?, ?, ?)",
            (_digest(session.token), user, session.csrf, now, now),
        )
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session of this cookie token, its idle clock reset; None if unknown or expired."""
        if not token or len(token) > 200:
            return None
        conn = self._conn()
        found = conn.execute(
            "SELECT user, csrf, created, last_seen FROM sessions WHERE token_hash = ?", (_digest(token),)
        ).fetchone()
        if found is None:
            return None
        user, csrf, created, last_seen = found
        now = time.time()
        if now - last_seen > self.idle:
            conn.execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))
            return None
        if now - last_seen > 30:  # not a write on every poll
            conn.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (now, _digest(token)))
            last_seen = now
        return Session(token, user, csrf, created, last_seen)

    def close(self, token: str | None) -> None:
        if token:
            self._conn().execute("DELETE FROM sessions WHERE token_hash = ?", (_digest(token),))


# ---------------------------------------------------------------------------------------------------
# Host and origin
# ---------------------------------------------------------------------------------------------------


def host_name(host_header: str) -> str:
    """The host of a Host header, without its port and IPv6 brackets, lower case."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(host_header: str | None, bound: str) -> bool:
    """Whether a request's Host header names the address the desk was bound to. Refusing the others
    keeps a web site whose name an attacker points at 127.0.0.1 (DNS rebinding) away from the desk."""
    if not host_header:
        return False
    bound = bound.strip("[]").lower()
    if bound in WILDCARD_HOSTS:
        return True
    name = host_name(host_header)
    if bound in LOCAL_HOSTS:
        return name in LOCAL_HOSTS
    return name == bound


def same_origin(origin: str | None, referer: str | None, host_header: str | None) -> bool:
    """Whether a POST comes from a page of this desk: its Origin (else its Referer) names the same host
    and port as the request's Host header. A request that carries neither is refused."""
    source = origin if origin and origin != "null" else referer
    if not source or not host_header:
        return False
    try:
        netloc = urlsplit(source).netloc.lower()
    except ValueError:
        return False
    return bool(netloc) and netloc == host_header.strip().lower()
