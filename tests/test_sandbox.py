"""The extraction sandbox: a file that hangs or kills its reader costs that file, not the run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from extractors.sandbox import ExtractionPool, FileJob


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
        busy = [w for w in pool._workers if w.job is not None]
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
