"""`check_dossiers`: the Prefect flow behind `dossier batch` and the watch service — a task per dossier.

The work lives in plain functions (pipeline/runner.py: `run_one`, `content_hash`); the task and the
flow only add what Prefect is for: retries of transient errors, a per-dossier time limit, a cache keyed
by the dossier's content, parallel dossiers on threads (default) or on a Dask cluster (`--dask-address`).

Threads and worker processes: every task of a process shares one pool of `workers` reading processes
(pipeline/runner.py `shared_pool`). `--workers` thus stays what it is for the plain batch, and with two
dossiers in flight one is judged (in this process) while the other's files are read (in the pool).

Without PREFECT_API_URL, a temporary local Prefect server runs for the process (flows/server.py);
with it, the runs show in that server's UI (flows/SERVER.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import socket
import sys
import traceback
from collections.abc import Sequence
from contextlib import suppress
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prefect import flow, get_run_logger, task
from prefect.context import FlowRunContext, TaskRunContext
from prefect.futures import PrefectFuture, as_completed
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.task_runners import ThreadPoolTaskRunner

from core.names import shown
from extractors.sandbox import DEFAULT_TIMEOUT, default_workers
from flows.server import start_server, stop_server, temporary_api_url
from pipeline.batch import dossiers_in, outcome_line
from pipeline.reports import FORMATS, failed_row, write_summary
from pipeline.ruleset import DEFAULT_RULESET
from pipeline.runner import (
    DOSSIER_TIMEOUT,
    Outcome,
    content_hash,
    failure_reason,
    pools_in_use,
    resolve_ruleset,
    ruleset_for,
    run_one,
    shared_pool,
    write_files,
)

CACHE_FOR = dt.timedelta(days=7)
DEFAULT_FORMATS = ("json", "html")
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------------
# The cache key
# ---------------------------------------------------------------------------------------------------


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
    return hashlib.sha256(Path(ruleset_for(ruleset_ref).source).read_bytes()).hexdigest()


def cache_key(child: Path, ident: str, ruleset_ref: str, formats: Sequence[str], timeout: float) -> str | None:
    """What a report depends on: the dossier's content and name (the report names it), the ruleset, the
    formats, the per-file time limit (a file that timed out may not next time) and the code. None (no
    caching) when the dossier cannot be read — `run_one` then reports why."""
    try:
        parts = [
            content_hash(child),
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
    pool = shared_pool(workers or default_workers(), timeout)
    outcome = run_one(child, ident, out, ruleset_for(ruleset_ref), pool, formats)
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
    only: dict[str, str] | None = None,
    summary: bool = True,
) -> list[dict[str, Any]]:
    """Check every dossier of INBOX (each direct child) into OUT/<id>/report.*, then OUT/summary.json and
    OUT/summary.xlsx; returns the summary rows (verdict `failed` for a dossier that got no report).

    `workers`: reading processes per machine (default: its cores); `timeout`: seconds per file or scanned
    page; `progress`: a line per dossier on stdout (and a bar on a terminal), as `dossier batch` shows.
    `only` {id: name in INBOX, shown safely (core.names)}: just these dossiers, under these ids (the watch service's, from its
    registry; `{}` for none: its warm-up run); `summary`: False leaves the summary files to the caller
    (the watch service keeps its own).
    """
    logger = get_run_logger()
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:  # before any dossier is read: every task would fail on it
        raise ValueError(f"不支持的报告格式：{unknown or formats}（可选：{', '.join(FORMATS)}）")
    source, target = Path(inbox), Path(out)
    target.mkdir(parents=True, exist_ok=True)
    dossiers = _chosen(source, only) if only is not None else dossiers_in(source)
    context = FlowRunContext.get()
    this_run = str(context.flow_run.id) if context and context.flow_run else None
    by_future: dict[PrefectFuture[Outcome], tuple[str, Path]] = {}
    outcomes: dict[str, Outcome] = {}
    bar = _Progress(progress, len(dossiers))
    with pools_in_use():
        try:
            for ident, child in dossiers:
                future = check_dossier_task.submit(child, ident, target, ruleset, list(formats), timeout, workers)
                by_future[future] = (ident, child)
            for future in as_completed(list(by_future)):
                ident, child = by_future[future]
                outcome, note = _settle(future, ident, child, target, formats, this_run)
                outcomes[ident] = outcome
                line = outcome_line(outcome, note)
                logger.info(line)
                bar.line(line)
        finally:
            bar.close()
    rows = [outcomes[ident].row for ident, _ in dossiers]  # the inbox's order, not the finishing order
    if summary:
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
            return (
                Outcome(failed_row(ident, shown(child.name), f"报告无法写入：{exc}"), error=traceback.format_exc()),
                "",
            )
        return outcome, "，缓存"
    exc = future.result(raise_on_failure=False)
    exc = exc if isinstance(exc, BaseException) else RuntimeError(state.message or state.name)
    error = "".join(traceback.format_exception(exc)) if exc.__traceback__ else repr(exc)
    outcome = Outcome(failed_row(ident, shown(child.name), failure_reason(exc)), error=error)
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


def _started_api_url() -> str:
    start_server()
    url = temporary_api_url()
    assert url is not None  # start_server starts one when PREFECT_API_URL is unset
    return url


def _chosen(inbox: Path, only: dict[str, str]) -> list[tuple[str, Path]]:
    """The dossiers `only` names, by their names shown safely: a flow's parameters travel as JSON, which
    cannot carry a name's bytes that are not UTF-8."""
    on_disk = {shown(p.name): p for p in inbox.iterdir()} if only else {}
    return [(ident, on_disk.get(name, inbox / name)) for ident, name in only.items()]


def run_check_dossiers(
    inbox: Path,
    out: Path,
    ruleset: str = DEFAULT_RULESET,
    formats: Sequence[str] = DEFAULT_FORMATS,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    dask_address: str | None = None,
    progress: bool = False,
    only: dict[str, str] | None = None,
    summary: bool = True,
) -> list[dict[str, Any]]:
    """Run the flow: on this machine's threads, or on the Dask cluster at `dask_address`."""
    workers = workers or default_workers()
    if dask_address:
        from prefect_dask import DaskTaskRunner

        runner: Any = DaskTaskRunner(address=dask_address)
    else:
        runner = ThreadPoolTaskRunner(max_workers=_threads(workers))
    ref = resolve_ruleset(ruleset)
    updates: dict[Any, Any] = {}
    if PREFECT_API_URL.value():
        stop_server()  # a Prefect profile names a server after all: the temporary one is not needed
    else:
        updates[PREFECT_API_URL] = temporary_api_url() or _started_api_url()
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
            only=only,
            summary=summary,
        )
