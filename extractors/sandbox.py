"""Run extraction jobs in child processes, so a hostile file costs one file, never the run.

A fuzzed PDF can crash pdfium (a segfault takes the whole interpreter with it) or spin for minutes;
neither can be interrupted from Python inside the same process. Each job (read a file, OCR a page,
look for a seal) therefore runs in a worker process; a worker that overruns its time limit is
killed and replaced, a worker that dies is replaced, and the job's `failed()` result says why.
"""

from __future__ import annotations

import contextlib
import ctypes
import heapq
import itertools
import multiprocessing as mp
import os
import resource
import select
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

from core.limits import Limits, describe
from core.model import Document
from core.scratch import private_folder, scratch_root

from . import read_file

DEFAULT_TIMEOUT = 60.0


class Job(Protocol):
    """Work for a worker process: `run()` there, or `failed()` here when the worker could not."""

    def run(self) -> Any: ...

    def failed(self, kind: str, reason: str, seconds: float) -> Any: ...


@dataclass(frozen=True)
class FileJob:
    """Read one dossier file into a Document."""

    path: Path  # where the bytes are (inside the dossier folder or our temporary unpack folder)
    rel: str  # the path shown in reports, relative to the dossier root
    sha256: str
    size: int
    limits: Limits | None = None  # decided by the parent (a worker's environment may be older); else the environment's

    def run(self) -> Document:
        return read_file(self.path, self.rel, self.sha256, self.size, self.limits)

    def failed(self, kind: str, reason: str, seconds: float) -> Document:
        return Document(
            path=self.rel,
            sha256=self.sha256,
            format=self.path.suffix.lower().lstrip(".") or "unknown",
            size=self.size,
            error=reason,
            error_kind=kind,
            seconds=seconds,
        )


_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000


def isolate_network() -> bool:
    """Move this process into a network namespace of its own, with nothing but a dead loopback: no
    reader, converter or OCR runtime (onnxruntime reports telemetry by default) can reach any address.
    False where the kernel does not allow it (the readers' own switches still hold there)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if os.geteuid() == 0:
        return libc.unshare(_CLONE_NEWNET) == 0
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
        return False
    # Keep our own ids inside the new user namespace (unmapped, the sandbox LibreOffice runs in could
    # not start there).
    with contextlib.suppress(OSError):
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    return True


def exit_with_owner() -> None:
    """End this worker process as soon as the process that started it (the pool's owner) is gone.

    An owner killed with SIGKILL (a Dask nanny restarting its worker, the OOM killer, `kill -9`) stops
    nothing: an idle worker ends on the closed pipe, but one busy with a file that never finishes would
    spin for good (its parent is the fork server, which the busy workers keep alive). Call after
    `isolate_network()`: a new user namespace cannot be entered by a process with threads."""
    owner = mp.parent_process()
    if owner is None or owner.pid is None:
        return
    try:
        handle = os.pidfd_open(owner.pid)
    except ProcessLookupError:
        os._exit(1)
    except OSError:  # a kernel without pidfd (before 5.3): the pipe's end still stops an idle worker
        return

    def watch() -> None:
        select.select([handle], [], [])  # readable once the owner has exited
        os._exit(1)

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def _serve(conn: Connection, memory_mb: int | None, tmp: str) -> None:
    # Temporary files of this worker (and of what it starts) go in its own folder, which the pool
    # removes when the worker stops or is killed.
    os.environ["TMPDIR"] = tmp
    tempfile.tempdir = tmp
    isolate_network()
    exit_with_owner()
    # Read here, not in the parent: `dossier check` starts its workers before it loads the settings.
    memory_mb = memory_mb or Limits.from_env().worker_memory_mb
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            job = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if job is None:
            return
        try:
            result = job.run()
        except MemoryError:
            result = job.failed("memory", f"处理时内存不足（{describe('worker_memory_mb', memory_mb or 0)}）", 0.0)
        except Exception as exc:  # a job's bug must not take the worker down with it
            result = job.failed("crash", f"处理失败（{type(exc).__name__}）", 0.0)
        conn.send(result)


def mp_context() -> mp.context.BaseContext:
    # forkserver: safe when the parent runs threads (Prefect, watchdog), and a replaced worker
    # forks from a server that has already imported the extractors, so it starts in milliseconds.
    # multiprocessing keeps one fork server per process; setting its preload again changes nothing.
    scratch_root()  # before the fork server starts: it and every worker inherit TMPDIR
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(
        ["core.settings", "extractors", "extractors.pdf", "extractors.docx", "extractors.seal_finder", "pdfplumber"]
    )
    return ctx


class PoolClosed(RuntimeError):
    """The pool stopped (it was closed, or its dispatcher failed) before a caller's jobs were done."""


@dataclass(eq=False)
class _Call:
    """One `run_all`: its results by index, and how many are still to come. Compared by identity: a
    result finds its caller through the task that carries this very object."""

    results: list[Any]
    left: int
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    abandoned: bool = False  # the caller stopped waiting: its jobs are dropped


@dataclass(eq=False)
class _Task:
    call: _Call
    index: int
    job: Job


class _Worker:
    def __init__(self, memory_mb: int | None) -> None:
        parent, child = mp_context().Pipe()
        self.conn = parent
        self.tmp = private_folder("worker-")
        self.process = mp_context().Process(target=_serve, args=(child, memory_mb, str(self.tmp)), daemon=True)
        self.process.start()
        child.close()
        self.task: _Task | None = None
        self.started = 0.0
        self.deadline = 0.0

    def give(self, task: _Task, timeout: float) -> None:
        self.conn.send(task.job)
        self.task = task
        self.started = time.monotonic()
        self.deadline = self.started + timeout

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(None)
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


WAIT_STEP = 1.0  # seconds a caller blocks at a time (see run_all)

_TURNS = itertools.count()  # one sequence for turns and lone calls: their order in the queue
_TURN: ContextVar[int | None] = ContextVar("extraction_turn", default=None)


@contextlib.contextmanager
def queue_as_one() -> Iterator[None]:
    """Every `run_all` inside this block (and in threads started with a copy of its context) queues as if
    submitted when the block began: a dossier's later jobs (its seal search after its OCR) go ahead of
    those of dossiers begun after it, so its latency does not grow with the work queued behind it."""
    token = _TURN.set(next(_TURNS))
    try:
        yield
    finally:
        _TURN.reset(token)


class ExtractionPool:
    """Runs jobs in `workers` child processes, each job within `timeout` seconds.

    Thread-safe: several threads may call `run_all` at once (dossiers in flight in a batch, the seal
    search beside the text analysis) and their jobs share the workers, so none idles while another
    caller's jobs wait. One dispatcher thread owns the workers: callers queue their jobs and wait;
    it hands each idle worker the first job waiting, whoever's it is (earliest submitted, or of the
    earliest turn: `queue_as_one`), and delivers every result to the call it belongs to.
    """

    def __init__(
        self,
        workers: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int | None = None,
    ) -> None:
        self.size = max(1, workers)
        self.timeout = timeout
        self.memory_mb = memory_mb  # None: each worker reads its cap from the settings itself
        self.busy_seconds = 0.0  # worker time spent on jobs, for benchmarks (the pool's busy share)
        self._workers: list[_Worker] = []  # the dispatcher's alone while it runs
        self._lock = threading.Lock()  # guards the queue, the calls and the dispatcher's state
        self._queue: list[tuple[int, int, _Task]] = []  # a heap by (turn, submission)
        self._submitted = itertools.count()
        self._calls: set[_Call] = set()
        self._dispatcher: threading.Thread | None = None
        self._closing = False
        self._close_lock = threading.Lock()
        # Callers wake the dispatcher out of wait() with a byte here (non-blocking: a full pipe already wakes it).
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        weakref.finalize(self, _close_fds, self._wake_r, self._wake_w)

    def warm(self) -> ExtractionPool:
        """Start every worker now, on the dispatcher's thread: their start-up (~0.4 s for the first, which
        starts the fork server; little for the others) then overlaps with whatever the caller loads meanwhile."""
        with self._lock:
            self._ensure_dispatcher()
        return self

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers. Callers still waiting get PoolClosed; the pool starts afresh if used again."""
        with self._close_lock:
            with self._lock:
                self._closing = True
                thread = self._dispatcher
            if thread is not None:
                self._wake()
                thread.join()
            self._workers = []  # the dispatcher stopped them
            with self._lock:
                self._closing = False

    def run_all(self, jobs: Sequence[Job]) -> list[Any]:
        """Every job's result (or its `failed()` result), in the order of `jobs`.

        Jobs of earlier calls (or turns, see `queue_as_one`) go first. A caller interrupted by an exception (Prefect's time limit for a
        task, Ctrl-C) drops its jobs: the workers still busy with them are replaced, and nothing of them
        reaches anyone else. Raises PoolClosed when the pool is closed before the jobs are done.
        """
        if not jobs:
            return []
        call = _Call([None] * len(jobs), len(jobs))
        turn = _TURN.get()
        turn = next(_TURNS) if turn is None else turn
        try:
            with self._lock:
                if self._closing:
                    raise PoolClosed("读取进程已停止（程序正在退出）")
                self._ensure_dispatcher()
                self._calls.add(call)
                for i, job in enumerate(jobs):
                    heapq.heappush(self._queue, (turn, next(self._submitted), _Task(call, i, job)))
            self._wake()
            # In steps rather than one long wait: an exception sent to this thread (Prefect's time limit)
            # is raised only when the thread runs Python code.
            while not call.done.wait(WAIT_STEP):
                pass
        except BaseException:
            self._abandon(call)
            raise
        if call.error is not None:
            raise call.error
        return call.results

    # -- the callers' side --------------------------------------------------------------------------

    def _ensure_dispatcher(self) -> None:
        """Under the lock: start the dispatcher unless it runs."""
        if self._dispatcher is None or not self._dispatcher.is_alive():
            self._dispatcher = threading.Thread(target=self._dispatch, name="extraction-pool", daemon=True)
            self._dispatcher.start()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"\0")

    def _abandon(self, call: _Call) -> None:
        """Drop a call's waiting jobs; the dispatcher replaces the workers running its others."""
        with self._lock:
            call.abandoned = True
            self._calls.discard(call)
            self._queue = [entry for entry in self._queue if entry[2].call is not call]
            heapq.heapify(self._queue)
        self._wake()

    # -- the dispatcher's side ----------------------------------------------------------------------

    def _dispatch(self) -> None:
        error: BaseException | None = None
        try:
            self._start(self.size)
            while not self._closing:
                self._drop_abandoned()  # first: the replacements are idle workers for _hand_out
                self._hand_out()
                self._collect()
        except BaseException as exc:  # a bug here must not leave callers waiting for ever
            error = exc
        finally:
            self._shut_down(error)
        if error is not None:
            raise error  # the thread's traceback, for the maintainer

    def _start(self, count: int) -> None:
        while len(self._workers) < count:
            self._workers.append(_Worker(self.memory_mb))

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.remove(worker)
        self._workers.append(_Worker(self.memory_mb))

    def _drop_abandoned(self) -> None:
        """Replace the workers busy with a job nobody waits for any more."""
        for worker in [w for w in self._workers if w.task is not None and w.task.call.abandoned]:
            self._replace(worker)

    def _hand_out(self) -> None:
        """Give each idle worker the first job waiting (earliest turn, then earliest submitted)."""
        while True:
            idle = next((w for w in self._workers if w.task is None), None)
            if idle is None:
                return
            with self._lock:
                if not self._queue:
                    return
                entry = heapq.heappop(self._queue)
            task = entry[2]
            try:
                idle.give(task, self.timeout)
            except OSError:  # the worker died while idle: its replacement takes the job
                with self._lock:
                    if not task.call.abandoned:
                        heapq.heappush(self._queue, entry)
                self._replace(idle)
            except Exception as exc:  # the job cannot be sent (not picklable): a bug its caller sees
                self._fail(task.call, exc)

    def _collect(self) -> None:
        """Wait for a result, a time limit or a caller, and settle what happened."""
        busy = [w for w in self._workers if w.task is not None]
        timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic()) if busy else None
        ready = wait([self._wake_r, *(w.conn for w in busy)], timeout=timeout)
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wake_r, 4096):
                    pass
        now = time.monotonic()
        for worker in busy:
            task = worker.task
            assert task is not None
            if worker.conn in ready:
                try:
                    result = worker.conn.recv()
                except (EOFError, OSError):
                    self._finish(task, task.job.failed("crash", _crash_reason(worker), now - worker.started), worker)
                    self._replace(worker)
                    continue
                worker.task = None
                self._finish(task, result, worker)
            elif now >= worker.deadline:
                reason = f"读取超过 {self.timeout:g} 秒仍未完成，已放弃此文件"
                self._finish(task, task.job.failed("timeout", reason, self.timeout), worker)
                self._replace(worker)

    def _finish(self, task: _Task, result: Any, worker: _Worker) -> None:
        self.busy_seconds += time.monotonic() - worker.started
        call = task.call
        if call.abandoned:
            return
        call.results[task.index] = result
        call.left -= 1
        if call.left == 0:
            with self._lock:
                self._calls.discard(call)
            call.done.set()

    def _fail(self, call: _Call, error: BaseException) -> None:
        """End a call with an error its caller raises; its other jobs are dropped."""
        call.error = error
        self._abandon(call)
        call.done.set()

    def _shut_down(self, error: BaseException | None) -> None:
        """The dispatcher's last act: stop the workers, fail every call still waiting."""
        for worker in self._workers:
            if worker.task is None:
                worker.stop()
            else:
                worker.kill()
        self._workers = []
        with self._lock:
            calls, self._calls = self._calls, set()
            self._queue.clear()
            self._dispatcher = None
        for call in calls:
            reason = "读取进程已停止（程序正在退出）" if error is None else f"读取进程池出错：{type(error).__name__}"
            call.error = PoolClosed(reason)
            call.error.__cause__ = error
            call.done.set()


def _crash_reason(worker: _Worker) -> str:
    code = worker.process.exitcode if not worker.process.is_alive() else None
    worker.process.join(timeout=1)
    code = worker.process.exitcode if code is None else code
    reason = "解析器在读取此文件时崩溃（文件可能已损坏或被恶意构造）"
    if code is not None and code < 0:
        reason += f"，信号 {-code}"
    return reason


def _close_fds(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))
