"""The engines of a Dask worker process: the flow's tasks that run there check with them.

Registered on the cluster by flows/check.py `run_check_dossiers` (imported only with `--dask-address`, as
distributed is); each worker builds its engines on first use, with one pool sized to the worker, and closes
them when it stops. Also where the workers run, for the batch to tell whether its Prefect server is within
their reach."""

from __future__ import annotations

import multiprocessing
from typing import Any

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from extractors.sandbox import default_workers
from pipeline.engine import Engine, Engines

NAME = "dossier-engines"


def allow_reading_processes() -> None:
    """Let this Dask worker process start the extraction pool's processes.

    A nanny starts its worker as a daemonic multiprocessing process (`distributed.worker.daemon`), and
    multiprocessing refuses any child of a daemonic process: every dossier failed with "daemonic
    processes are not allowed to have children". The flag only feeds that check here: the nanny keeps
    its own handle on this process and still stops or kills it as before, and the reading processes
    are daemonic children of ours, stopped when the engines close or this process exits."""
    process = multiprocessing.current_process()
    if process.daemon:
        process.daemon = False


def pool_size(worker: Any) -> int:
    """Reading processes for this worker: its threads (what `dask worker --nthreads` gives it of the
    machine; all cores by default), no more than the cores it may run on."""
    return max(1, min(worker.state.nthreads, default_workers()))


class EnginesPlugin(WorkerPlugin):
    name = NAME
    # A second batch on the same cluster keeps the engines (and the warm pool) a running batch uses.
    idempotent = True

    def setup(self, worker: Any) -> None:
        allow_reading_processes()
        self.engines = Engines()
        self.pool_size = pool_size(worker)

    def teardown(self, worker: Any) -> None:
        self.engines.close()


def worker_engine(ruleset_ref: str, timeout: float) -> Engine:
    """This Dask worker's engine for the ruleset (the task runs inside one): one pool per worker, sized
    to the worker, whatever `--workers` the batch's own machine was given."""
    plugin: EnginesPlugin = get_worker().plugins[NAME]
    return plugin.engines.get(ruleset_ref, plugin.pool_size, timeout)


def _this_machine() -> set[str]:
    """This machine's addresses (every interface's)."""
    import psutil  # distributed's own dependency

    return {address.address for addresses in psutil.net_if_addrs().values() for address in addresses}


def workers_elsewhere(client: Any) -> list[str]:
    """The cluster's workers on other machines than this one, by host."""
    hosts = {info["host"] for info in client.scheduler_info()["workers"].values()}
    return sorted(hosts - _this_machine() - {"localhost"})
