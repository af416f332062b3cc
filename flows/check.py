"""`check_dossiers`: the Prefect flow behind `dossier batch` — one task per dossier.

The work lives in plain functions (`check_one`, `dossier_hash`, `run_one`); the task and the flow only
add what Prefect is for: retries of transient errors, a per-dossier time limit, a cache keyed by the
dossier's content, parallel dossiers on threads (default) or on a Dask cluster (`--dask-address`).

Threads and worker processes: every task of a process shares one `ExtractionPool` of `workers`
processes, behind a lock (the pool is not thread-safe). `--workers` thus stays what it was for the plain
batch — the number of reading processes — and with two dossiers in flight one is judged (in this
process) while the other's files are read (in the pool), which is what the plain batch's prefetch does.

Without PREFECT_API_URL, Prefect starts a temporary local server for the run (several seconds on two
cores); with it, the runs show in that server's UI (flows/SERVER.md).
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import logging
import os
import socket
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext, TaskRunContext
from prefect.futures import PrefectFuture, as_completed
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.task_runners import ThreadPoolTaskRunner

from extractors.sandbox import DEFAULT_TIMEOUT, ExtractionPool, default_workers
from pipeline.batch import dossiers_in, summary_line
from pipeline.dossier import judge_dossier, read_dossier, segmenter_for, write_outputs
from pipeline.reports import FORMATS, failed_row, summary_row, write_reports, write_summary
from pipeline.ruleset import DEFAULT_RULESET, Ruleset, load_ruleset

# A dossier is given up after an hour: files and pages have their own limits (the sandbox's
# `timeout`), so only a dossier with hundreds of scanned pages on a slow machine comes near it.
DOSSIER_TIMEOUT = 3600.0
CACHE_FOR = dt.timedelta(days=7)
DEFAULT_FORMATS = ("json", "html")
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------------
# Content hashes and the cache key
# ---------------------------------------------------------------------------------------------------


def _hash_file(digest: Any, path: Path) -> None:
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)


def dossier_hash(path: Path) -> str:
    """SHA-256 of a dossier's content: a folder's files (relative paths and bytes), else the file's bytes.

    Where the folder sits and what it is called do not count; a renamed or moved file inside does.
    Symbolic links inside a folder count by their target's name (intake does not follow them).
    """
    digest = hashlib.sha256()
    if not path.is_dir():
        digest.update(b"file\0")
        _hash_file(digest, path)
        return digest.hexdigest()
    digest.update(b"folder\0")
    entries: list[tuple[str, Path]] = []
    for parent, dirs, files in os.walk(path):  # does not follow symlinked folders
        base = Path(parent)
        dirs.sort()
        entries.extend((base.joinpath(name).relative_to(path).as_posix(), base / name) for name in files)
        entries.extend((base.joinpath(name).relative_to(path).as_posix(), base / name) for name in dirs)
    for rel, entry in sorted(entries):
        name = rel.encode("utf-8", "surrogateescape")
        if entry.is_symlink():
            target = os.readlink(entry).encode("utf-8", "surrogateescape")
            digest.update(b"L%d:%s%d:%s" % (len(name), name, len(target), target))
        elif entry.is_file():
            digest.update(b"F%d:%s%d:" % (len(name), name, entry.stat().st_size))
            _hash_file(digest, entry)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The pipeline's code and bundled rules: a fixed bug must not be served from the cache of reports
    it spoiled."""
    digest = hashlib.sha256()
    for package in ("extractors", "pipeline"):
        for path in sorted([*(ROOT / package).rglob("*.py"), *(ROOT / package).rglob("*.yaml")]):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ruleset_fingerprint(ruleset_ref: str) -> str:
    """The ruleset's YAML bytes: editing the rules makes every report stale."""
    return hashlib.sha256(Path(_ruleset(ruleset_ref).source).read_bytes()).hexdigest()


def cache_key(child: Path, ident: str, ruleset_ref: str, formats: Sequence[str], timeout: float) -> str | None:
    """What a report depends on: the dossier's content and name (the report names it), the ruleset, the
    formats, the per-file time limit (a file that timed out may not next time) and the code. None (no
    caching) when the dossier cannot be read — `check_one` then reports why."""
    try:
        parts = [
            dossier_hash(child),
            child.name,
            ident,
            ruleset_fingerprint(ruleset_ref),
            ",".join(sorted(set(formats))),
            f"{timeout:g}",
            code_fingerprint(),
        ]
    except (OSError, ValueError):
        return None
    return "dossier-" + hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _task_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    return cache_key(
        Path(parameters["child"]),
        parameters["ident"],
        parameters["ruleset_ref"],
        parameters["formats"],
        parameters["timeout"],
    )


# ---------------------------------------------------------------------------------------------------
# Rulesets and extraction pools, shared by the tasks of one process
# ---------------------------------------------------------------------------------------------------

_lock = threading.Lock()
_rulesets: dict[tuple[str, int], Ruleset] = {}


def _ruleset(ruleset_ref: str) -> Ruleset:
    """Load once per process (and again when the file changes); jieba starts loading the first time."""
    path = Path(ruleset_ref) if Path(ruleset_ref).suffix else None
    stamp = path.stat().st_mtime_ns if path else 0
    with _lock:  # two tasks starting together would otherwise load the dictionary twice
        key = (ruleset_ref, stamp)
        if key not in _rulesets:
            _rulesets[key] = load_ruleset(ruleset_ref)
            segmenter_for(_rulesets[key])
        return _rulesets[key]


class SharedPool(ExtractionPool):
    """An ExtractionPool the tasks of one process share: one `run_all` at a time.

    A task reads under the lock and judges outside it, so a second task's files are read while the first
    is judged. If a run is interrupted (a task's time limit raises inside it), the workers are replaced:
    they may still be busy with jobs nobody waits for.
    """

    def __init__(self, workers: int, timeout: float) -> None:
        super().__init__(workers=workers, timeout=timeout)
        self._run_lock = threading.Lock()

    def run_all(self, jobs: Sequence[Any]) -> list[Any]:
        with self._run_lock:
            try:
                return super().run_all(jobs)
            except BaseException:
                self.close()
                raise


_pools: dict[tuple[int, float], SharedPool] = {}
_leases = 0


def shared_pool(workers: int, timeout: float) -> SharedPool:
    with _lock:
        key = (max(1, workers), timeout)
        if key not in _pools:
            _pools[key] = SharedPool(*key)
            _pools[key].warm()
        return _pools[key]


def close_pools() -> None:
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


atexit.register(close_pools)


@contextmanager
def pools_in_use() -> Iterator[None]:
    """Close the shared pools when the last flow of this process that uses them ends."""
    global _leases
    with _lock:
        _leases += 1
    try:
        yield
    finally:
        with _lock:
            _leases -= 1
            last = _leases == 0
        if last:
            close_pools()


# ---------------------------------------------------------------------------------------------------
# One dossier
# ---------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one task returns, and so what the cache keeps: enough to write the reports again."""

    row: dict[str, Any]
    report: dict[str, Any] | None = None  # None when the dossier could not be checked
    crops: dict[str, bytes] = field(default_factory=dict)  # seal crops beside the report
    error: str | None = None  # error.txt: the traceback of a dossier that could not be checked
    flow_run: str | None = None  # the flow run that computed it (another one: it came from the cache)


def failure_reason(exc: BaseException) -> str:
    """Why a dossier could not be checked, for the clerk."""
    if isinstance(exc, FileNotFoundError):
        return f"处理失败：找不到文件（失效的快捷方式或符号链接，或已被移走）：{exc.filename}"
    if isinstance(exc, PermissionError):
        return f"处理失败：没有读取权限：{exc.filename}"
    if isinstance(exc, TimeoutError):
        return f"处理失败：超过 {DOSSIER_TIMEOUT:g} 秒仍未完成"
    return f"处理失败：{type(exc).__name__}: {exc}"


def write_files(outcome: Outcome, out_dir: Path, formats: Sequence[str]) -> None:
    """The report files of an outcome (or its error.txt); used for outcomes served from the cache."""
    if outcome.report is None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "error.txt").write_text(outcome.error or outcome.row.get("failure") or "", encoding="utf-8")
        return
    write_reports(outcome.report, out_dir, formats)
    for name, data in outcome.crops.items():
        (out_dir / name).write_bytes(data)


def run_one(
    child: Path,
    ident: str,
    out: Path,
    ruleset_ref: str,
    formats: Sequence[str],
    timeout: float = DEFAULT_TIMEOUT,
    workers: int | None = None,
) -> Outcome:
    """Check one dossier into out/<ident>/; never raises for a bad dossier (its row says `failed` and
    error.txt says why). Raises only OSError while writing the reports: a full disk or a share that went
    away is worth another try."""
    ruleset = _ruleset(ruleset_ref)
    pool = shared_pool(workers or default_workers(), timeout)
    try:
        checked = judge_dossier(read_dossier(child, pool, ruleset, child.name), ruleset)
        checked.report["dossier"]["id"] = ident
    except Exception as exc:  # a bad dossier must not stop the batch
        error = traceback.format_exc()
        (out / ident).mkdir(parents=True, exist_ok=True)
        (out / ident / "error.txt").write_text(error, encoding="utf-8")
        return Outcome(failed_row(ident, child.name, failure_reason(exc)), error=error)
    write_outputs(checked, out / ident, formats)
    crops = {str(i.seal["crop"]): i.seal_crop for i in checked.items if i.seal_crop and i.seal}
    return Outcome(summary_row(checked.report, ident), checked.report, crops)


def check_one(
    child: Path,
    ident: str,
    out: Path,
    ruleset_ref: str,
    formats: list[str],
    timeout: float,
    workers: int,
) -> dict[str, Any]:
    """Check one dossier, write out/<ident>/report.*; the summary row (`failed` for a bad dossier)."""
    return run_one(child, ident, out, ruleset_ref, formats, timeout, workers).row


# ---------------------------------------------------------------------------------------------------
# The task and the flow
# ---------------------------------------------------------------------------------------------------


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry what may pass (OSError writing the reports), not a dossier that ran out of time."""
    exc = state.data if isinstance(state.data, BaseException) else None
    return isinstance(exc, OSError) and not isinstance(exc, TimeoutError)


@task(
    name="check_dossier",
    task_run_name="{ident}",
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_transient,
    timeout_seconds=DOSSIER_TIMEOUT,
    cache_key_fn=_task_cache_key,
    cache_expiration=CACHE_FOR,
    persist_result=True,  # the cache is the stored result: the Outcome, report included
)
def check_dossier_task(
    child: Path,
    ident: str,
    out: Path,
    ruleset_ref: str,
    formats: list[str],
    timeout: float,
    workers: int | None,
) -> Outcome:
    outcome = run_one(child, ident, out, ruleset_ref, formats, timeout, workers)
    context = TaskRunContext.get()
    outcome.flow_run = str(context.task_run.flow_run_id) if context else None
    return outcome


class _DropThreadTimeoutWarning(logging.Filter):
    """Prefect warns on every task that its time limit cannot interrupt a thread blocked in I/O. Ours
    never blocks long: the sandbox bounds each file and page, and the limit strikes between them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout of %s seconds configured for this task")


logging.getLogger("prefect.task_runs").addFilter(_DropThreadTimeoutWarning())


def _threads(workers: int) -> int:
    # At least two dossiers in flight, so that one is judged while the other's files are read.
    return max(2, workers)


class _Progress:
    """A line per dossier, and a rich progress bar when stdout is a terminal; nothing when off."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.bar: Any = None
        if enabled and total and sys.stdout.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("检查申报材料"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
            )
            self.task = self.bar.add_task("", total=total)
            self.bar.start()

    def line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False)
            self.bar.advance(self.task)
        elif self.enabled:
            print(text, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@flow(name="check_dossiers", task_runner=ThreadPoolTaskRunner(max_workers=_threads(default_workers())))
def check_dossiers(
    inbox: str,
    out: str,
    ruleset: str = DEFAULT_RULESET,
    formats: list[str] = ["json", "html"],  # noqa: B006 — shown as the default in the deployment's form
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Check every dossier of INBOX (each direct child) into OUT/<id>/report.*, then OUT/summary.json and
    OUT/summary.xlsx; returns the summary rows (verdict `failed` for a dossier that got no report).

    `workers`: reading processes per machine (default: its cores); `timeout`: seconds per file or scanned
    page; `progress`: a line per dossier on stdout (and a bar on a terminal), as `dossier batch` shows.
    """
    logger = get_run_logger()
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:  # before any dossier is read: every task would fail on it
        raise ValueError(f"不支持的报告格式：{unknown or formats}（可选：{', '.join(FORMATS)}）")
    source, target = Path(inbox), Path(out)
    target.mkdir(parents=True, exist_ok=True)
    dossiers = dossiers_in(source)
    context = FlowRunContext.get()
    this_run = str(context.flow_run.id) if context and context.flow_run else None
    by_future: dict[PrefectFuture[Outcome], tuple[str, Path]] = {}
    outcomes: dict[str, Outcome] = {}
    shown = _Progress(progress, len(dossiers))
    with pools_in_use():
        try:
            for ident, child in dossiers:
                future = check_dossier_task.submit(child, ident, target, ruleset, list(formats), timeout, workers)
                by_future[future] = (ident, child)
            for future in as_completed(list(by_future)):
                ident, child = by_future[future]
                outcome, note = _settle(future, ident, child, target, formats, this_run)
                outcomes[ident] = outcome
                if outcome.report is None:
                    line = f"{ident}：{outcome.row['failure']}"
                else:
                    line = f"{summary_line(outcome.report)}  [{outcome.report['elapsed_seconds']:.1f} 秒{note}]"
                logger.info(line)
                shown.line(line)
        finally:
            shown.close()
    rows = [outcomes[ident].row for ident, _ in dossiers]  # the inbox's order, not the finishing order
    write_summary(rows, target)
    return rows


def _settle(
    future: PrefectFuture[Outcome],
    ident: str,
    child: Path,
    out: Path,
    formats: Sequence[str],
    this_run: str | None,
) -> tuple[Outcome, str]:
    """A finished task's outcome; reports served from the cache are written into OUT again (it may be a
    new folder, or hold another version's reports); a task that failed becomes a failed row."""
    future.wait()  # as_completed hands the future over before its final state is stored on it
    state = future.state
    if state.is_completed():
        outcome: Outcome = future.result()
        if outcome.flow_run == this_run:
            return outcome, ""
        try:
            write_files(outcome, out / ident, formats)
        except OSError as exc:
            return Outcome(failed_row(ident, child.name, f"报告无法写入：{exc}"), error=traceback.format_exc()), ""
        return outcome, "，缓存"
    exc = future.result(raise_on_failure=False)
    exc = exc if isinstance(exc, BaseException) else RuntimeError(state.message or state.name)
    error = "".join(traceback.format_exception(exc)) if exc.__traceback__ else repr(exc)
    outcome = Outcome(failed_row(ident, child.name, failure_reason(exc)), error=error)
    with suppress(OSError):  # the reason is in the summary even if OUT cannot take error.txt
        write_files(outcome, out / ident, formats)
    return outcome, ""


# ---------------------------------------------------------------------------------------------------
# What `dossier batch` calls
# ---------------------------------------------------------------------------------------------------


def dask_address_problem(address: str, wait: float = 5.0) -> str | None:
    """Why a Dask scheduler address cannot be used (None when it answers): checked before Prefect starts."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or not parts.port:
        return f"Dask 调度器地址格式不对：{address}（例如 tcp://192.168.1.10:8786）"
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=wait):
            return None
    except OSError as exc:
        return f"连不上 Dask 调度器 {address}：{exc}"


def run_check_dossiers(
    inbox: Path,
    out: Path,
    ruleset: str = DEFAULT_RULESET,
    formats: Sequence[str] = DEFAULT_FORMATS,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    dask_address: str | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Run the flow: on this machine's threads, or on the Dask cluster at `dask_address`."""
    workers = workers or default_workers()
    if dask_address:
        from prefect_dask import DaskTaskRunner

        runner: Any = DaskTaskRunner(address=dask_address)
    else:
        runner = ThreadPoolTaskRunner(max_workers=_threads(workers))
    # Absolute paths: a Dask worker's current directory is not ours.
    ref = str(Path(ruleset).resolve()) if Path(ruleset).suffix else ruleset
    updates: dict[Any, Any] = {}
    if not PREFECT_API_URL.value():
        # Heartbeats let a long-lived server notice a crashed run; the temporary server dies with this
        # process anyway, and stopping the heartbeat thread costs up to a second at the end of each run.
        updates[PREFECT_FLOWS_HEARTBEAT_FREQUENCY] = None
    with temporary_settings(updates=updates):
        return check_dossiers.with_options(task_runner=runner)(
            inbox=str(inbox.resolve()),
            out=str(out.resolve()),
            ruleset=ref,
            formats=list(formats),
            workers=workers,
            timeout=timeout,
            progress=progress,
        )
