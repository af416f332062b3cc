"""`dossier batch --dask-address` on a real Dask cluster: a `dask scheduler` and `dask worker` processes
(each with its nanny, as a bureau starts them) on loopback, started here as subprocesses.

The workers import this checkout (PYTHONPATH is the repository the tests run from); the batch reports
to the module's temporary Prefect server (conftest.py `prefect_env`) and checks every dossier again
(PREFECT_TASKS_REFRESH_CACHE), so that no test is served from another's cache. Every process started
here is killed with its process group when the test ends, passed or not.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from pipeline.dossier import dossier_id
from tests.conftest import inbox_of

# The functions run on the workers (Client.run) travel by value: the workers cannot import this module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CORES = len(os.sched_getaffinity(0))
CONTACT = "tcp://192.0.2.1:40000"  # a documentation address: a worker that says it is on another machine
# Small text dossiers (no OCR); the two tests check different ones.
TWO_WORKERS = (
    "03-泰安市岱岳区绿色建材.zip",
    "09-滕州市煤化工-简介3010字",
    "10-泰安市岱岳区绿色建材-简介3000字",
    "11-临朐县铝型材加工-简介2990字.zip",
    "12-滕州市煤化工-简介3001字",
    "13-泰安市岱岳区绿色建材-干扰词",
)
KILLED_WORKER = (
    "01-临朐县铝型材加工",
    "02-滕州市煤化工.zip",
    "05-滕州市煤化工申报材料汇编.docx",
    "06-泰安市岱岳区绿色建材-新建文件夹",
    "07-诸城市预制菜",
    "08-临朐县铝型材加工-缺项",
    "14-临朐县铝型材加工-文件损坏",
    "15-滕州市煤化工-重复文件",
    "16-泰安市岱岳区绿色建材-规划空白",
    "18-临朐县铝型材加工-汇总材料",
    "20-泰安市岱岳区绿色建材申报材料（无目录）.pdf",
    "22-临朐县铝型材加工申报材料.docx",
)


class Cluster:
    """A scheduler and its workers, each a process group of its own (nanny, worker, reading processes)."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = {**env, "PYTHONPATH": str(ROOT), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.address = ""
        self.client: Any = None

    def _start(self, name: str, *args: str) -> None:
        with (self.folder / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                [str(BIN / "dask"), *args],
                cwd=self.folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed whole, children included
            )

    def start(self, *workers: tuple[str, int], extra: tuple[str, ...] = ()) -> Cluster:
        """The scheduler on a free loopback port, then each (name, threads) worker with its nanny (`extra`:
        more `dask worker` options); returns when all are in."""
        from distributed import Client

        address_file = self.folder / "scheduler.json"
        scheduler = ["scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(address_file)]
        self._start("scheduler", *scheduler, "--no-dashboard")
        self.address = _wait_for(lambda: _address(address_file), 60, "the scheduler")
        for name, threads in workers:
            options = ["--name", name, "--nthreads", str(threads), "--nworkers", "1", "--no-dashboard", *extra]
            self._start(name, "worker", self.address, *options, "--local-directory", str(self.folder / name))
        self.client = Client(self.address, timeout=60)
        self.client.wait_for_workers(len(workers), timeout=120)
        return self

    def by_name(self, function: Callable[..., Any]) -> dict[str, Any]:
        """function(dask_worker) run on every live worker, by worker name."""
        names = {address: info["name"] for address, info in self.client.scheduler_info()["workers"].items()}
        return {names[address]: value for address, value in self.client.run(function).items()}

    def kill(self, name: str) -> None:
        """SIGKILL a process group: the worker's nanny, the worker and its reading processes at once."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        for name in list(self.processes):
            self.kill(name)


def _address(path: Path) -> str | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["address"]
    except (OSError, ValueError, KeyError):
        return None


def _wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds:g} s for {what}")


@pytest.fixture
def cluster(tmp_path: Path, prefect_env: dict[str, str]) -> Iterator[Cluster]:
    folder = tmp_path / "cluster"
    folder.mkdir()
    running = Cluster(folder, prefect_env)
    try:
        yield running
    finally:
        running.close()


def _batch(env: dict[str, str], inbox: Path, out: Path, address: str, events: Path) -> subprocess.Popen[str]:
    """`dossier batch` on the cluster, its JSON event log in `events`; --workers 3 is the batch machine's."""
    command = [str(BIN / "dossier"), "batch", str(inbox), "--out", str(out), "--quiet", "--workers", "3"]
    return subprocess.Popen(
        [*command, "--dask-address", address],
        env={
            **env,
            "PYTHONPATH": str(ROOT),
            "DOSSIER_EVENT_LOG": str(events),
            "PREFECT_TASKS_REFRESH_CACHE": "true",  # every dossier really checked, in every test
        },
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _finish(batch: subprocess.Popen[str], seconds: float = 300) -> tuple[int, str]:
    try:
        stdout, stderr = batch.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(batch.pid, signal.SIGKILL)
        stdout, stderr = batch.communicate()
    return batch.returncode, stdout + stderr


def _errors(out: Path) -> str:
    """The last line of every dossier's error.txt (why it failed), for an assertion's message."""
    return "".join(
        f"\n{path.parent.name}: {path.read_text(encoding='utf-8').strip().splitlines()[-1]}"
        for path in sorted(out.glob("*/error.txt"))
    )


def _checked(events: Path) -> list[str]:
    """The dossiers the batch reported checked, one entry per report (event `dossier_checked`)."""
    if not events.exists():
        return []
    records = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["dossier"] for r in records if r.get("event") == "dossier_checked"]


def _assert_every_dossier_reported_once(out: Path, events: Path, names: tuple[str, ...], truth: dict[str, Any]):
    ids = [dossier_id(name) for name in names]
    rows = json.loads((out / "summary.json").read_text(encoding="utf-8"))["dossiers"]
    assert [r["id"] for r in rows] == ids  # one row each, none twice, in the inbox's order
    assert Counter(_checked(events)) == Counter(ids)  # reported once each
    for row in rows:
        report = json.loads((out / row["id"] / "report.json").read_text(encoding="utf-8"))
        assert row["verdict"] == report["verdict"] == truth[row["id"]]["verdict"], row["id"]


def _executed(dask_worker: Any) -> int:
    return dask_worker.state.executed_count


def _counts(dask_worker: Any) -> tuple[int, int]:
    """Tasks the worker finished, and those it is running."""
    return dask_worker.state.executed_count, dask_worker.state.executing_count


def _reading_processes(dask_worker: Any) -> int:
    import multiprocessing

    return len(multiprocessing.active_children())


def test_dossiers_are_checked_by_both_workers(cluster: Cluster, tmp_path: Path, truth: dict[str, Any]) -> None:
    # Two workers of unequal size, each with its nanny: the worker process is a daemonic one.
    cluster.start(("small", 1), ("large", 2))
    inbox, out, events = inbox_of(tmp_path, TWO_WORKERS), tmp_path / "out", tmp_path / "events.jsonl"
    code, output = _finish(_batch(cluster.env, inbox, out, cluster.address, events))
    assert code == 0, output + _errors(out)
    _assert_every_dossier_reported_once(out, events, TWO_WORKERS, truth)
    executed = cluster.by_name(_executed)
    assert sum(executed.values()) == len(TWO_WORKERS)
    assert min(executed.values()) >= 1, executed  # both did work
    # One pool per worker, sized to its threads (and cores), not to the batch machine's --workers 3.
    assert cluster.by_name(_reading_processes) == {"small": 1, "large": min(2, CORES)}


def test_a_killed_worker_loses_no_dossier(cluster: Cluster, tmp_path: Path, truth: dict[str, Any]) -> None:
    cluster.start(("victim", 1), ("survivor", 1))
    inbox, out, events = inbox_of(tmp_path, KILLED_WORKER), tmp_path / "out", tmp_path / "events.jsonl"
    batch = _batch(cluster.env, inbox, out, cluster.address, events)
    seen: dict[str, tuple[int, int]] = {}

    def victim_busy() -> bool:
        seen.update(cluster.by_name(_counts))
        done, running = seen["victim"]
        return done >= 1 and running >= 1

    try:
        # Once the victim has checked a dossier and is busy with the next one, SIGKILL its nanny and
        # worker (and their reading processes) at once, as when a machine goes down.
        _wait_for(victim_busy, 120, "the victim to be checking a dossier")
        cluster.kill("victim")
        reported_before = len(_checked(events))
        code, output = _finish(batch)
    finally:
        if batch.poll() is None:
            os.killpg(batch.pid, signal.SIGKILL)
            batch.wait()
    assert reported_before < len(KILLED_WORKER)  # the kill came mid-batch
    assert code == 0, output + _errors(out)
    _assert_every_dossier_reported_once(out, events, KILLED_WORKER, truth)
    after = cluster.by_name(_counts)
    assert list(after) == ["survivor"]
    assert after["survivor"][0] > seen["survivor"][0]  # the rest, the victim's dossier in hand included


def test_workers_elsewhere_need_a_prefect_server_they_reach(cluster: Cluster, tmp_path: Path) -> None:
    # A worker that says it is on another machine (192.0.2.1, a documentation address): the module's
    # Prefect server listens on 127.0.0.1, which that machine could not reach. The batch says so.
    cluster.start(("elsewhere", 1), extra=("--listen-address", "tcp://127.0.0.1:0", "--contact-address", CONTACT))
    inbox, out = inbox_of(tmp_path, TWO_WORKERS[:1]), tmp_path / "out"
    code, output = _finish(_batch(cluster.env, inbox, out, cluster.address, tmp_path / "events.jsonl"))
    assert code == 1
    assert "192.0.2.1" in output and "PREFECT_API_URL" in output
