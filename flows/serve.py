"""Serve the `check_dossiers` flow from a Prefect server: `python -m flows.serve` (see flows/SERVER.md).

This registers a deployment (default name `dossier-check`) with the server PREFECT_API_URL names and
runs its flow runs on this machine until stopped (Ctrl-C): start them from the UI or with
`prefect deployment run check_dossiers/dossier-check -p inbox=… -p out=…`. `dossier batch` does not
need any of this: without PREFECT_API_URL it runs the same flow on a temporary local server.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.serve", description=__doc__)
    parser.add_argument("--name", default="dossier-check", help="deployment name (default: dossier-check)")
    parser.add_argument("--inbox", help="default INBOX of a run (the run's form may give another)")
    parser.add_argument("--out", help="default output folder of a run")
    parser.add_argument("--cron", help="also check the inbox on a schedule, e.g. '0 18 * * 1-5'")
    parser.add_argument(
        "--limit", type=int, default=1, help="batches at a time (default 1: one batch already uses every core)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")

    from prefect.settings import PREFECT_API_URL
    from prefect.types.entrypoint import EntrypointType

    if not PREFECT_API_URL.value():
        # Without it the deployment would live on a temporary server that dies with this process.
        print(
            "错误：请先设置 PREFECT_API_URL（例如 export PREFECT_API_URL=http://127.0.0.1:4200/api），"
            "见 flows/SERVER.md",
            file=sys.stderr,
        )
        return 2

    from flows.check import check_dossiers

    defaults = {key: value for key, value in (("inbox", args.inbox), ("out", args.out)) if value}
    check_dossiers.serve(
        name=args.name,
        parameters=defaults,
        cron=args.cron,
        limit=args.limit,
        tags=["dossier-check"],
        description="山东省特色产业集群申报材料预审：检查收件目录下的每个申报材料包，写出报告和汇总表。",
        # By module name, not file path: the runs import flows.check as `dossier batch` does, so both
        # share the cache of checked dossiers.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
