"""The extraction sandbox: a file that hangs or kills its reader costs that file, not the run."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from extractors.sandbox import ExtractionPool, FileJob, PoolClosed, queue_as_one


def _job(path: Path) -> FileJob:
    return FileJob(path, path.name, "0" * 64, 0)


def test_a_hanging_file_times_out_and_the_next_file_is_still_read(tmp_path: Path) -> None:
    fifo = tmp_path / "卡住.pdf"
    os.mkfifo(fifo)  # opening it for reading blocks forever: a reader that never returns
    good = tmp_path / "说明.txt"
    good.write_text("特色产业集群发展情况简介\n正文", encoding="utf-8")
    with ExtractionPool(workers=1, timeout=1.5) as pool:
        pool._start(1)
        first = pool._workers[0].tmp  # the worker's own temporary folder
        started = time.monotonic()
        hung, read = pool.run_all([_job(fifo), _job(good)])
        elapsed = time.monotonic() - started
        assert not first.exists()  # killed for its time limit: its temporary files went with it
    assert hung.error_kind == "timeout" and "1.5 秒" in (hung.error or "")
    assert read.error is None and read.text.startswith("特色产业集群")
    assert elapsed < 30


def test_a_reader_that_dies_is_reported_and_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "崩溃.pdf"
    os.mkfifo(fifo)
    good = tmp_path / "b.txt"
    good.write_text("正文", encoding="utf-8")
    with ExtractionPool(workers=1, timeout=30) as pool:
        killer = threading.Thread(target=_kill_busy_worker, args=(pool,))
        killer.start()
        crashed, read = pool.run_all([_job(fifo), _job(good)])
        killer.join()
    assert crashed.error_kind == "crash" and "崩溃" in (crashed.error or "")
    assert read.error is None


def _kill_busy_worker(pool: ExtractionPool) -> None:
    for _ in range(200):
        busy = [w for w in pool._workers if w.task is not None]
        if busy:
            time.sleep(0.2)
            os.kill(busy[0].process.pid, 9)  # as a segfault in pdfium would
            return
        time.sleep(0.05)


def test_parallel_workers_keep_order(tmp_path: Path) -> None:
    jobs = []
    for i in range(6):
        path = tmp_path / f"{i}.txt"
        path.write_text(f"第{i}个文件", encoding="utf-8")
        jobs.append(_job(path))
    with ExtractionPool(workers=2) as pool:
        docs = pool.run_all(jobs)
    assert [d.text for d in docs] == [f"第{i}个文件" for i in range(6)]


OWNER = """
import sys
from pathlib import Path
from extractors.sandbox import ExtractionPool, FileJob

fifo = Path(sys.argv[1])
pool = ExtractionPool(workers=1, timeout=600)
pool._start(1)
print(pool._workers[0].process.pid, flush=True)
pool.run_all([FileJob(fifo, fifo.name, "0" * 64, 0)])
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_busy_reader_dies_with_a_killed_owner(tmp_path: Path) -> None:
    # A Dask nanny restarting its worker, the OOM killer, kill -9: the owner stops nothing itself, and a
    # reader stuck in a file (here a FIFO nobody writes to) must not go on for good.
    fifo = tmp_path / "卡住.pdf"
    os.mkfifo(fifo)
    root = Path(__file__).resolve().parents[1]
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(fifo)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        cwd=root,
    )
    try:
        assert owner.stdout is not None
        reader = int(owner.stdout.readline())
        time.sleep(1)  # the reader is blocked in the FIFO by now
        assert _running(reader)
    finally:
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 10
    while _running(reader) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _running(reader):
        os.kill(reader, 9)
        raise AssertionError("the reader outlived its killed owner")


# -- several callers at once ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tagged:
    """A job whose result names it: (tag, the worker's pid); `failed()` gives (tag, kind). In the worker it
    first notes its tag in `log` and its pid in `started`, then kills itself (`crash`) or waits for `gate`."""

    tag: str
    started: Path | None = None
    gate: Path | None = None
    log: Path | None = None
    crash: bool = False

    def run(self) -> tuple[str, Any]:
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as log:
                log.write(self.tag + "\n")
        if self.started is not None:  # whole or not at all: the test reads it as soon as it exists
            part = self.started.with_name(self.started.name + ".part")
            part.write_text(str(os.getpid()), encoding="utf-8")
            part.replace(self.started)
        if self.crash:
            os.kill(os.getpid(), signal.SIGKILL)
        while self.gate is not None and not self.gate.exists():
            time.sleep(0.02)
        return self.tag, os.getpid()

    def failed(self, kind: str, reason: str, seconds: float) -> tuple[str, Any]:
        return self.tag, kind


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 60  # a guard against hanging, not a measure
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def _tags(results: list[tuple[str, Any]]) -> list[str]:
    return [tag for tag, _ in results]


def test_two_callers_run_at_once_and_each_gets_its_own_results(tmp_path: Path) -> None:
    """A's first job waits for B's first job to start: with callers let in one at a time it would time out."""
    a_started, b_started = tmp_path / "a-started", tmp_path / "b-started"
    a_jobs = [Tagged("A0", started=a_started, gate=b_started), *(Tagged(f"A{i}") for i in range(1, 5))]
    b_jobs = [Tagged("B0", started=b_started), *(Tagged(f"B{i}") for i in range(1, 5))]

    def second_caller(pool: ExtractionPool) -> list[tuple[str, Any]]:
        _wait_for(a_started)
        return pool.run_all(b_jobs)

    with ExtractionPool(workers=2, timeout=30) as pool, ThreadPoolExecutor(2) as threads:
        a = threads.submit(pool.run_all, a_jobs)
        b = threads.submit(second_caller, pool)
        a_results, b_results = a.result(), b.result()
    assert all(isinstance(pid, int) for _, pid in a_results + b_results)  # none failed
    assert _tags(a_results) == [job.tag for job in a_jobs]
    assert _tags(b_results) == [job.tag for job in b_jobs]


def test_an_idle_worker_takes_the_earliest_submitted_job(tmp_path: Path) -> None:
    """One worker, two callers: the second caller's jobs wait behind all of the first's."""
    log, a_started, gate = tmp_path / "log", tmp_path / "a-started", tmp_path / "gate"
    a_jobs = [Tagged("A0", started=a_started, gate=gate, log=log), Tagged("A1", log=log), Tagged("A2", log=log)]
    b_jobs = [Tagged("B0", log=log), Tagged("B1", log=log)]
    with ExtractionPool(workers=1, timeout=60) as pool, ThreadPoolExecutor(2) as threads:
        a = threads.submit(pool.run_all, a_jobs)
        _wait_for(a_started)
        b = threads.submit(pool.run_all, b_jobs)
        deadline = time.monotonic() + 30  # a guard against hanging, not a measure
        while len(pool._queue) < 4 and time.monotonic() < deadline:  # A1 A2 B0 B1 wait while A0 runs
            time.sleep(0.02)
        gate.touch()
        assert _tags(a.result()) == ["A0", "A1", "A2"] and _tags(b.result()) == ["B0", "B1"]
    assert log.read_text(encoding="utf-8").split() == ["A0", "A1", "A2", "B0", "B1"]


def test_jobs_queued_as_one_go_in_the_turn_they_began(tmp_path: Path) -> None:
    """A dossier's later jobs (its seal search) go before those of a dossier begun after it."""
    log, b_started, gate = tmp_path / "log", tmp_path / "b-started", tmp_path / "gate"
    b_jobs = [Tagged("B0", started=b_started, gate=gate, log=log), Tagged("B1", log=log), Tagged("B2", log=log)]
    e_jobs = [Tagged("E0", log=log), Tagged("E1", log=log)]
    turn_begun, b_running = threading.Event(), threading.Event()

    def earlier_turn(pool: ExtractionPool) -> list[tuple[str, Any]]:
        with queue_as_one():
            turn_begun.set()
            b_running.wait()
            return pool.run_all(e_jobs)

    with ExtractionPool(workers=1, timeout=60) as pool, ThreadPoolExecutor(2) as threads:
        e = threads.submit(earlier_turn, pool)
        turn_begun.wait()
        b = threads.submit(pool.run_all, b_jobs)
        _wait_for(b_started)
        b_running.set()
        deadline = time.monotonic() + 30  # a guard against hanging, not a measure
        while len(pool._queue) < 4 and time.monotonic() < deadline:  # B1 B2 E0 E1 wait while B0 runs
            time.sleep(0.02)
        gate.touch()
        assert _tags(e.result()) == ["E0", "E1"] and _tags(b.result()) == ["B0", "B1", "B2"]
    assert log.read_text(encoding="utf-8").split() == ["B0", "E0", "E1", "B1", "B2"]


def test_one_callers_crash_and_timeout_leave_the_others_results_alone(tmp_path: Path) -> None:
    never = tmp_path / "never"
    a_jobs = [Tagged("A0", gate=never), Tagged("A1"), Tagged("A2")]  # A0 runs out of time
    b_jobs = [Tagged("B0", crash=True), Tagged("B1"), Tagged("B2")]  # B0 kills its worker
    with ExtractionPool(workers=2, timeout=2) as pool, ThreadPoolExecutor(2) as threads:
        a = threads.submit(pool.run_all, a_jobs)
        b = threads.submit(pool.run_all, b_jobs)
        a_results, b_results = a.result(), b.result()
        again = pool.run_all([Tagged("C0"), Tagged("C1")])  # the replaced workers serve the next caller
    assert a_results[0] == ("A0", "timeout") and _tags(a_results) == ["A0", "A1", "A2"]
    assert b_results[0] == ("B0", "crash") and _tags(b_results) == ["B0", "B1", "B2"]
    assert all(isinstance(pid, int) for _, pid in a_results[1:] + b_results[1:] + again)
    assert _tags(again) == ["C0", "C1"]


def test_close_while_a_caller_waits_raises_in_that_caller(tmp_path: Path) -> None:
    started = tmp_path / "started"
    pool = ExtractionPool(workers=1, timeout=600)
    with ThreadPoolExecutor(1) as threads:
        waiting = threads.submit(pool.run_all, [Tagged("A0", started=started, gate=tmp_path / "never")])
        _wait_for(started)
        pid = int(started.read_text(encoding="utf-8"))
        pool.close()
        with pytest.raises(PoolClosed):
            waiting.result(timeout=60)  # a guard against hanging, not a measure
    assert not _alive(pid)
    with pool:  # a closed pool starts afresh when used again
        assert _tags(pool.run_all([Tagged("B0")])) == ["B0"]


def test_an_interrupted_caller_drops_its_jobs_and_their_worker(tmp_path: Path) -> None:
    """As Prefect's time limit for a task does: an exception raised in the waiting thread."""
    started, gate = tmp_path / "started", tmp_path / "gate"
    a_jobs = [Tagged("A0", started=started, gate=gate), Tagged("A1"), Tagged("A2")]
    thread_ids: list[int] = []

    def caller(pool: ExtractionPool) -> list[tuple[str, Any]]:
        thread_ids.append(threading.get_ident())
        return pool.run_all(a_jobs)

    with ExtractionPool(workers=1, timeout=600) as pool, ThreadPoolExecutor(1) as threads:
        interrupted = threads.submit(caller, pool)
        _wait_for(started)
        pid = int(started.read_text(encoding="utf-8"))
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_ids[0]), ctypes.py_object(TimeoutError))
        with pytest.raises(TimeoutError):
            interrupted.result(timeout=60)
        gate.touch()  # were A0 still running, its result would now be there to be misdelivered
        results = pool.run_all([Tagged("B0"), Tagged("B1")])
    assert _tags(results) == ["B0", "B1"] and all(isinstance(p, int) for _, p in results)
    assert not _alive(pid)  # A0's worker was replaced, not left busy with a job nobody waits for


def _alive(pid: int) -> bool:
    deadline = time.monotonic() + 30  # a killed worker is reaped by the pool; give it a moment
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return False
        time.sleep(0.05)
    return True
