"""The engines of a Dask worker process: the flow's tasks that run there check with them.

Registered on the cluster by flows/check.py `run_check_dossiers` (imported only with `--dask-address`, as
distributed is); each worker builds its engines on first use and closes them when it stops."""

from __future__ import annotations

from typing import Any

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from pipeline.engine import Engines

NAME = "dossier-engines"


class EnginesPlugin(WorkerPlugin):
    name = NAME

    def setup(self, worker: Any) -> None:
        self.engines = Engines()

    def teardown(self, worker: Any) -> None:
        self.engines.close()


def worker_engines() -> Engines:
    """This Dask worker's engines (the task runs inside one)."""
    plugin: EnginesPlugin = get_worker().plugins[NAME]
    return plugin.engines
