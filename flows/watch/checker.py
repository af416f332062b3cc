"""The watch service's Prefect adapter: checking a dossier is a run of the `check_dossiers` flow.

So the watch service checks exactly as `dossier batch` does (flows/check.py) and, with PREFECT_API_URL set,
each dossier it checks shows in that server's UI as a flow run (parameter `only` names the dossier).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from core.names import shown

# A checker checks one dossier and writes OUT/<ident>/report.* (report.json among them); it returns the
# summary.json row, and raises (or returns a row with verdict "failed") when the dossier cannot be checked.
Checker = Callable[[Path, str, Path], dict[str, Any]]


class CheckFailed(Exception):
    """The checker returned a failed row instead of raising; the message is the flow's own wording."""


def failure_reason(exc: BaseException) -> str:
    """Why a dossier could not be checked, for the clerk."""
    if isinstance(exc, CheckFailed):
        return str(exc)
    from pipeline.runner import failure_reason as reason

    return reason(exc)


@contextmanager
def open_checker(
    ruleset_ref: str, formats: Sequence[str], timeout: float, workers: int, full_ocr: bool = False
) -> Iterator[Checker]:
    """The checker the service calls, for as long as the service runs; worker processes stay warm.

    The flow runs on a thread of its own: Prefect turns SIGTERM into an exception inside a flow run on the
    main thread, which would abandon the dossier in hand instead of finishing it. Raises RulesetError
    before anything starts when the ruleset cannot be loaded.
    """
    from pipeline.ruleset import load_ruleset

    load_ruleset(ruleset_ref)
    from flows.server import start_server

    server = start_server()  # from the main thread (the server dies with it); sets Prefect's defaults first
    from flows.check import run_check_dossiers
    from pipeline.engine import Engines
    from pipeline.runner import resolve_ruleset

    ruleset_ref = resolve_ruleset(ruleset_ref)  # as the flow names it: loaded once

    def check(child: Path, ident: str, out: Path) -> dict[str, Any]:
        only = {ident: shown(child.name)}
        run = partial(
            run_check_dossiers,
            child.parent,
            out,
            ruleset_ref,
            formats,
            workers,
            timeout,
            only=only,
            engines=engines,
            server=server,
            full_ocr=full_ocr,
        )
        return flow_thread.submit(run, summary=False).result()[0]

    with Engines() as engines, ThreadPoolExecutor(max_workers=1, thread_name_prefix="flow") as flow_thread:
        engines.get(ruleset_ref, workers, timeout)  # the workers and jieba's dictionary load while Prefect does
        if server is not None:
            server.url()  # the service says it is watching once a dossier need not wait for Prefect
        with tempfile.TemporaryDirectory(prefix="dossier-watch-") as empty:  # a first flow run, of nothing:
            warm_up = partial(
                run_check_dossiers,
                Path(empty),
                Path(empty),
                ruleset_ref,
                formats,
                workers,
                timeout,
                engines=engines,
                server=server,
                full_ocr=full_ocr,
            )
            flow_thread.submit(warm_up, only={}, summary=False).result()  # Prefect's first-run costs go here
        yield check
