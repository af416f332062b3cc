"""Serve the `check_dossiers` flow from a Prefect server: `dossier serve` (see flows/SERVER.md).

This registers a deployment (default name `dossier-check`) with the server PREFECT_API_URL names and
runs its flow runs on this machine until stopped (Ctrl-C): start them from the UI or with
`prefect deployment run check_dossiers/dossier-check -p inbox=… -p out=…`. `dossier batch` does not
need any of this: without PREFECT_API_URL it runs the same flow on a temporary local server.
"""

from __future__ import annotations

from flows import Refused

DESCRIPTION = "山东省特色产业集群申报材料预审：检查收件目录下的每个申报材料包，写出报告和汇总表。"


def serve(
    name: str = "dossier-check",
    inbox: str | None = None,
    out: str | None = None,
    cron: str | None = None,
    limit: int = 1,
) -> None:
    """Register the deployment and run its flow runs until stopped; `flows.Refused` without PREFECT_API_URL
    (the deployment would live on a temporary server that dies with this process)."""
    from flows.server import quiet_prefect

    quiet_prefect()  # before Prefect is imported
    from prefect.settings import PREFECT_API_URL
    from prefect.types.entrypoint import EntrypointType

    if not PREFECT_API_URL.value():
        raise Refused(
            "请先设置 PREFECT_API_URL（例如 export PREFECT_API_URL=http://127.0.0.1:4200/api），见 flows/SERVER.md"
        )

    from flows.check import check_dossiers

    defaults = {key: value for key, value in (("inbox", inbox), ("out", out)) if value}
    check_dossiers.serve(
        name=name,
        parameters=defaults,
        cron=cron,
        limit=limit,
        tags=["dossier-check"],
        description=DESCRIPTION,
        # By module name, not file path: the runs import flows.check as `dossier batch` does, so both
        # share the cache of checked dossiers.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
