"""Run extraction jobs in child processes, so a hostile file costs one file, never the run.

A fuzzed PDF can crash pdfium (a segfault takes the whole interpreter with it) or spin for minutes;
neither can be interrupted from Python inside the same process. Each job (read a file, OCR a page,
look for a seal) therefore runs in a worker process; a worker that overruns its time limit is
killed and replaced, a worker that dies is replaced, and the job's `failed()` result says why.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import resource
import select
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
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


class _Worker:
    def __init__(self, memory_mb: int | None) -> None:
        parent, child = mp_context().Pipe()
        self.conn = parent
        self.tmp = private_folder("worker-")
        self.process = mp_context().Process(target=_serve, args=(child, memory_mb, str(self.tmp)), daemon=True)
        self.process.start()
        child.close()
        self.job: tuple[int, Job] | None = None
        self.deadline = 0.0

    def give(self, index: int, job: Job, timeout: float) -> None:
        self.job = (index, job)
        self.deadline = time.monotonic() + timeout
        self.conn.send(job)

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


class ExtractionPool:
    """Reads files in `workers` child processes, each file within `timeout` seconds."""

    def __init__(
        self,
        workers: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int | None = None,
    ) -> None:
        self.size = max(1, workers)
        self.timeout = timeout
        self.memory_mb = memory_mb  # None: each worker reads its cap from the settings itself
        self._workers: list[_Worker] = []
        self._warming: threading.Thread | None = None

    def warm(self) -> ExtractionPool:
        """Start every worker now, on a thread: their start-up (~0.4 s for the first, which starts the fork
        server; little for the others) then overlaps with whatever the caller loads meanwhile."""
        if self._warming is None:
            self._warming = threading.Thread(target=self._start, args=(self.size,), name="extraction-warm", daemon=True)
            self._warming.start()
        return self

    def _start(self, count: int) -> None:
        while len(self._workers) < count:
            self._workers.append(_Worker(self.memory_mb))

    def _settle(self) -> None:
        if self._warming is not None:
            self._warming.join()

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._settle()
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def _idle_worker(self) -> _Worker:
        for worker in self._workers:
            if worker.job is None:
                return worker
        worker = _Worker(self.memory_mb)
        self._workers.append(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.remove(worker)

    def run_all(self, jobs: Sequence[Job]) -> list[Any]:
        """Every job's result (or its `failed()` result), in the order of `jobs`."""
        self._settle()
        results: list[Any] = [None] * len(jobs)
        pending = deque(enumerate(jobs))
        busy: list[_Worker] = []
        while pending or busy:
            while pending and len(busy) < self.size:
                index, job = pending.popleft()
                worker = self._idle_worker()
                try:
                    worker.give(index, job, self.timeout)
                except (BrokenPipeError, OSError):
                    self._replace(worker)
                    pending.appendleft((index, job))
                    continue
                busy.append(worker)
            now = time.monotonic()
            ready = wait([w.conn for w in busy], timeout=max(0.0, min(w.deadline for w in busy) - now))
            for worker in list(busy):
                assert worker.job is not None
                index, job = worker.job
                if worker.conn in ready:
                    try:
                        results[index] = worker.conn.recv()
                    except (EOFError, OSError):
                        code = worker.process.exitcode if not worker.process.is_alive() else None
                        worker.process.join(timeout=1)
                        code = worker.process.exitcode if code is None else code
                        reason = "解析器在读取此文件时崩溃（文件可能已损坏或被恶意构造）"
                        if code is not None and code < 0:
                            reason += f"，信号 {-code}"
                        results[index] = job.failed("crash", reason, self.timeout - worker.deadline + now)
                        busy.remove(worker)
                        self._replace(worker)
                        continue
                    worker.job = None
                    busy.remove(worker)
                elif time.monotonic() >= worker.deadline:
                    results[index] = job.failed(
                        "timeout", f"读取超过 {self.timeout:g} 秒仍未完成，已放弃此文件", self.timeout
                    )
                    busy.remove(worker)
                    self._replace(worker)
        return results


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))
