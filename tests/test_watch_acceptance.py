"""Acceptance run of the watch service, with real processes and real files (`make acceptance`; slow: minutes).

Requirement: "`dossier watch` on an inbox receiving 50 dossiers (copied in bursts, some twice, one corrupt)
ends with exactly 50 reports or failures, each recorded once, across one `SIGKILL` and restart."

What it does:
1. Builds N distinct dossiers (default 50, ACCEPTANCE_COUNT) in a staging folder from fixtures/samples/dossiers:
   folder copies with a note file of their own, sample folders zipped with a note, the sample zips with a note
   member appended, sample PDFs with a comment line appended after %%EOF, sample .docx files with an extra
   package member; one of them is a zip truncated in half (corrupt). Every note carries the run's clock, so no
   content was ever seen before: nothing can come from the check cache (flows/check.py) of an earlier run.
2. Starts `dossier watch INBOX --out OUT --settle 1 --rescan 2` (its own session and process group; stdout,
   stderr and its log events (DOSSIER_EVENT_LOG) into files) and copies the dossiers into the inbox in bursts
   of 5–10, in parallel within a burst: folders file by file, some zips written in chunks over ~2 s, others
   renamed in whole, single files copied (some keeping the source's mtime). About 60 % arrive before the
   kill, a burst while the service is down, the rest after the restart.
3. While a check is in progress (registry state 'running', read through a read-only SQLite connection),
   SIGKILLs the service's main process, as a crash would; the processes it leaves behind get a few seconds
   to exit on their own, then are killed by pid (a warning names them). While the service is down, one
   finished dossier is dropped again and a burst is copied. Then the service is restarted with the same
   arguments.
4. Drops four finished dossiers again with identical bytes (a zip overwritten in place in chunks, a folder
   deleted and copied again file by file, a PDF deleted and copied again, a .docx copied over itself).
5. Waits until all N are done or failed, checks that the service stays idle over a rescan, sends SIGTERM
   and expects exit status 0 and no process left in its group.
6. Asserts: N registry rows (one per source, ids as CONTRACT.md), each done with OUT/<id>/report.json or
   failed with OUT/failed/<id>/reason.txt; no other report folder; one history row per source, whose check
   started after the dossier settled and whose report lists the complete files (nothing read half-written);
   attempts 1 except the killed one (2, checked again after the restart, one report); one outcome event
   (`dossier_checked` or `dossier_failed`) per dossier over both runs; the re-dropped dossiers skipped
   (`dossier_skipped`), not checked again; the inbox unchanged (sizes, mtimes and SHA-256 of every file);
   summary.json with N rows. Every assertion is evaluated and listed (printed with `-s`, as `make acceptance`
   runs it) before the test fails on any of them; the folders stay in pytest's temporary directory.

    .venv/bin/python -m pytest -m slow -s tests/test_watch_acceptance.py   # ACCEPTANCE_COUNT, ACCEPTANCE_SEED
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "fixtures" / "samples" / "dossiers"
SETTLE, RESCAN = 1.0, 2.0
KINDS = ("folder", "zip", "pdf", "folder", "zip", "docx")  # the mix: 1/3 folders, 1/3 zips, 1/6 PDF, 1/6 DOCX
FILE_PAUSE = (0.05, 0.25)  # between the files of a folder copied file by file: well under --settle
CHUNKS, CHUNK_PAUSE = 10, 0.2  # a zip written in chunks: ~2 s, never --settle without a change
START_TIMEOUT = 180.0  # the service's start-up (Prefect's temporary server, warm workers) on 2 busy cores
ORPHAN_GRACE = 5.0  # seconds the processes a killed service leaves behind get to exit on their own

DOSSIER = str(Path(sys.executable).with_name("dossier"))
OUTCOMES = ("dossier_checked", "dossier_failed")  # a report was written, or the dossier went to failed/


class Failure(Exception):
    """The run could not go on (a timeout, the service died)."""


# ---------------------------------------------------------------------------------------------------
# The dossiers
# ---------------------------------------------------------------------------------------------------


@dataclass
class Dossier:
    name: str  # the inbox child's name
    kind: str  # folder | zip | pdf | docx
    origin: str  # the sample it was made from
    staged: Path  # its bytes, outside the inbox
    how: str  # how it is dropped: files | chunks | rename | copy | copy2
    corrupt: bool = False
    redrop: str | None = None  # how it is dropped again (identical bytes), if it is
    last_write: float = 0.0  # time.time() when its first drop ended
    dropped_during_downtime: bool = False

    @property
    def ident(self) -> str:
        return self.name[:-4] if self.name.lower().endswith(".zip") else self.name  # CONTRACT.md ids


def _label(sample: Path) -> str:
    """The sample's name without its number and .zip: `02-滕州市煤化工.zip` → `滕州市煤化工`."""
    name = sample.name.split("-", 1)[1]
    return name[:-4] if name.lower().endswith(".zip") else name


def _zip_folder(folder: Path, target: Path, note: tuple[str, str]) -> None:
    """Zip a folder, the note first: a zip cut in half still differs from any other run's."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(*note)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())


def build(staging: Path, count: int) -> list[Dossier]:
    """`count` dossiers of distinct content, one of them corrupt, in `staging`."""
    samples = sorted(SAMPLES.iterdir())
    pools = {
        "folder": [p for p in samples if p.is_dir()],
        "zip": [p for p in samples if p.suffix.lower() == ".zip"],
        "pdf": [p for p in samples if p.suffix.lower() == ".pdf"],
        "docx": [p for p in samples if p.suffix.lower() == ".docx"],
    }
    used: Counter[str] = Counter()
    corrupt_at = count // 2
    dossiers: list[Dossier] = []
    for i in range(count):
        n = i + 1
        kind = "zip" if i == corrupt_at else KINDS[i % len(KINDS)]
        k = used[kind]
        used[kind] += 1
        note = f"验收测试备注：第 {n} 份申报材料（{time.time_ns()}）\n"
        if i == corrupt_at:
            origin = pools["folder"][k % len(pools["folder"])]
            name = f"{n:02d}-损坏的压缩包.zip"
            whole = staging / f"whole-{name}"
            _zip_folder(origin, whole, (f"验收备注-{n}.txt", note))
            payload = whole.read_bytes()
            whole.unlink()
            (staging / name).write_bytes(payload[: len(payload) // 2])  # the central directory is gone
            dossiers.append(Dossier(name, "zip", origin.name, staging / name, "chunks", corrupt=True))
            continue
        if kind == "folder":
            origin = pools["folder"][k % len(pools["folder"])]
            name = f"{n:02d}-{_label(origin)}"
            shutil.copytree(origin, staging / name)
            (staging / name / f"验收备注-{n}.txt").write_text(note, encoding="utf-8")
            how = "files"
        elif kind == "zip":
            zips = pools["zip"]
            if k < len(zips):  # the sample zips (their members as they are, GBK names too) plus a note
                origin = zips[k]
                name = f"{n:02d}-{_label(origin)}.zip"
                shutil.copy(origin, staging / name)
                with zipfile.ZipFile(staging / name, "a") as archive:
                    archive.writestr(f"验收备注-{n}.txt", note)
            else:  # a sample folder re-zipped with a note of its own
                origin = pools["folder"][(k - len(zips)) % len(pools["folder"])]
                name = f"{n:02d}-{_label(origin)}.zip"
                _zip_folder(origin, staging / name, (f"验收备注-{n}.txt", note))
            how = "chunks" if k % 2 == 0 else "rename"
        elif kind == "pdf":
            origin = pools["pdf"][k % len(pools["pdf"])]
            name = f"{n:02d}-{_label(origin)}"
            (staging / name).write_bytes(origin.read_bytes() + f"\n% {note}".encode())  # after %%EOF
            how = "copy2" if k % 2 else "copy"
        else:
            origin = pools["docx"][k % len(pools["docx"])]
            name = f"{n:02d}-{_label(origin)}"
            shutil.copy(origin, staging / name)
            with zipfile.ZipFile(staging / name, "a") as package:  # a part no relationship points to
                package.writestr(f"customXml/acceptance-note-{n}.txt", note)
            how = "copy" if k % 2 else "rename"
        dossiers.append(Dossier(name, kind, origin.name, staging / name, how))
    return dossiers


def tree_digest(path: Path) -> str:
    """SHA-256 over relative paths and bytes of a folder, or of a file's bytes."""
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    else:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def file_hashes(path: Path) -> list[str]:
    """SHA-256 of each file of a dossier as intake sees it: a folder's files, a zip's members, or the file."""
    if path.is_dir():
        return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.rglob("*")) if p.is_file()]
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            return [hashlib.sha256(archive.read(i)).hexdigest() for i in archive.infolist() if not i.is_dir()]
    return [hashlib.sha256(path.read_bytes()).hexdigest()]


def inbox_state(inbox: Path) -> dict[str, tuple[int, int, str]]:
    """(size, mtime in ns, SHA-256) of every file and folder under the inbox."""
    state: dict[str, tuple[int, int, str]] = {}
    for path in sorted(inbox.rglob("*")):
        st = path.lstat()
        rel = path.relative_to(inbox).as_posix()
        if path.is_file():
            state[rel] = (st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
        else:
            state[rel + "/"] = (0, 0, "dir")  # a folder's mtime changes with its entries: only its presence
    return state


# ---------------------------------------------------------------------------------------------------
# Dropping dossiers into the inbox
# ---------------------------------------------------------------------------------------------------


def copy_files(source: Path, target: Path, rng: random.Random) -> None:
    """A clerk dragging a folder's files in one by one."""
    target.mkdir()
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        dest = target / file.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        time.sleep(rng.uniform(*FILE_PAUSE))
        shutil.copy(file, dest)


def write_chunks(source: Path, target: Path) -> None:
    """A slow copy from a share: the file grows for ~2 s (an existing file is truncated first)."""
    payload = source.read_bytes()
    step = len(payload) // CHUNKS + 1
    with target.open("wb") as handle:
        for i in range(CHUNKS):
            handle.write(payload[i * step : (i + 1) * step])
            handle.flush()
            if i < CHUNKS - 1:
                time.sleep(CHUNK_PAUSE)


def drop(d: Dossier, inbox: Path, side: Path, how: str, rng: random.Random) -> None:
    target = inbox / d.name
    if how == "files":
        copy_files(d.staged, target, rng)
    elif how == "chunks":
        write_chunks(d.staged, target)
    elif how == "rename":  # copied next to the inbox, then moved in: it appears whole
        shutil.copy(d.staged, side / d.name)
        os.rename(side / d.name, target)
    elif how == "copy":
        shutil.copy(d.staged, target)
    elif how == "copy2":  # keeps the source's mtime, as copy tools do
        shutil.copy2(d.staged, target)
    elif how == "delete+files":
        shutil.rmtree(target)
        time.sleep(0.5)
        copy_files(d.staged, target, rng)
    elif how == "delete+copy":
        target.unlink()
        time.sleep(0.5)
        shutil.copy(d.staged, target)
    elif how == "overwrite-chunks":
        write_chunks(d.staged, target)
    elif how == "overwrite-copy":
        shutil.copy(d.staged, target)
    else:
        raise ValueError(how)


def drop_all(items: list[tuple[Dossier, str]], inbox: Path, side: Path, rng: random.Random) -> None:
    """Drop several dossiers at once (a thread each), as a clerk's burst of copies; the first error raised."""

    def one(d: Dossier, how: str, seed: int) -> None:
        drop(d, inbox, side, how, random.Random(seed))
        if not how.startswith(("delete", "overwrite")):
            d.last_write = time.time()

    with ThreadPoolExecutor(max_workers=max(1, len(items)), thread_name_prefix="drop") as threads:
        futures = [threads.submit(one, d, how, rng.randrange(1 << 30)) for d, how in items]
    for future in futures:
        future.result()


# ---------------------------------------------------------------------------------------------------
# The registry, read-only
# ---------------------------------------------------------------------------------------------------


def read_registry(out: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The `dossiers` rows by source and the `history` rows, through a read-only connection."""
    path = out / "registry.sqlite3"
    if not path.exists():
        return {}, []
    try:
        conn = sqlite3.connect(f"file:{urllib.parse.quote(str(path))}?mode=ro", uri=True, timeout=10)
    except sqlite3.OperationalError:
        return {}, []
    try:
        conn.row_factory = sqlite3.Row
        rows = {r["source"]: dict(r) for r in conn.execute("SELECT * FROM dossiers")}
        history = [dict(r) for r in conn.execute("SELECT * FROM history ORDER BY seq")]
    except sqlite3.OperationalError:  # created a moment ago, no tables yet
        return {}, []
    finally:
        conn.close()
    return rows, history


def states(out: Path) -> dict[str, str]:
    return {source: row["state"] for source, row in read_registry(out)[0].items()}


def epoch(stamp: str | None) -> float:
    return dt.datetime.fromisoformat(stamp).timestamp() if stamp else float("nan")


# ---------------------------------------------------------------------------------------------------
# The service as a process
# ---------------------------------------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, start time) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[2]), int(fields[19])


def group_members(pgid: int) -> dict[int, int]:
    """Live processes of a process group: pid → start time (to never kill a reused pid)."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        info = _proc_stat(int(entry.name))
        if info and info[1] == pgid and info[0] not in ("Z", "X"):
            found[int(entry.name)] = info[2]
    return found


def kill_by_id(members: dict[int, int]) -> list[int]:
    """SIGKILL each pid still running with the same start time; the pids killed."""
    killed = []
    for pid, start in members.items():
        info = _proc_stat(pid)
        if info and info[2] == start and info[0] not in ("Z", "X"):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
    return killed


def describe(pid: int) -> str:
    """What a process of the service is: worker, forkserver, resource_tracker, or its command."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return f"{pid} (gone)"
    command = " ".join(a.decode(errors="replace") for a in argv)
    ppid = int(text[text.rindex(")") + 2 :].split()[1])
    if "multiprocessing.forkserver" in command:
        try:
            parent = Path(f"/proc/{ppid}/cmdline").read_bytes()
        except OSError:
            parent = b""
        return f"{pid} ({'worker' if b'multiprocessing.forkserver' in parent else 'forkserver'})"
    if "prefect.server" in command:
        return f"{pid} (Prefect server)"
    if "multiprocessing.resource_tracker" in command:
        return f"{pid} (resource_tracker)"
    return f"{pid} ({Path(argv[0].decode(errors='replace')).name})"


def wait_group_gone(pgid: int, grace: float) -> tuple[list[str], list[str]]:
    """Give a group's processes `grace` seconds to exit, then kill the rest by pid.

    Returns (those that exited on their own, those killed), each as "pid (role)".
    """
    before = group_members(pgid)
    roles = {pid: describe(pid) for pid in before}
    deadline = time.monotonic() + grace
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {pid: start for pid, start in group_members(pgid).items() if before.get(pid) == start}
    roles.update({pid: describe(pid) for pid in left})
    killed = kill_by_id(left)
    return [roles[pid] for pid in before if pid not in killed], [roles[pid] for pid in killed]


class Service:
    """`dossier watch INBOX --out OUT --settle 1 --rescan 2` in its own process group; its output and its
    log events (DOSSIER_EVENT_LOG, one JSON object a line) in files."""

    def __init__(self, inbox: Path, out: Path, logs: Path, run: int) -> None:
        self.out = out
        self.log, self.err = logs / f"service-{run}.out", logs / f"service-{run}.err"
        self.event_log = logs / f"service-{run}.jsonl"
        command = [
            DOSSIER,
            "watch",
            str(inbox),
            "--out",
            str(out),
            "--settle",
            f"{SETTLE:g}",
            "--rescan",
            f"{RESCAN:g}",
        ]
        env = {**os.environ, "DOSSIER_EVENT_LOG": str(self.event_log)}
        with self.log.open("w") as stdout, self.err.open("w") as stderr:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, stdout=stdout, stderr=stderr, env=env, start_new_session=True
            )
        self.pid = self.proc.pid  # also its process group id
        self.started = time.time()
        wait_for(lambda: self.events("watch_started"), START_TIMEOUT, "the service to start", self)

    def events(self, *names: str) -> list[dict[str, Any]]:
        """The watch service's events so far (those named, or all); a line cut short by SIGKILL is skipped."""
        try:
            lines = self.event_log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []
        found = []
        for line in lines:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if event.get("logger") == "dossier.watch" and (not names or event.get("event") in names):
                    found.append(event)
        return found

    def stdout(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self) -> str:
        return f"\n--- {self.log.name} (end) ---\n{self.stdout()[-3000:]}\n--- {self.err.name} (end) ---\n{self.stderr()[-3000:]}"

    def cleanup(self) -> None:
        """Whatever happened: the service and every process of its group are gone afterwards."""
        if self.alive():
            self.proc.kill()
        self.proc.wait()
        kill_by_id(group_members(self.pid))


def wait_for(condition: Callable[[], Any], timeout: float, what: str, service: Service | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if service is not None and not service.alive():
            raise Failure(f"the service exited ({service.proc.returncode}) while waiting for {what}{service.tail()}")
        time.sleep(0.05)
    raise Failure(f"timed out after {timeout:g} s waiting for {what}" + (service.tail() if service else ""))


def outcomes(service: Service) -> Counter[str]:
    """Per report id: how many times this run logged an outcome (a report, or a failure)."""
    return Counter(e["dossier"] for e in service.events(*OUTCOMES))


def skips(services: list[Service]) -> Counter[str]:
    """Per report id: how many times a drop of unchanged content was noticed and skipped."""
    return Counter(e["dossier"] for s in services for e in s.events("dossier_skipped") if e["why"] == "unchanged")


# ---------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------


@dataclass
class Run:
    dossiers: list[Dossier]
    inbox: Path
    out: Path
    side: Path
    logs: Path
    rng: random.Random
    services: list[Service] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    killed: threading.Event = field(default_factory=threading.Event)
    downtime_done: threading.Event = field(default_factory=threading.Event)
    restarted: threading.Event = field(default_factory=threading.Event)
    planned: list[Dossier] = field(default_factory=list)  # dropped again by the writer, once done
    writer_error: list[BaseException] = field(default_factory=list)
    bursts: list[int | str] = field(default_factory=list)  # sizes, and where the kill and restart fell
    redrops: list[Dossier] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)

    def by_name(self, name: str) -> Dossier:
        return next(d for d in self.dossiers if d.name == name)


def choose_redrops(dossiers: list[Dossier]) -> list[Dossier]:
    """The first chunked zip, folder, PDF and DOCX: dropped again, identical bytes, once processed."""
    plans = (
        (lambda d: d.kind == "zip" and d.how == "chunks", "overwrite-chunks"),
        (lambda d: d.kind == "folder", "delete+files"),
        (lambda d: d.kind == "pdf", "delete+copy"),
        (lambda d: d.kind == "docx", "overwrite-copy"),
    )
    chosen = []
    for matches, how in plans:
        d = next((d for d in dossiers if matches(d) and not d.corrupt and d.redrop is None), None)
        if d is not None:
            d.redrop = how
            chosen.append(d)
    return chosen


def writer(run: Run) -> None:
    """The clerk: bursts of 5–10 dossiers with short pauses — about 60 % before the kill, one burst while
    the service is down, the rest after the restart — then the second drops of finished dossiers."""
    try:
        rest = list(run.dossiers)

        def burst(size: int) -> None:
            nonlocal rest
            if size <= 0 or run.stop.is_set():
                return
            now, rest = rest[:size], rest[size:]
            run.bursts.append(size)
            drop_all([(d, d.how) for d in now], run.inbox, run.side, run.rng)

        before_kill = round(len(rest) * 0.6)
        while len(run.dossiers) - len(rest) < before_kill and not run.stop.is_set():
            burst(min(run.rng.randint(5, 10), before_kill - (len(run.dossiers) - len(rest))))
            time.sleep(run.rng.uniform(1.0, 3.0))
        _wait_event(run, run.killed, "the kill")
        run.bursts.append("SIGKILL")
        burst(min(run.rng.randint(3, 6), len(rest) // 2))  # while the service is down
        run.downtime_done.set()
        _wait_event(run, run.restarted, "the restart")
        run.bursts.append("restart")
        while rest and not run.stop.is_set():
            time.sleep(run.rng.uniform(1.0, 3.0))
            burst(min(len(rest), run.rng.randint(5, 10)))
        deadline = time.monotonic() + 600
        while not run.stop.is_set():  # dropped again once processed: done in the registry
            now = states(run.out)
            if all(now.get(d.name) == "done" for d in run.planned):
                break
            if time.monotonic() > deadline:
                raise Failure("the dossiers to drop again were not done within 600 s")
            time.sleep(0.2)
        if not run.stop.is_set():
            drop_all([(d, d.redrop or "") for d in run.planned], run.inbox, run.side, run.rng)
    except BaseException as exc:
        run.writer_error.append(exc)
        run.downtime_done.set()


def _wait_event(run: Run, event: threading.Event, what: str) -> None:
    deadline = time.monotonic() + 900
    while not event.wait(0.2):
        if run.stop.is_set():
            return
        if time.monotonic() > deadline:
            raise Failure(f"the copying waited 900 s for {what}")


def kill_mid_check(run: Run, service: Service, after: int) -> str:
    """SIGKILL the service's main process ~0.1 s into a check, once `after` dossiers are finished."""

    def in_progress() -> tuple[str, float] | None:
        rows = read_registry(run.out)[0]
        if sum(r["state"] in ("done", "failed") for r in rows.values()) < after:
            return None
        for source, row in rows.items():
            if row["state"] == "running":
                age = time.time() - epoch(row["started"])
                if age < 0.2:  # a check takes 0.3 s at least: a kill now lands inside it
                    return source, age
        return None

    deadline = time.monotonic() + 600
    while True:
        found = in_progress()
        if found:
            break
        if not service.alive():
            raise Failure(f"the service exited before it could be killed{service.tail()}")
        if run.writer_error:
            raise run.writer_error[0]
        if time.monotonic() > deadline:
            raise Failure(f"no check in progress to interrupt within 600 s{service.tail()}")
        time.sleep(0.01)
    source, age = found
    time.sleep(max(0.0, 0.1 - age))
    os.kill(service.pid, signal.SIGKILL)  # the main process only, as a crash would
    service.proc.wait()
    return source


@dataclass
class Verdict:
    lines: list[tuple[bool, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # worth a look, not part of the requirement

    def check(self, ok: bool, message: str, detail: str = "") -> bool:
        self.lines.append((ok, message if ok or not detail else f"{message}: {detail}"))
        return ok

    @property
    def failed(self) -> list[str]:
        return [m for ok, m in self.lines if not ok]


def _pad(text: str, width: int) -> str:
    """Left-align in terminal columns: CJK characters take two."""
    shown = sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
    return text + " " * max(0, width - shown)


def _few(items: Any, limit: int = 5) -> str:
    items = list(items)
    return ", ".join(map(str, items[:limit])) + (f" … ({len(items)} in all)" if len(items) > limit else "")


def execute(run: Run, count: int) -> Verdict:
    verdict = Verdict()
    t0 = time.monotonic()
    digests = {d.name: tree_digest(d.staged) for d in run.dossiers}
    if len(set(digests.values())) != count:
        raise Failure("the staged dossiers are not all distinct")
    run.planned = choose_redrops(run.dossiers)
    run.redrops = list(run.planned)

    # -- first run, bursts, SIGKILL -----------------------------------------------------------------
    first = Service(run.inbox, run.out, run.logs, 1)
    run.services.append(first)
    run.times["start1"] = time.monotonic() - t0
    clerk = threading.Thread(target=writer, args=(run,), daemon=True)
    clerk.start()
    interrupted = kill_mid_check(run, first, after=run.rng.randint(max(2, count // 5), max(3, count // 3)))
    run.times["killed"] = time.monotonic() - t0
    run.killed.set()  # the clerk goes on copying while the service is down
    rows_after_kill = read_registry(run.out)[0]
    unfinished = sorted(s for s, r in rows_after_kill.items() if r["state"] in ("queued", "running"))
    done_at_kill = sorted(s for s, r in rows_after_kill.items() if r["state"] in ("done", "failed"))
    verdict.check(
        unfinished == [interrupted],
        f"SIGKILL landed inside the check of {interrupted} (left 'running' in the registry)",
        f"unfinished after the kill: {unfinished}",
    )
    exited, killed = wait_group_gone(first.pid, ORPHAN_GRACE)
    orphans = (exited, killed)
    if killed:
        verdict.warnings.append(
            f"after the SIGKILL, {len(killed)} process(es) of the service were still running {ORPHAN_GRACE:g} s later"
            f" and were killed by pid: {', '.join(killed)} (a real crash would leave them running)"
        )

    # While the service is down: a finished dossier dropped again (the bursts go on meanwhile).
    spare = next(
        (
            run.by_name(s)
            for s in done_at_kill
            if rows_after_kill[s]["state"] == "done" and not run.by_name(s).redrop and not run.by_name(s).corrupt
        ),
        None,
    )
    if spare is not None:
        spare.redrop = "delete+files" if spare.kind == "folder" else "delete+copy"
        spare.dropped_during_downtime = True
        drop(spare, run.inbox, run.side, spare.redrop, run.rng)
        run.redrops.append(spare)
    if not run.downtime_done.wait(300):
        raise Failure("the burst while the service was down did not end within 300 s")
    time.sleep(0.5)

    # -- second run -----------------------------------------------------------------------------------
    second = Service(run.inbox, run.out, run.logs, 2)
    run.services.append(second)
    run.times["start2"] = time.monotonic() - t0
    run.restarted.set()
    clerk.join(timeout=900)
    if clerk.is_alive():
        raise Failure("the copying did not finish within 900 s")
    if run.writer_error:
        raise run.writer_error[0]
    run.times["copied"] = time.monotonic() - t0
    inbox_before = inbox_state(run.inbox)

    names = {d.name for d in run.dossiers}
    redrop_idents = {d.ident for d in run.redrops}

    def finished() -> bool:
        now = states(run.out)
        return all(now.get(n) in ("done", "failed") for n in names)

    def redrops_seen() -> bool:
        return redrop_idents <= set(skips(run.services))

    wait_for(finished, max(600.0, 15.0 * count), f"all {count} dossiers done or failed", second)
    run.times["all_done"] = time.monotonic() - t0
    with contextlib.suppress(Failure):  # the second drops: asserted below
        wait_for(redrops_seen, 30.0, "the second drops to be noticed", second)

    # Idle: nothing more happens over a rescan and a settle.
    quiet_rows, quiet_history = read_registry(run.out)
    time.sleep(RESCAN + SETTLE + 1.0)
    rows, history = read_registry(run.out)
    verdict.check(
        (rows, history) == (quiet_rows, quiet_history),
        f"the service stayed idle over a rescan ({RESCAN:g} s) once all were done",
        "the registry changed",
    )

    # -- SIGTERM --------------------------------------------------------------------------------------
    second.proc.send_signal(signal.SIGTERM)
    try:
        code = second.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        code = None
    run.times["stopped"] = time.monotonic() - t0
    verdict.check(code == 0, "SIGTERM: the service exited with status 0", f"status {code}")
    verdict.check(
        [e["signalled"] for e in second.events("watch_stopped")] == [True],
        "SIGTERM: the service said it stopped on the signal (watch_stopped, signalled)",
    )
    exited2, killed2 = wait_group_gone(second.pid, 10.0)
    verdict.check(not killed2, "SIGTERM: no process of the service left behind", f"killed leftovers {killed2}")
    inbox_after = inbox_state(run.inbox)

    # -- assertions -----------------------------------------------------------------------------------
    rows, history = read_registry(run.out)
    by_source: dict[str, list[dict[str, Any]]] = {}
    for h in history:
        by_source.setdefault(h["source"], []).append(h)
    verdict.check(len(rows) == count, f"{count} registry rows", f"{len(rows)} rows")
    verdict.check(set(rows) == names, "one registry row per dossier dropped, no other", _few(set(rows) ^ names))
    ids = [r["id"] for r in rows.values()]
    verdict.check(len(set(ids)) == len(ids), "no report id used twice")
    wrong_ids = [s for s, r in rows.items() if s in names and r["id"] != run.by_name(s).ident]
    verdict.check(not wrong_ids, "every id is the source's name (CONTRACT.md), no -2", _few(wrong_ids))
    unsettled = [s for s, r in rows.items() if r["state"] not in ("done", "failed")]
    verdict.check(not unsettled, "every row done or failed", _few(unsettled))

    missing_report = [
        s for s, r in rows.items() if r["state"] == "done" and not (run.out / r["id"] / "report.json").is_file()
    ]
    verdict.check(not missing_report, "every done row has OUT/<id>/report.json", _few(missing_report))
    wrong_report = []
    for s, r in rows.items():
        if r["state"] == "done" and (run.out / r["id"] / "report.json").is_file():
            report = json.loads((run.out / r["id"] / "report.json").read_text(encoding="utf-8"))
            if report["dossier"]["id"] != r["id"] or report["dossier"]["source"] != s:
                wrong_report.append(s)
            if r["report"] != f"{r['id']}/report.json" or (run.out / "failed" / r["id"]).exists():
                wrong_report.append(s)
    verdict.check(
        not wrong_report, "each report.json names its dossier; no failed/ entry beside it", _few(wrong_report)
    )
    missing_reason = []
    for s, r in rows.items():
        reason = run.out / "failed" / r["id"] / "reason.txt"
        if r["state"] == "failed" and (
            not reason.is_file()
            or reason.read_text(encoding="utf-8").splitlines()[0] != s
            or (run.out / r["id"]).exists()
        ):
            missing_reason.append(s)
    verdict.check(
        not missing_reason, "every failed row has OUT/failed/<id>/reason.txt and no report", _few(missing_reason)
    )

    own = {"failed", "summary.json", "summary.xlsx", "registry.lock", "registry.sqlite3"}
    own |= {"registry.sqlite3-wal", "registry.sqlite3-shm"}
    done_ids = {r["id"] for r in rows.values() if r["state"] == "done"}
    failed_ids = {r["id"] for r in rows.values() if r["state"] == "failed"}
    strays = sorted(p.name for p in run.out.iterdir() if p.name not in own and p.name not in done_ids)
    verdict.check(not strays, "no report folder (or anything else) in OUT without a done registry row", _few(strays))
    failed_dir = run.out / "failed"
    stray_failed = (
        sorted(p.name for p in failed_dir.iterdir() if p.name not in failed_ids) if failed_dir.is_dir() else []
    )
    verdict.check(not stray_failed, "no failed/<id> without a failed registry row", _few(stray_failed))

    several = sorted(s for s, h in by_source.items() if len(h) != 1)
    verdict.check(not several, "one history row per source: each content checked once", _few(several))
    verdict.check(set(by_source) == names, "history lists exactly the dossiers dropped", _few(set(by_source) ^ names))
    drifted = sorted(s for s, h in by_source.items() if s in rows and any(x["hash"] != rows[s]["hash"] for x in h))
    distinct = len({r["hash"] for r in rows.values()}) == len(rows)
    verdict.check(not drifted and distinct, "one content hash per source, all distinct", _few(drifted))
    partial = []
    for d in run.dossiers:
        row = rows.get(d.name)
        if d.corrupt or not row or row["state"] != "done":
            continue
        report = json.loads((run.out / d.ident / "report.json").read_text(encoding="utf-8"))
        read = Counter(f["sha256"] for f in report["dossier"]["files"])
        whole = Counter(file_hashes(d.staged))
        if not read <= whole or sum(read.values()) + len(report["dossier"].get("skipped") or []) != sum(whole.values()):
            partial.append(d.name)
    stale = []
    for d in run.dossiers:
        row = rows.get(d.name)
        if row and row["state"] == "done" and (run.out / d.ident / "report.json").is_file():
            report = json.loads((run.out / d.ident / "report.json").read_text(encoding="utf-8"))
            if epoch(report["dossier"]["checked_at"]) < int(d.last_write) - 1:
                stale.append(f"{d.name} checked_at {report['dossier']['checked_at']}")
    verdict.check(not stale, "every report was made after its dossier arrived (checked_at)", _few(stale, 3))
    verdict.check(
        not partial, "each report read the complete files (SHA-256 as staged): nothing half-written", _few(partial)
    )
    early = sorted(
        s
        for s, h in by_source.items()
        if s in names and not epoch(h[0]["started"]) >= run.by_name(s).last_write + SETTLE - 0.1
    )
    verdict.check(not early, f"every check started ≥ {SETTLE:g} s after the dossier's last write", _few(early))
    twins = sorted(s for s, r in rows.items() if r["duplicate_of"])
    verdict.check(not twins, "no dossier registered as a duplicate of another", _few(twins))
    attempts = {s: r["attempts"] for s, r in rows.items()}
    wrong_attempts = sorted(s for s, a in attempts.items() if a != (2 if s == interrupted else 1))
    verdict.check(
        not wrong_attempts,
        "attempts 1 for every dossier, 2 for the one killed mid-check",
        ", ".join(f"{s}={attempts[s]}" for s in wrong_attempts[:5]),
    )
    consistent = all(
        by_source[s][0]["state"] == r["state"] and by_source[s][0]["attempts"] == r["attempts"]
        for s, r in rows.items()
        if s in by_source
    )
    verdict.check(consistent, "history rows agree with the dossiers rows (state, attempts)")

    # Log events: one outcome per dossier over both runs.
    first_counts, second_counts = outcomes(first), outcomes(second)
    total = first_counts + second_counts
    expected_ids = {d.ident for d in run.dossiers}
    wrong_lines = sorted(i for i in expected_ids | set(total) if total[i] != 1)
    verdict.check(
        not wrong_lines,
        "exactly one outcome event (dossier_checked or dossier_failed) per dossier over both runs",
        ", ".join(f"{i}×{total[i]}" for i in wrong_lines[:5]),
    )
    killed_ident = run.by_name(interrupted).ident
    verdict.check(
        first_counts[killed_ident] == 0 and second_counts[killed_ident] == 1,
        f"the killed dossier ({interrupted}) got its result after the restart, once",
        f"before the kill {first_counts[killed_ident]}, after {second_counts[killed_ident]}",
    )
    resumed = [source for e in second.events("watch_resumed") for source in e["sources"]]
    verdict.check(
        interrupted in resumed,
        "the restarted service said it checks the interrupted dossier again (watch_resumed)",
        _few(resumed),
    )
    for d in sorted(run.dossiers, key=lambda d: d.name):
        if d.name == interrupted and d.name in rows and rows[d.name]["state"] == "done":
            report = json.loads((run.out / d.ident / "report.json").read_text(encoding="utf-8"))
            checked = epoch(report["dossier"]["checked_at"])
            verdict.check(
                checked >= second.started - 1.0,
                "the killed dossier's report is the one written after the restart",
                report["dossier"]["checked_at"],
            )
    again_checked = sorted(d.name for d in run.redrops if total[d.ident] != 1 or len(by_source.get(d.name, [])) != 1)
    verdict.check(
        not again_checked,
        f"the {len(run.redrops)} dossiers dropped twice were checked once (history and events)",
        _few(again_checked),
    )
    skip_counts = skips(run.services)
    unseen = sorted(d.name for d in run.redrops if skip_counts[d.ident] < 1)
    verdict.check(not unseen, "each second drop was noticed and skipped as unchanged (dossier_skipped)", _few(unseen))
    other_skips = sorted(i for i in skip_counts if i not in redrop_idents)
    verdict.check(not other_skips, "no skip event for a dossier dropped once", _few(other_skips))

    summary = json.loads((run.out / "summary.json").read_text(encoding="utf-8"))["dossiers"]
    verdict.check(len(summary) == count, f"summary.json has {count} rows", f"{len(summary)} rows")
    summary_ids = Counter(r["id"] for r in summary)
    verdict.check(
        set(summary_ids) == expected_ids and max(summary_ids.values(), default=0) == 1,
        "summary.json lists each dossier once",
        _few(set(summary_ids) ^ expected_ids),
    )
    wrong_verdicts = [
        r["id"] for r in summary if (r["verdict"] == "failed") != (r["id"] in failed_ids) or r["source"] not in names
    ]
    verdict.check(not wrong_verdicts, "summary.json verdicts agree with the registry", _few(wrong_verdicts))
    verdict.check(not (run.out / ".staging").exists(), "no OUT/.staging left after the stop")

    changed_files = sorted(
        k for k in inbox_before.keys() | inbox_after.keys() if inbox_before.get(k) != inbox_after.get(k)
    )
    verdict.check(
        not changed_files, "inbox unchanged while checked (size, mtime, SHA-256 of every file)", _few(changed_files)
    )
    children = sorted(p.name for p in run.inbox.iterdir())
    altered = sorted(n for n in names if not (run.inbox / n).exists() or tree_digest(run.inbox / n) != digests[n])
    verdict.check(
        children == sorted(names) and not altered, "inbox holds exactly the dossiers, bytes as copied", _few(altered)
    )
    tracebacks = [s.err.name for s in run.services if "Traceback" in s.stderr()]
    verdict.check(not tracebacks, "no traceback in the service's stderr", _few(tracebacks))

    run.times["wall"] = time.monotonic() - t0
    report_table(run, rows, interrupted, done_at_kill, orphans, (exited2, killed2), spare)
    return verdict


def report_table(
    run: Run,
    rows: dict[str, dict[str, Any]],
    interrupted: str,
    done_at_kill: list[str],
    orphans: tuple[list[str], list[str]],
    after_stop: tuple[list[str], list[str]],
    spare: Dossier | None,
) -> None:
    t = run.times
    print(
        f"\n{len(run.dossiers)} dossiers in bursts of {' '.join(map(str, run.bursts))}; settle {SETTLE:g} s, rescan {RESCAN:g} s"
    )
    print(f"{'kind':<7} {'dropped':>7} {'report':>7} {'failed':>7} {'twice':>6}  how dropped")
    for kind in ("folder", "zip", "pdf", "docx"):
        group = [d for d in run.dossiers if d.kind == kind]
        hows = Counter(d.how for d in group)
        print(
            f"{kind:<7} {len(group):>7} {sum(rows.get(d.name, {}).get('state') == 'done' for d in group):>7}"
            f" {sum(rows.get(d.name, {}).get('state') == 'failed' for d in group):>7}"
            f" {sum(bool(d.redrop) for d in group):>6}  {', '.join(f'{h} {n}' for h, n in sorted(hows.items()))}"
        )
    width = max(sum(2 if ord(ch) > 0x2E7F else 1 for ch in d.name) for d in run.dossiers) + 2

    def line(d: Dossier, note: str) -> None:
        row = rows.get(d.name, {})
        print(
            f"  {_pad(d.name, width)} {row.get('state', '—'):<7} attempts {row.get('attempts', '—')}  "
            f"history {sum(h['source'] == d.name for h in read_registry(run.out)[1])}  {note}"
        )

    print("special cases:")
    killed = run.by_name(interrupted)
    line(killed, f"SIGKILLed mid-check at {t['killed']:.1f} s ({len(done_at_kill)} finished before), checked again")
    corrupt = next(d for d in run.dossiers if d.corrupt)
    row = rows.get(corrupt.name, {})
    if row.get("state") == "done":
        report = json.loads((run.out / corrupt.ident / "report.json").read_text(encoding="utf-8"))
        codes = [f["message"] for f in report["findings"] if f["code"] == "FILE_UNREADABLE"]
        outcome = f"corrupt → report, verdict {report['verdict']}, FILE_UNREADABLE: {_few(codes, 2)}"
    else:
        outcome = f"corrupt → failed: {row.get('error')}"
    line(corrupt, outcome)
    for d in run.redrops:
        when = "while the service was down" if d.dropped_during_downtime else "after it was done"
        line(d, f"dropped again ({d.redrop}) {when}: skipped as unchanged")
    exited, killed_pids = orphans
    print(
        f"after the SIGKILL: exited on their own within {ORPHAN_GRACE:g} s: {_few(exited, 9) or 'none'};"
        f" killed by pid: {_few(killed_pids, 9) or 'none'}"
    )
    print(f"after SIGTERM: exited: {_few(after_stop[0], 9) or 'none'}; killed: {_few(after_stop[1], 9) or 'none'}")
    print(
        f"times: service up {t['start1']:.1f} s, SIGKILL {t['killed']:.1f} s, restarted {t['start2']:.1f} s, "
        f"copying over {t['copied']:.1f} s, all done {t['all_done']:.1f} s, stopped {t['stopped']:.1f} s"
    )
    if spare is None:
        print("(no finished dossier to drop again while the service was down)")


@pytest.mark.slow
def test_fifty_dossiers_in_bursts_across_a_sigkill(tmp_path: Path) -> None:
    count = int(os.environ.get("ACCEPTANCE_COUNT", "50"))
    assert count >= 8, "ACCEPTANCE_COUNT must be at least 8"
    seed = int(os.environ.get("ACCEPTANCE_SEED") or random.randrange(1 << 16))
    started = time.monotonic()
    staging, inbox, out, side, logs = (tmp_path / n for n in ("staging", "inbox", "out", "side", "logs"))
    for folder in (staging, inbox, side, logs):
        folder.mkdir()
    print(f"\nwatch acceptance: {count} dossiers, seed {seed} (ACCEPTANCE_SEED), in {tmp_path}")
    run = Run(build(staging, count), inbox, out, side, logs, random.Random(seed))
    try:
        verdict = execute(run, count)
    finally:
        run.stop.set()
        for service in run.services:
            service.cleanup()
    print("\nassertions:")
    for ok, message in verdict.lines:
        print(f"  {'ok  ' if ok else 'FAIL'} {message}")
    for message in verdict.warnings:
        print(f"  WARN {message}")
    wall = time.monotonic() - started
    assert not verdict.failed, (
        f"{len(verdict.failed)} failed after {wall:.1f} s (seed {seed}, folders in {tmp_path}):\n"
        + "\n".join(verdict.failed)
    )
    print(
        f"\nPASSED: {count} dossiers, each reported or failed once, across a SIGKILL and a restart; wall {wall:.1f} s"
    )
