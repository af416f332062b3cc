"""`dossier watch INBOX --out DIR`: the watch-folder service (after paperless-ngx's consumer).

Every direct child of INBOX (folder, .zip, single file) is one dossier. The service learns of changes
from file-system events (watchdog: inotify, or `--polling` for network shares, where events get lost)
and from a full rescan every `--rescan` seconds. A dossier is read only once it has SETTLED: no file of
it changed size or mtime for `--settle` seconds, so half-copied zips and folders still filling up are
never read. Its content hash then goes to the registry (`OUT/registry.sqlite3`, pipeline/registry.py):
new or changed content is checked, unchanged content is not checked again.

Outputs are those of `dossier batch`: `OUT/<id>/report.*` (a changed dossier replaces its folder; the
history is in the registry), `OUT/summary.json` and `.xlsx` rewritten after each dossier, and
`OUT/failed/<id>/reason.txt` for a dossier that could not be checked. The inbox is only ever read.

Crash safety: reports are written into `OUT/.staging` and swapped into place, then the registry row is
marked done. After a crash or `kill -9` the rows left queued/running are checked again on restart,
into the same folder and the same history row. SIGTERM/SIGINT stop after the dossier in hand.

Decisions:
- The same content under another source name is a dossier of its own (the clerk dropped it under that
  name and CONTRACT ids come from names), so it gets its own report; the registry records it as
  `duplicate_of` the first source with that content and the log line says so.
- The same source dropped again unchanged is not checked again; changed, it is, into the same folder.
  A source that failed is tried again when dropped again (new mtimes), even with the same bytes.
- `--once` treats everything present as settled (a clerk runs it deliberately, after copying), checks
  what is new, changed or was interrupted, then exits 0.
- A folder holding no files yet (just created) waits for its files in watch mode.

The modules, one concern each:
- `settle.py`   what a dossier looks like on disk (snapshots) and whether it has stopped changing;
- `walk.py`     the registry walk: a settled dossier against the registry, checked or skipped, its outcome
                recorded and logged; recovery after a crash;
- `outputs.py`  OUT's layout: reports swapped in whole, failed/<id>/, the lock;
- `loop.py`     the service loop (watchdog events, rescans, stop signals) and `watch()`;
- `checker.py`  the Prefect adapter: a dossier checked as a run of the `check_dossiers` flow.

Log events (logger `dossier.watch`, attribute `event`): `watch_started`, `watch_resumed`, `dossier_checked`,
`dossier_failed`, `dossier_skipped`, `dossier_unsettled`, `dossier_error`, `inbox_unreadable`,
`summary_not_written`, `events_unavailable`, `watch_stopped`.
"""

from .checker import Checker, CheckFailed, open_checker
from .loop import StopFlag, WatchService, watch
from .outputs import FAILED, LOCK, RESERVED_IDS, STAGING, checked_at
from .settle import SettleTracker, Snapshot, has_content, registry_hash, signature, snapshot
from .walk import MAX_ATTEMPTS, Counts, RegistryWalk

__all__ = [
    "FAILED",
    "LOCK",
    "MAX_ATTEMPTS",
    "RESERVED_IDS",
    "STAGING",
    "CheckFailed",
    "Checker",
    "Counts",
    "RegistryWalk",
    "SettleTracker",
    "Snapshot",
    "StopFlag",
    "WatchService",
    "checked_at",
    "has_content",
    "open_checker",
    "registry_hash",
    "signature",
    "snapshot",
    "watch",
]
