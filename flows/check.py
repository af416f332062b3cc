"""`check_dossiers`: the Prefect flow behind `dossier batch` and the watch service — a task per dossier.

The work lives in plain functions (pipeline/engine.py `Engine.run_one`, pipeline/runner.py `content_hash`);
the task and the flow only add what Prefect is for: retries of transient errors, a per-dossier time limit,
a cache keyed by the dossier's content, parallel dossiers on threads (default) or on a Dask cluster
(`--dask-address`).

Threads and worker processes: every task of a run shares one engine (its ruleset and pool of `workers`
reading processes), from the `Engines` the caller holds (`run_check_dossiers(engines=…)`, else one of the
run's own) and hands to the task threads through a context variable; on a Dask cluster each worker holds
its own, one pool sized to that worker whatever `--workers` says (flows/dask_engines.py). `--workers` thus stays
what it is for the plain batch, and with two dossiers in flight one is judged (in this process) while the
other's files are read (in the pool).

Without PREFECT_API_URL, a temporary local Prefect server runs for the process (flows/server.py);
with it, the runs show in that server's UI (flows/SERVER.md). Prefect reads its settings when it is
imported: call `flows.server.quiet_prefect()` (or `start_server()`) before importing this module.

Each dossier is a log record of the `dossier.flow` logger (event `dossier_checked` or `dossier_failed`,
pipeline/batch.py `log_outcome`): at INFO with `progress` (the clerk's line per dossier), else at DEBUG.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import sys
import traceback
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from contextvars import ContextVar
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
from flows.server import RESULTS_KEPT, TemporaryServer, start_server
from pipeline.batch import dossiers_in, log_outcome, outcome_line
from pipeline.engine import Engine, Engines
from pipeline.formats import DEFAULT_FORMATS, parse_formats
from pipeline.reports import failed_row, write_summary
from pipeline.review import apply_decisions
from pipeline.ruleset import DEFAULT_RULESET, load_ruleset
from pipeline.runner import (
    DOSSIER_TIMEOUT,
    Outcome,
    content_hash,
    failure_reason,
    resolve_ruleset,
    write_files,
)

ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger("dossier.flow")


# ---------------------------------------------------------------------------------------------------
# The cache key
# ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The pipeline's code and bundled rules: a fixed bug must not be served from the cache of reports
    it spoiled."""
    digest = hashlib.sha256()
    for package in ("core", "extractors", "pipeline"):
        for path in sorted([*(ROOT / package).rglob("*.py"), *(ROOT / package).rglob("*.yaml")]):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ruleset_fingerprint(source: str) -> str:
    """The ruleset's YAML bytes: editing the rules makes every report stale."""
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()


# The engines of the run in progress, for its task threads (Prefect's thread runner copies the context).
RUN_ENGINES: ContextVar[Engines] = ContextVar("dossier_engines")


def _hold_engines(stack: ExitStack, engines: Engines) -> None:
    """`engines` for the run's task threads until `stack` closes."""
    token = RUN_ENGINES.set(engines)
    stack.callback(RUN_ENGINES.reset, token)


def _engines_unless_handed(stack: ExitStack) -> None:
    """Engines of the run's own until `stack` closes, when its caller handed none (a run a Prefect server
    started: `dossier serve`). Not in the flow's body: Dask workers get that function by value, with what
    it names, and a ContextVar cannot travel."""
    if RUN_ENGINES.get(None) is None:
        _hold_engines(stack, stack.enter_context(Engines()))


def _engine(ruleset_ref: str, workers: int | None, timeout: float) -> Engine:
    """The engine for the task's parameters: the run's (threads of this process) or the Dask worker's."""
    engines = RUN_ENGINES.get(None)
    if engines is None:  # inside a Dask worker process: its pool is sized to that worker, not to `workers`
        from flows.dask_engines import worker_engine

        return worker_engine(ruleset_ref, timeout)
    return engines.get(ruleset_ref, workers or default_workers(), timeout)


def cache_key(
    child: Path,
    ident: str,
    ruleset_source: str,
    formats: Sequence[str],
    timeout: float,
    as_of: str | None = None,
    full_ocr: bool = False,
) -> str | None:
    """What a report depends on: the dossier's content and name (the report names it), the ruleset, the
    formats, the per-file time limit (a file that timed out may not next time), how far scanned pages are
    read, and the code (the OCR models' settings included). None (no caching) when the dossier cannot be
    read — `run_one` then reports why."""
    try:
        parts = [
            content_hash(child),
            child.name,
            ident,
            ruleset_fingerprint(ruleset_source),
            ",".join(sorted(set(formats))),
            f"{timeout:g}",
            as_of or "",
            "full-ocr" if full_ocr else "",
            code_fingerprint(),
        ]
    except (OSError, ValueError):
        return None
    return "dossier-" + hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _task_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    engine = _engine(parameters["ruleset_ref"], parameters["workers"], parameters["timeout"])
    return cache_key(
        Path(parameters["child"]),
        parameters["ident"],
        engine.ruleset.source,
        parameters["formats"],
        parameters["timeout"],
        parameters.get("as_of"),
        bool(parameters.get("full_ocr")),
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
    cache_expiration=RESULTS_KEPT,
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
    as_of: str | None = None,
    full_ocr: bool = False,
) -> Outcome:
    day = dt.date.fromisoformat(as_of) if as_of else None
    outcome = _engine(ruleset_ref, workers, timeout).run_one(child, ident, out, formats, day, full_ocr)
    context = TaskRunContext.get()
    outcome.flow_run = str(context.task_run.flow_run_id) if context else None
    return outcome


class _DropThreadTimeoutWarning(logging.Filter):
    """Prefect warns on every task that its time limit cannot interrupt a thread blocked in I/O. Ours
    never blocks long: the sandbox bounds each file and page, and the limit strikes between them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout of %s seconds configured for this task")


def _drop_thread_timeout_warning() -> None:
    """Installed by each run (not at import); once per process."""
    task_runs = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, _DropThreadTimeoutWarning) for f in task_runs.filters):
        task_runs.addFilter(_DropThreadTimeoutWarning())


def _threads(workers: int) -> int:
    # At least two dossiers in flight, so that one is judged while the other's files are read.
    return max(2, workers)


class _Progress:
    """A rich progress bar when `enabled` and stdout is a terminal (the log lines print above it)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.bar: Any = None
        if enabled and total and sys.stdout.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("检查申报材料"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
            )
            self.task = self.bar.add_task("", total=total)
            self.bar.start()

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@flow(name="check_dossiers", task_runner=ThreadPoolTaskRunner(max_workers=_threads(default_workers())))
def check_dossiers(
    inbox: str,
    out: str,
    ruleset: str = DEFAULT_RULESET,
    formats: list[str] = [f.value for f in DEFAULT_FORMATS],  # noqa: B006 — the deployment form's default
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = False,
    only: dict[str, str] | None = None,
    summary: bool = True,
    as_of: str | None = None,
    full_ocr: bool = False,
) -> list[dict[str, Any]]:
    """Check every dossier of INBOX (each direct child) into OUT/<id>/report.*, then OUT/summary.json and
    OUT/summary.xlsx; returns the summary rows (verdict `failed` for a dossier that got no report).

    `workers`: reading processes on this machine (default: its cores; a Dask worker sizes its own pool);
    `timeout`: seconds per file or scanned page; `progress`: a log line per dossier (and a bar on a
    terminal), as `dossier batch` shows.
    `only` {id: name in INBOX, shown safely (core.names)}: just these dossiers, under these ids (the watch service's, from its
    registry; `{}` for none: its warm-up run); `summary`: False leaves the summary files to the caller
    (the watch service keeps its own); `full_ocr`: read every scanned page in full (by default a page whose
    item needs no more is read only far enough to tell what it is).
    """
    run_logger = get_run_logger()
    formats = [f.value for f in parse_formats(formats)]  # FormatError before any dossier is read
    source, target = Path(inbox), Path(out)
    target.mkdir(parents=True, exist_ok=True)
    dossiers = _chosen(source, only) if only is not None else dossiers_in(source)
    context = FlowRunContext.get()
    this_run = str(context.flow_run.id) if context and context.flow_run else None
    by_future: dict[PrefectFuture[Outcome], tuple[str, Path]] = {}
    outcomes: dict[str, Outcome] = {}
    bar = _Progress(progress, len(dossiers))
    with ExitStack() as stack:
        stack.callback(bar.close)
        _engines_unless_handed(stack)
        for ident, child in dossiers:
            future = check_dossier_task.submit(
                child, ident, target, ruleset, list(formats), timeout, workers, as_of, full_ocr
            )
            by_future[future] = (ident, child)
        for future in as_completed(list(by_future)):
            ident, child = by_future[future]
            outcome, cached = _settle(future, ident, child, target, formats, this_run)
            _let_go(future)
            outcomes[ident] = outcome
            run_logger.info(outcome_line(outcome, "，缓存" if cached else ""))  # the run's log in Prefect's UI
            log_outcome(logger, outcome, level=logging.INFO if progress else logging.DEBUG, cached=cached)
            bar.advance()
    rows = [outcomes[ident].row for ident, _ in dossiers]  # the inbox's order, not the finishing order
    if summary:
        apply_decisions(target)
        write_summary(rows, target, {item.id: item.title for item in load_ruleset(ruleset).items}, inbox=source)
    return rows


def _let_go(future: PrefectFuture[Outcome]) -> None:
    """Let a Dask cluster forget a settled task's result: a worker that dies loses the results it holds,
    and the scheduler would check those dossiers again while their futures are held, rewriting reports
    this run has already taken."""
    release = getattr(getattr(future, "wrapped_future", None), "release", None)
    if callable(release):
        release()


def _settle(
    future: PrefectFuture[Outcome],
    ident: str,
    child: Path,
    out: Path,
    formats: Sequence[str],
    this_run: str | None,
) -> tuple[Outcome, bool]:
    """A finished task's outcome and whether it came from the cache; reports served from the cache are
    written into OUT again (it may be a new folder, or hold another version's reports); a task that failed
    becomes a failed row."""
    future.wait()  # as_completed hands the future over before its final state is stored on it
    state = future.state
    if state.is_completed():
        outcome: Outcome = future.result()
        if outcome.flow_run == this_run:
            return outcome, False
        try:
            write_files(outcome, out / ident, formats)
        except OSError as exc:
            return (
                Outcome(failed_row(ident, shown(child.name), f"报告无法写入：{exc}"), error=traceback.format_exc()),
                False,
            )
        return outcome, True
    exc = future.result(raise_on_failure=False)
    exc = exc if isinstance(exc, BaseException) else RuntimeError(state.message or state.name)
    error = "".join(traceback.format_exception(exc)) if exc.__traceback__ else repr(exc)
    outcome = Outcome(failed_row(ident, shown(child.name), failure_reason(exc)), error=error)
    with suppress(OSError):  # the reason is in the summary even if OUT cannot take error.txt
        write_files(outcome, out / ident, formats)
    return outcome, False


# ---------------------------------------------------------------------------------------------------
# What `dossier batch` calls
# ---------------------------------------------------------------------------------------------------


def _loopback(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


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
    engines: Engines | None = None,
    as_of: dt.date | None = None,
    server: TemporaryServer | None = None,
    full_ocr: bool = False,
) -> list[dict[str, Any]]:
    """Run the flow: on this machine's threads, or on the Dask cluster at `dask_address`. `engines`: the
        caller's, kept warm between runs (the watch service); else the run's own, closed at its end. `as_of`:
        the date the ruleset's validity is judged on (default: each check's date). `server`: the caller's
    temporary Prefect server (flows/server.py `start_server`); without it and without PREFECT_API_URL, the
    run starts one of its own and stops it at its end."""
    workers = workers or default_workers()
    _drop_thread_timeout_warning()
    with ExitStack() as stack:
        _hold_engines(stack, engines if engines is not None else stack.enter_context(Engines()))
        api_url = PREFECT_API_URL.value()
        if not api_url:
            if server is None:
                server = start_server()
                assert server is not None  # PREFECT_API_URL is unset
                stack.callback(server.stop)
            api_url = server.url()
        return _run(
            inbox,
            out,
            ruleset,
            formats,
            workers,
            timeout,
            dask_address,
            progress,
            only,
            summary,
            as_of,
            api_url,
            full_ocr,
        )


def _run(
    inbox: Path,
    out: Path,
    ruleset: str,
    formats: Sequence[str],
    workers: int,
    timeout: float,
    dask_address: str | None,
    progress: bool,
    only: dict[str, str] | None,
    summary: bool,
    as_of: dt.date | None,
    api_url: str,
    full_ocr: bool,
) -> list[dict[str, Any]]:
    if dask_address:
        from distributed import Client
        from prefect_dask import DaskTaskRunner

        from flows.dask_engines import NAME, EnginesPlugin, workers_elsewhere

        with Client(dask_address, timeout=30) as client:
            if _loopback(api_url) and (elsewhere := workers_elsewhere(client)):
                # Their tasks would each fail with "Failed to reach API" (a temporary server listens on 127.0.0.1).
                raise RuntimeError(
                    f"Dask 工作节点在其他机器上（{'、'.join(elsewhere)}），连不到本机的 Prefect 服务 {api_url}；"
                    "请按 flows/SERVER.md 运行各机器都能访问的 Prefect 服务，并设置 PREFECT_API_URL"
                )
            client.register_plugin(EnginesPlugin(), name=NAME)  # each worker holds engines of its own
        runner: Any = DaskTaskRunner(address=dask_address)
    else:
        runner = ThreadPoolTaskRunner(max_workers=_threads(workers))
    ref = resolve_ruleset(ruleset)
    updates: dict[Any, Any] = {PREFECT_API_URL: api_url}
    if api_url != PREFECT_API_URL.value():  # our temporary server
        # Heartbeats let a long-lived server notice a crashed run; the temporary server dies with this
        # process anyway, and stopping the heartbeat thread costs up to a second at the end of each run.
        updates[PREFECT_FLOWS_HEARTBEAT_FREQUENCY] = None
    with temporary_settings(updates=updates):
        return check_dossiers.with_options(task_runner=runner)(
            inbox=str(inbox.resolve()),
            out=str(out.resolve()),
            ruleset=ref,
            formats=[str(f) for f in formats],
            workers=workers,
            timeout=timeout,
            progress=progress,
            only=only,
            summary=summary,
            as_of=as_of.isoformat() if as_of else None,
            full_ocr=full_ocr,
        )
