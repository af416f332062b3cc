"""The watch service's memory: which dossier (source name + content hash) was checked, when, with what result.

An embedded SQLite database under `OUT/registry.sqlite3` (WAL: the service writes while a clerk's script
or a test reads; a `kill -9` loses at most the transaction in flight, never a committed one).

- `dossiers`: one row per source name (a direct child of the inbox) — its report folder id, the hash of
  the content last seen, its state (queued → running → done | failed), times and attempts.
- `history`: one row per check of a source's content. A check interrupted by a crash and re-run keeps
  its row (one row per source + content); a changed content adds a row.

Each thread gets its own connection (sqlite3 connections must not be shared across threads).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from core.database import Database

State = Literal["queued", "running", "done", "failed"]
Action = Literal["check", "skip"]
Reason = Literal["new", "changed", "retry", "unchanged", "failed_before"]

STATES: tuple[State, ...] = ("queued", "running", "done", "failed")
FILENAME = "registry.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dossiers (
    source       TEXT PRIMARY KEY,          -- the inbox child's name
    id           TEXT NOT NULL UNIQUE,      -- its report folder under OUT (CONTRACT.md ids, stable)
    hash         TEXT NOT NULL,             -- SHA-256 over relative paths + bytes of the content last seen
    signature    TEXT,                      -- sizes and mtimes when last seen: a rescan skips unchanged ones unhashed
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    report       TEXT,                      -- report.json relative to OUT
    error        TEXT,
    duplicate_of TEXT,                      -- another source with the same content, when first seen
    summary      TEXT,                      -- its summary.json row (JSON), to rebuild the summary
    first_seen   TEXT NOT NULL,
    settled      TEXT,
    started      TEXT,
    finished     TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0 -- checks started for this content (more than 1: a crash interrupted)
);
CREATE INDEX IF NOT EXISTS dossiers_hash ON dossiers (hash);
CREATE TABLE IF NOT EXISTS history (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT NOT NULL,
    id           TEXT NOT NULL,
    hash         TEXT NOT NULL,
    state        TEXT NOT NULL,
    report       TEXT,
    error        TEXT,
    duplicate_of TEXT,
    settled      TEXT,
    started      TEXT,
    finished     TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS history_source ON history (source);
"""


def now() -> str:
    """Local time with offset, to the millisecond (latency is measured from these)."""
    return dt.datetime.now().astimezone().isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Decision:
    """What to do with a settled source: check it (new, changed, interrupted) or skip it."""

    action: Action
    reason: Reason
    ident: str  # the report folder id
    duplicate_of: str | None = None  # another source with the same content

    @property
    def check(self) -> bool:
        return self.action == "check"


@dataclass(frozen=True)
class Row:
    source: str
    id: str
    hash: str
    signature: str | None
    state: State
    report: str | None
    error: str | None
    duplicate_of: str | None
    summary: dict[str, Any] | None
    first_seen: str
    settled: str | None
    started: str | None
    finished: str | None
    attempts: int


@dataclass(frozen=True)
class Check:
    """One row of the history: one check of one content of a source."""

    seq: int
    source: str
    id: str
    hash: str
    state: State
    report: str | None
    error: str | None
    duplicate_of: str | None
    settled: str | None
    started: str | None
    finished: str | None
    attempts: int


class UnknownSource(KeyError):
    """start/finish/fail for a source `seen` never registered."""


class Registry(Database):
    """`Registry(OUT / "registry.sqlite3")`; every method is one transaction."""

    schema = _SCHEMA

    def __init__(self, path: Path, reserved_ids: Iterable[str] = ()) -> None:
        self.reserved = frozenset(reserved_ids)  # names OUT uses itself (failed, summary.json …)
        super().__init__(path)

    # -- decisions ---------------------------------------------------------------------------------

    def seen(self, name: str, hash: str, signature: str | None = None, base_id: str | None = None) -> Decision:
        """A source settled with this content: register it and say whether to check it.

        new → check; same content already done → skip; same content failed → skip, unless it was
        dropped again (another `signature`: the clerk asks for another try; a new history row); same
        content queued/running (a crash interrupted it) → check again in the same history row;
        changed content → check, a new history row.
        `base_id` is the report folder id wanted (default: the name); a clash with another source's id
        gets -2, -3 … once, and the source keeps that id for good.
        """
        stamp = now()
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM dossiers WHERE source = ?", (name,)).fetchone()
            twin = conn.execute(
                "SELECT source FROM dossiers WHERE hash = ? AND source <> ? ORDER BY first_seen, source LIMIT 1",
                (hash, name),
            ).fetchone()
            duplicate_of = twin["source"] if twin else None
            if row is None:
                ident = self._free_id(conn, base_id or name, self.reserved)
                conn.execute(
                    "INSERT INTO dossiers (source, id, hash, signature, state, duplicate_of, first_seen, settled)"
                    " VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
                    (name, ident, hash, signature, duplicate_of, stamp, stamp),
                )
                self._new_history(conn, name, ident, hash, duplicate_of, stamp)
                return Decision("check", "new", ident, duplicate_of)
            ident = row["id"]
            if row["hash"] == hash:
                if row["state"] == "done":
                    if signature is not None and signature != row["signature"]:
                        conn.execute("UPDATE dossiers SET signature = ? WHERE source = ?", (signature, name))
                    return Decision("skip", "unchanged", ident, row["duplicate_of"])
                if row["state"] == "failed":
                    if signature is None or signature == row["signature"]:
                        return Decision("skip", "failed_before", ident, row["duplicate_of"])
                    # Dropped again (same bytes, new mtimes): the clerk asks for another try.
                    conn.execute(
                        "UPDATE dossiers SET signature = ?, state = 'queued', settled = ?, attempts = 0"
                        " WHERE source = ?",
                        (signature, stamp, name),
                    )
                    self._new_history(conn, name, ident, hash, row["duplicate_of"], stamp)
                    return Decision("check", "retry", ident, row["duplicate_of"])
                conn.execute("UPDATE dossiers SET state = 'queued', settled = ? WHERE source = ?", (stamp, name))
                return Decision("check", "retry", ident, row["duplicate_of"])
            conn.execute(
                "UPDATE dossiers SET hash = ?, signature = ?, state = 'queued', report = NULL, error = NULL,"
                " duplicate_of = ?, settled = ?, started = NULL, finished = NULL, attempts = 0 WHERE source = ?",
                (hash, signature, duplicate_of, stamp, name),
            )
            self._new_history(conn, name, ident, hash, duplicate_of, stamp)
            return Decision("check", "changed", ident, duplicate_of)

    @staticmethod
    def _free_id(conn: sqlite3.Connection, base: str, reserved: frozenset[str]) -> str:
        taken = {r[0] for r in conn.execute("SELECT id FROM dossiers WHERE id = ? OR id LIKE ?", (base, f"{base}-%"))}
        taken |= reserved
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    @staticmethod
    def _new_history(
        conn: sqlite3.Connection, name: str, ident: str, hash: str, duplicate_of: str | None, stamp: str
    ) -> None:
        conn.execute(
            "INSERT INTO history (source, id, hash, state, duplicate_of, settled) VALUES (?, ?, ?, 'queued', ?, ?)",
            (name, ident, hash, duplicate_of, stamp),
        )

    # -- state changes -----------------------------------------------------------------------------

    def start(self, name: str) -> int:
        """The check begins; returns the attempt number for this content (1 unless a crash interrupted)."""
        stamp = now()
        with self._tx() as conn:
            self._require(conn, name)
            conn.execute(
                "UPDATE dossiers SET state = 'running', started = ?, finished = NULL, attempts = attempts + 1"
                " WHERE source = ?",
                (stamp, name),
            )
            attempts = conn.execute("SELECT attempts FROM dossiers WHERE source = ?", (name,)).fetchone()[0]
            self._update_history(conn, name, state="running", started=stamp, finished=None, attempts=attempts)
            return int(attempts)

    def finish(self, name: str, report: str, summary: dict[str, Any] | None = None) -> None:
        """The report is in place (report: report.json relative to OUT)."""
        stamp = now()
        with self._tx() as conn:
            self._require(conn, name)
            conn.execute(
                "UPDATE dossiers SET state = 'done', report = ?, error = NULL, summary = ?, finished = ? WHERE source = ?",
                (report, _json(summary), stamp, name),
            )
            self._update_history(conn, name, state="done", report=report, error=None, finished=stamp)

    def fail(self, name: str, error: str, summary: dict[str, Any] | None = None) -> None:
        """The dossier could not be checked; `error` says why (in Chinese, for the clerk)."""
        stamp = now()
        with self._tx() as conn:
            self._require(conn, name)
            conn.execute(
                "UPDATE dossiers SET state = 'failed', report = NULL, error = ?, summary = ?, finished = ?"
                " WHERE source = ?",
                (error, _json(summary), stamp, name),
            )
            self._update_history(conn, name, state="failed", report=None, error=error, finished=stamp)

    @staticmethod
    def _require(conn: sqlite3.Connection, name: str) -> None:
        if conn.execute("SELECT 1 FROM dossiers WHERE source = ?", (name,)).fetchone() is None:
            raise UnknownSource(name)

    @staticmethod
    def _update_history(conn: sqlite3.Connection, name: str, **values: Any) -> None:
        # The latest history row of a source is the check in hand (seen() adds one per new content).
        columns = ", ".join(f"{key} = ?" for key in values)
        conn.execute(
            f"UPDATE history SET {columns} WHERE seq = (SELECT max(seq) FROM history WHERE source = ?)",
            (*values.values(), name),
        )

    # -- queries -----------------------------------------------------------------------------------

    def get(self, name: str) -> Row | None:
        found = self._conn().execute("SELECT * FROM dossiers WHERE source = ?", (name,)).fetchone()
        return _row(found) if found else None

    def signature(self, name: str) -> str | None:
        """The sizes-and-mtimes signature of a source already handled (done or failed), else None."""
        found = (
            self._conn()
            .execute("SELECT signature FROM dossiers WHERE source = ? AND state IN ('done', 'failed')", (name,))
            .fetchone()
        )
        return found[0] if found else None

    def unfinished(self) -> list[Row]:
        """Rows left `queued` or `running`: a crash or kill -9 interrupted their check."""
        found = self._conn().execute(
            "SELECT * FROM dossiers WHERE state IN ('queued', 'running') ORDER BY settled, source"
        )
        return [_row(r) for r in found]

    def rows(self) -> list[Row]:
        """Every source, by report id."""
        return [_row(r) for r in self._conn().execute("SELECT * FROM dossiers ORDER BY id")]

    def history(self, name: str | None = None) -> list[Check]:
        """Every check (of one source, or of all), oldest first."""
        if name is None:
            found = self._conn().execute("SELECT * FROM history ORDER BY seq")
        else:
            found = self._conn().execute("SELECT * FROM history WHERE source = ? ORDER BY seq", (name,))
        return [Check(**dict(r)) for r in found]

    def summary_rows(self) -> list[dict[str, Any]]:
        """The summary.json rows of every source checked, by report id. A source being checked again keeps
        its last row until the new one lands, as its report folder keeps the last report."""
        found = self._conn().execute("SELECT summary FROM dossiers WHERE summary IS NOT NULL ORDER BY id")
        return [json.loads(r[0]) for r in found]


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _row(found: sqlite3.Row) -> Row:
    values = dict(found)
    values["summary"] = json.loads(values["summary"]) if values["summary"] else None
    return Row(**values)
