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
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import hashlib
import json
import os
import queue
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from core.names import shown, terminal_safe
from extractors.sandbox import DEFAULT_TIMEOUT, default_workers
from pipeline.intake import is_junk
from pipeline.registry import FILENAME as REGISTRY_FILE
from pipeline.registry import Registry, Row
from pipeline.ruleset import DEFAULT_RULESET, RulesetError, load_ruleset

EXIT_OK, EXIT_USAGE = 0, 2
TICK = 0.2  # how often pending dossiers are looked at: bounds the latency after settling
MAX_ATTEMPTS = 3  # a dossier whose check was interrupted this often is failed, not retried forever
STAGING, FAILED, LOCK = ".staging", "failed", "registry.lock"
# Names OUT uses itself: a dossier called `failed` or `summary.json` gets `-2`.
RESERVED_IDS = (FAILED, "summary.json", "summary.xlsx", REGISTRY_FILE, LOCK)

# A checker checks one dossier and writes OUT/<ident>/report.* (report.json among them); it returns the
# summary.json row, and raises (or returns a row with verdict "failed") when the dossier cannot be checked.
Checker = Callable[[Path, str, Path], dict[str, Any]]

# One dossier's state on disk: (relative path, kind, size, mtime in ns) of each of its files.
Snapshot = tuple[tuple[str, str, int, int], ...]


# ---------------------------------------------------------------------------------------------------
# Checking one dossier
# ---------------------------------------------------------------------------------------------------


@contextmanager
def open_checker(ruleset_ref: str, formats: Sequence[str], timeout: float, workers: int) -> Iterator[Checker]:
    """The checker the service calls: a run of the `check_dossiers` flow (flows/check.py) per dossier, so
    the watch service checks exactly as `dossier batch` does and, with PREFECT_API_URL set, its runs show
    in that server's UI. Worker processes stay warm for the whole service.

    The flow runs on a thread of its own: Prefect turns SIGTERM into an exception inside a flow run on the
    main thread, which would abandon the dossier in hand instead of finishing it.
    """
    load_ruleset(ruleset_ref)  # a bad ruleset stops the service before anything starts
    from flows.server import start_server, temporary_api_url

    start_server()  # from the main thread: the server dies with it
    from flows.check import run_check_dossiers
    from pipeline.runner import pools_in_use, resolve_ruleset, ruleset_for, shared_pool

    ruleset_ref = resolve_ruleset(ruleset_ref)  # as the flow names it: loaded once

    def check(child: Path, ident: str, out: Path) -> dict[str, Any]:
        only = {ident: shown(child.name)}
        run = partial(run_check_dossiers, child.parent, out, ruleset_ref, formats, workers, timeout, only=only)
        return flow_thread.submit(run, summary=False).result()[0]

    with pools_in_use(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="flow") as flow_thread:
        shared_pool(workers, timeout)  # the workers start now, while Prefect does
        ruleset_for(ruleset_ref)  # and jieba's dictionary loads
        temporary_api_url()  # the service says it is watching once a dossier need not wait for Prefect
        with tempfile.TemporaryDirectory(prefix="dossier-watch-") as empty:  # a first flow run, of nothing:
            warm_up = partial(run_check_dossiers, Path(empty), Path(empty), ruleset_ref, formats, workers, timeout)
            flow_thread.submit(warm_up, only={}, summary=False).result()  # Prefect's first-run costs go here
        yield check


class CheckFailed(Exception):
    """The checker returned a failed row instead of raising."""


def _reason(exc: BaseException) -> str:
    """Why a dossier could not be checked, for the clerk."""
    if isinstance(exc, CheckFailed):
        return str(exc)  # the flow's own wording
    from pipeline.runner import failure_reason

    return failure_reason(exc)


# ---------------------------------------------------------------------------------------------------
# Settling: sizes and mtimes, unchanged for a while
# ---------------------------------------------------------------------------------------------------


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "f"
    if stat.S_ISDIR(mode):
        return "d"
    if stat.S_ISLNK(mode):
        return "l"
    return "x"  # FIFO, socket, device


def snapshot(path: Path) -> Snapshot | None:
    """Sizes and mtimes of every file of a dossier; None when it is gone."""
    try:
        st = path.lstat()  # a link is not followed (intake refuses it, and the report says so)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return (("", _kind(st.st_mode), st.st_size, st.st_mtime_ns),)
    entries: list[tuple[str, str, int, int]] = []
    for folder, dirnames, filenames in os.walk(path, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(folder, name)
            try:
                fst = os.lstat(full)
            except OSError:
                continue  # removed while walking; the next look sees the new state
            entries.append((os.path.relpath(full, path), _kind(fst.st_mode), fst.st_size, fst.st_mtime_ns))
    return tuple(entries)


def signature(snap: Snapshot) -> str:
    return hashlib.sha256(repr(snap).encode()).hexdigest()


def has_content(snap: Snapshot) -> bool:
    """A folder just created holds nothing yet: wait for its files before checking it."""
    return any(rel == "" or not is_junk(rel.replace(os.sep, "/")) for rel, *_ in snap)


class SettleTracker:
    """A dossier is settled once its snapshot stayed the same for `delay` seconds of observation.

    Observation time, not file mtimes: copy tools keep the source's mtimes, so a half-copied file
    can look old. Times are the caller's (time.monotonic() in the service), so tests feed fakes.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._since: dict[str, tuple[Snapshot, float]] = {}

    def observe(self, name: str, snap: Snapshot, now: float) -> bool:
        """Record what `name` looks like at `now`; True once it has not changed for `delay` seconds."""
        previous = self._since.get(name)
        if previous is None or previous[0] != snap:
            self._since[name] = (snap, now)
            return self.delay <= 0
        return now - previous[1] >= self.delay

    def forget(self, name: str) -> None:
        self._since.pop(name, None)

    def __contains__(self, name: str) -> bool:
        return name in self._since


def registry_hash(path: Path) -> str:
    """The content hash (equal for equal content under any name); a dossier whose bytes cannot be read
    hashes its sizes and mtimes instead, so it is registered, and fails, like any other."""
    from pipeline.runner import content_hash

    try:
        return content_hash(path)
    except OSError:
        return "unreadable:" + signature(snapshot(path) or ())


# ---------------------------------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------------------------------


def _stamp() -> str:
    return time.strftime("%H:%M:%S")


def say(line: str) -> None:
    print(f"[{_stamp()}] {terminal_safe(line)}", flush=True)


def warn(line: str) -> None:
    print(f"[{_stamp()}] {terminal_safe(line)}", file=sys.stderr, flush=True)


class _StopFlag:
    """Set by SIGTERM/SIGINT; the loop looks at it between dossiers. A second signal interrupts at once."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True  # no printing here: a signal can land inside another print


@dataclass
class Counts:
    checked: int = 0
    failed: int = 0
    skipped: int = 0


class WatchService:
    def __init__(self, inbox: Path, out: Path, registry: Registry, checker: Checker, settle: float) -> None:
        self.inbox = inbox
        self.out = out
        self.registry = registry
        self.checker = checker
        self.tracker = SettleTracker(settle)
        self.counts = Counts()
        self.stop = _StopFlag()
        self._names: dict[str, str] = {}  # a child's key (its name shown safely) → its name on disk

    # -- inbox -------------------------------------------------------------------------------------

    def key(self, name: str) -> str:
        """The name the registry, the reports and the terminal know a child by: shown safely (a name may
        hold bytes that are not UTF-8, which SQLite cannot store, or control characters)."""
        key = shown(name)
        self._names[key] = name
        return key

    def path(self, key: str) -> Path:
        return self.inbox / self._names.get(key, key)

    def candidate(self, key: str) -> bool:
        """A direct child of the inbox that is a dossier: not junk, not our own output folder."""
        if not key or is_junk(key):
            return False
        child = self.path(key)
        return not (child == self.out or child in self.out.parents)

    def children(self) -> list[str]:
        try:
            names = sorted(p.name for p in self.inbox.iterdir())
        except OSError as exc:  # a network share gone for a moment: try again at the next rescan
            warn(f"无法读取收件箱 {self.inbox}：{exc}")
            return []
        return [key for key in map(self.key, names) if self.candidate(key)]

    # -- start-up ------------------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Clear half-written reports; fail what vanished or kept crashing; return what to check again."""
        shutil.rmtree(self.out / STAGING, ignore_errors=True)
        self.children()  # the names on disk of the keys the registry holds
        again: list[str] = []
        for row in self.registry.unfinished():
            if snapshot(self.path(row.source)) is None:
                self._fail(row.source, row.id, "处理失败：服务重启后，该申报材料已不在收件箱中", None)
            elif row.state == "running" and row.attempts >= MAX_ATTEMPTS:
                reason = f"处理失败：已尝试 {row.attempts} 次，每次处理中服务都中断（崩溃或被终止），不再自动重试"
                self._fail(row.source, row.id, reason, None)
            else:
                again.append(row.source)
        if again:
            say(f"上次中断时未处理完的申报材料将重新检查：{'、'.join(again)}")
        return again

    def _resumable(self, row: Row | None, sig: str) -> bool:
        # Interrupted by a crash after it had settled, and untouched since: no need to wait again.
        return row is not None and row.state in ("queued", "running") and row.signature == sig

    # -- one dossier ---------------------------------------------------------------------------------

    def handle(self, name: str, snap: Snapshot) -> bool:
        """Hash, register and (if new or changed) check one settled dossier. False: it changed meanwhile."""
        from pipeline.batch import summary_line
        from pipeline.dossier import dossier_id

        path = self.path(name)
        sig = signature(snap)
        digest = registry_hash(path)
        if snapshot(path) != snap:
            return False  # written to while we hashed: let it settle again
        decision = self.registry.seen(name, digest, sig, base_id=dossier_id(name))
        ident = decision.ident
        if not decision.check:
            self.counts.skipped += 1
            if decision.reason == "unchanged":
                say(f"{ident}：内容与已检查的相同，不再重复检查（报告：{ident}/report.html）")
            else:
                warn(
                    f"{ident}：内容与上次处理失败时相同，不再重试（原因见 {FAILED}/{ident}/reason.txt；重新放入即可重试）"
                )
            return True
        self.registry.start(name)
        began, started = dt.datetime.now(dt.UTC).replace(microsecond=0), time.perf_counter()
        staging = self.out / STAGING / "new"
        shutil.rmtree(staging / ident, ignore_errors=True)
        try:
            row = self.checker(path, ident, staging)
            if row.get("verdict") == "failed":
                raise CheckFailed(str(row.get("failure") or "处理失败：未知原因"))
            report = json.loads((staging / ident / "report.json").read_text(encoding="utf-8"))
            self._publish(staging / ident, self.out / ident)
            shutil.rmtree(self.out / FAILED / ident, ignore_errors=True)  # an older content had failed
            self.registry.finish(name, f"{ident}/report.json", row)
        except Exception as exc:  # one dossier's failure must not stop the service
            reason = _reason(exc)
            details = _read(staging / ident / "error.txt") or traceback.format_exc()
            shutil.rmtree(staging / ident, ignore_errors=True)
            self._fail(name, ident, reason, details)
            self.counts.failed += 1
            warn(f"{ident}：{reason}（见 {FAILED}/{ident}/reason.txt）  [{time.perf_counter() - started:.1f} 秒]")
            self.write_summary()
            return True
        self.counts.checked += 1
        line = summary_line(report)
        if decision.reason == "changed":
            line += "（内容有变化，已重新检查）"
        elif decision.reason == "retry":
            line += "（已重新检查）"
        if decision.duplicate_of:
            line += f"（与「{decision.duplicate_of}」内容相同）"
        if (checked := checked_at(report)) and checked < began:  # served from the flow's cache
            line += f"（与 {checked:%Y-%m-%d %H:%M} 检查过的内容相同，沿用该次结果）"
        say(f"{line}  [{time.perf_counter() - started:.1f} 秒]")
        self.write_summary()
        return True

    def _publish(self, new: Path, final: Path) -> None:
        """Swap the new report folder in: a reader sees the old folder or the new, never half of one."""
        old = self.out / STAGING / "old" / final.name
        shutil.rmtree(old, ignore_errors=True)
        old.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            final.rename(old)
        new.rename(final)
        shutil.rmtree(old, ignore_errors=True)

    def _fail(self, name: str, ident: str, reason: str, details: str | None) -> None:
        from pipeline.reports import failed_row

        shutil.rmtree(self.out / ident, ignore_errors=True)  # a report of older content would mislead
        folder = self.out / FAILED / ident
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "reason.txt").write_text(f"{name}\n{reason}\n", encoding="utf-8")
        if details:
            (folder / "error.txt").write_text(details, encoding="utf-8")
        self.registry.fail(name, reason, failed_row(ident, name, reason))

    def write_summary(self) -> None:
        from pipeline.reports import write_summary

        try:
            write_summary(self.registry.summary_rows(), self.out)
        except Exception as exc:  # e.g. summary.xlsx open in Excel on a share: try again next time
            warn(f"无法更新汇总表：{type(exc).__name__}: {exc}")

    # -- runs -------------------------------------------------------------------------------------

    def run_once(self) -> None:
        """Everything present now, as if settled (a clerk runs --once deliberately)."""
        for name in self.children():
            if self.stop.requested:
                break
            snap = snapshot(self.path(name))
            if snap is None or signature(snap) == self.registry.signature(name):
                continue  # gone, or handled and untouched since
            for _ in range(3):
                if snap is None or self.handle(name, snap):
                    break
                snap = snapshot(self.path(name))  # written to while we hashed it
            else:
                warn(f"{name}：仍在写入，本次未处理（下次运行时处理）")

    def run(self, rescan: float, polling: bool) -> None:
        """Until SIGTERM/SIGINT: events and rescans make dossiers pending; settled ones are checked."""
        events: queue.SimpleQueue[str] = queue.SimpleQueue()
        observer = _start_observer(self.inbox, events, polling)
        pending: set[str] = set(self.children())
        next_rescan = time.monotonic() + rescan
        try:
            while not self.stop.requested:
                try:  # wake at once on an event, else look again after a tick
                    pending.add(self.key(events.get(timeout=TICK if pending else min(1.0, rescan))))
                    while True:
                        pending.add(self.key(events.get_nowait()))
                except queue.Empty:
                    pass
                if time.monotonic() >= next_rescan:
                    pending.update(self.children())  # events are lost on network shares
                    next_rescan = time.monotonic() + rescan
                for name in sorted(pending):
                    if self.stop.requested:
                        break
                    if self._look_at(name):
                        pending.discard(name)
        finally:
            observer.stop()
            observer.join(timeout=5)

    def _look_at(self, name: str) -> bool:
        """Take one look at a pending dossier; True when it needs no more looks for now."""
        if not self.candidate(name):
            return True
        path = self.path(name)
        snap = snapshot(path)
        if snap is None:
            self.tracker.forget(name)
            return True
        sig = signature(snap)
        if sig == self.registry.signature(name) or not has_content(snap):
            self.tracker.forget(name)  # handled and untouched since / an empty folder: an event brings it back
            return True
        resumable = self._resumable(self.registry.get(name), sig)
        if not (resumable or self.tracker.observe(name, snap, time.monotonic())):
            return False
        self.tracker.forget(name)
        try:
            return self.handle(name, snap)
        except Exception as exc:  # the registry or OUT failing: report it, try again at the next rescan
            warn(f"{name}：处理时出错：{type(exc).__name__}: {exc}")
            traceback.print_exc(file=sys.stderr)
            return True


def checked_at(report: dict[str, Any]) -> dt.datetime | None:
    """When the report's check ran (CONTRACT.md: `dossier.checked_at`), None where it does not say."""
    try:
        checked = dt.datetime.fromisoformat(str(report.get("dossier", {}).get("checked_at")))
    except ValueError:
        return None
    return checked if checked.tzinfo else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


class _Events:
    """watchdog handler: the inbox child an event concerns goes to the queue."""

    def __init__(self, inbox: Path, sink: queue.SimpleQueue[str]) -> None:
        self.inbox = str(inbox)
        self.sink = sink

    def dispatch(self, event: Any) -> None:
        # Our own reading opens files: those events say nothing new.
        if event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(raw) if raw else ""
            rel = os.path.relpath(path, self.inbox) if path else ""
            if rel and rel != "." and not rel.startswith(".."):
                self.sink.put(rel.split(os.sep, 1)[0])


def _start_observer(inbox: Path, sink: queue.SimpleQueue[str], polling: bool) -> Any:
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    handler = _Events(inbox, sink)
    if not polling:
        try:
            observer = Observer()
            observer.schedule(handler, str(inbox), recursive=True)  # type: ignore[arg-type]
            observer.start()
            return observer
        except OSError as exc:  # inotify watches exhausted, unsupported file system …
            warn(f"无法使用文件系统事件（{exc}），改用轮询")
    observer = PollingObserver(timeout=1.0)
    observer.schedule(handler, str(inbox), recursive=True)  # type: ignore[arg-type]
    observer.start()
    return observer


# ---------------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------------


def _protect_workers() -> None:
    """Start the workers' fork server with SIGINT/SIGTERM ignored, which its workers inherit.

    Ctrl-C in a terminal (and systemd's stop) signals the whole process group: the workers must keep
    reading the dossier in hand while the service finishes it, or its files would be reported unreadable.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    from multiprocessing import forkserver

    from extractors.sandbox import mp_context

    mp_context()  # the fork server's preload list
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        forkserver.ensure_running()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _single_instance(out: Path) -> Iterator[bool]:
    """One service per OUT (the lock dies with the process, kill -9 included)."""
    with (out / LOCK).open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True


def watch(
    inbox: Path,
    out: Path,
    once: bool = False,
    settle: float = 5.0,
    rescan: float = 30.0,
    polling: bool = False,
    *,
    formats: Sequence[str] = ("json", "html"),
    ruleset: str = DEFAULT_RULESET,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """Run the watch service (or one pass with `once`); 0, or 2 for bad arguments."""
    inbox, out = Path(inbox).resolve(), Path(out).resolve()
    if not inbox.is_dir():
        warn(f"错误：找不到收件箱目录：{inbox}")
        return EXIT_USAGE
    if inbox == out:
        warn("错误：输出目录不能是收件箱本身")
        return EXIT_USAGE
    formats = ["json", *[f for f in formats if f != "json"]]  # report.json: the log line and the registry
    out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if not stack.enter_context(_single_instance(out)):
            warn(f"错误：已有监视服务在使用输出目录 {out}")
            return EXIT_USAGE
        _protect_workers()
        try:
            checker = stack.enter_context(open_checker(ruleset, formats, timeout, workers or default_workers()))
        except RulesetError as exc:
            warn(f"错误：{exc}")
            return EXIT_USAGE
        registry = stack.enter_context(Registry(out / REGISTRY_FILE, RESERVED_IDS))
        service = WatchService(inbox, out, registry, checker, settle)
        stack.callback(_restore, _install(service.stop))
        return _serve(service, once, settle, rescan, polling)
    return EXIT_OK  # unreachable; keeps type checkers content


def _serve(service: WatchService, once: bool, settle: float, rescan: float, polling: bool) -> int:
    how = (
        "单次处理"
        if once
        else f"稳定等待 {settle:g} 秒，每 {rescan:g} 秒全盘扫描，{'轮询' if polling else '文件系统事件'}"
    )
    say(f"开始监视收件箱 {service.inbox} → {service.out}（{how}）")
    service.recover()
    service.write_summary()
    if once:
        service.run_once()
    else:
        service.run(rescan, polling)
    service.write_summary()
    shutil.rmtree(service.out / STAGING, ignore_errors=True)
    counts = service.counts
    why = "收到停止信号，" if service.stop.requested else ""
    say(
        f"{why}已停止监视：检查 {counts.checked} 个，处理失败 {counts.failed} 个，未变化跳过 {counts.skipped} 个；"
        f"汇总：{service.out / 'summary.json'}"
    )
    return EXIT_OK


def _install(stop: _StopFlag) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals reach only the main thread; an embedding caller stops us otherwise
    return {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(handlers: dict[int, Any]) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def _configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("inbox", help="收件箱目录：每个直接子项（文件夹、zip、单个文件）是一个申报材料包")
    parser.add_argument(
        "--out", required=True, help="输出目录：<材料包>/report.*、summary.json/.xlsx、registry.sqlite3"
    )
    parser.add_argument("--once", action="store_true", help="处理当前已有的材料包后退出（不等待稳定）")
    parser.add_argument(
        "--settle", type=float, default=5.0, help="材料包大小和修改时间保持不变多少秒后才读取（默认 5）"
    )
    parser.add_argument("--rescan", type=float, default=30.0, help="每隔多少秒全盘扫描一次收件箱（默认 30）")
    parser.add_argument("--polling", action="store_true", help="用轮询代替文件系统事件（网络共享目录）")
    parser.add_argument("--format", default="json,html", help="报告格式，逗号分隔：json,html,md,docx")
    parser.add_argument("--ruleset", default=DEFAULT_RULESET, help="规则集编号或 YAML 文件路径")
    parser.add_argument("--workers", type=int, default=default_workers(), help="并行读取文件的进程数")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="单个文件或扫描页的处理时限（秒）")
    parser.set_defaults(run=cmd_watch)
    return parser


def add_watch_parser(sub: Any) -> argparse.ArgumentParser:
    """Register `dossier watch` on the CLI's subparsers."""
    return _configure(sub.add_parser("watch", help="监视收件箱：新到且已稳定的材料包自动检查"))


def cmd_watch(args: argparse.Namespace) -> int:
    from pipeline.reports import FORMATS

    formats = [f.strip().lower() for f in str(args.format).split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        warn(f"错误：不支持的报告格式：{','.join(unknown) or args.format}（可选：{','.join(FORMATS)}）")
        return EXIT_USAGE
    if args.settle < 0 or args.rescan <= 0:
        warn("错误：--settle 不能为负数，--rescan 必须大于 0")
        return EXIT_USAGE
    try:
        return watch(
            Path(args.inbox),
            Path(args.out),
            once=args.once,
            settle=args.settle,
            rescan=args.rescan,
            polling=args.polling,
            formats=formats,
            ruleset=args.ruleset,
            workers=args.workers,
            timeout=args.timeout,
        )
    except KeyboardInterrupt:  # a second Ctrl-C: the dossier in hand is checked again at the next start
        warn("已中断")
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = _configure(
        argparse.ArgumentParser(prog="dossier watch", description="山东省特色产业集群申报材料：监视收件箱")
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 on bad arguments, 0 on --help
        return int(exc.code or 0)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
