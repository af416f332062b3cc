"""Prefect's settings and its temporary local server for `dossier batch` and `dossier watch`; what is
checked before Prefect starts (a Dask scheduler's address).

Kept free of Prefect imports: all of this happens before Prefect is imported, since Prefect reads its
settings then, and the server should already be starting while Prefect (~2 s) and the pipeline load.

Why not let Prefect start its temporary server itself (it does, without PREFECT_API_URL):
- it starts it at the first flow run, after every import; started here, the 7–9 s it takes on two
  cores overlap with ours (measured: 10–13 s instead of 15–18 s to a trivial flow's first run), and
  services this server does not need are left off;
- Prefect's own survives a `kill -9` of the process that started it (150–250 MB each, for good);
  this one is tied to its parent with PR_SET_PDEATHSIG, so a crashed watch service leaves nothing;
- its database and stored results are ours (under the product's cache folder, pruned), not
  ~/.prefect's, which otherwise grow with every batch.
A bureau that runs `prefect server start` sets PREFECT_API_URL, and none of this happens.
"""

from __future__ import annotations

import atexit
import ctypes
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from core.paths import cache_root

STARTUP_TIMEOUT = 180.0  # two busy cores can take a minute; Prefect's default of 20 s is too short
# How long a checked dossier's result is served from the flow's cache (flows/check.py), and so how old a
# stored result gets before it is deleted.
RESULTS_KEPT = dt.timedelta(days=7)
DATABASE_LIMIT = 256 * 1024 * 1024  # the run history nobody looks at: begin a new one past this size


def quiet_prefect() -> None:
    """Defaults a bureau's machine wants (each one can still be overridden from the environment)."""
    # No usage data leaves the bureau's machine.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # Prefect's per-task log lines would drown the clerk's one line per dossier.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # The temporary server is stopped while it may still be recording the last events, and says so
    # with a traceback; nothing a clerk can act on (a server PREFECT_API_URL names is not affected).
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    # Prefect's own home (profiles, its local storage): in the product's cache, not in ~/.prefect.
    os.environ.setdefault("PREFECT_HOME", str(prefect_home()))
    # The cached reports (the flow's task results): ours, so that pruning them touches nothing else.
    os.environ.setdefault("PREFECT_RESULTS_LOCAL_STORAGE_PATH", str(prefect_home() / "results"))


def prefect_home() -> Path:
    return cache_root() / "prefect"


def prune_results(folder: Path, older_than: dt.timedelta = RESULTS_KEPT) -> int:
    """Delete stored results past the cache's expiry (Prefect never deletes them); how many went."""
    limit = time.time() - older_than.total_seconds()
    gone = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < limit:
                os.unlink(entry.path)
                gone += 1
        except OSError:
            continue  # another process's run may be using it
    return gone


PR_SET_PDEATHSIG = 1


def _die_with_parent(prctl: Callable[[int, int], int]) -> None:
    """In the server's process, before exec: SIGTERM it when the thread that started it dies."""
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryServer:
    """A Prefect API server on 127.0.0.1 for this process only (what Prefect's temporary server is)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home / "server.log"
        self._healthy = False

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        database = self.home / "prefect.db"
        if database.exists() and database.stat().st_size > DATABASE_LIMIT:
            for path in self.home.glob("prefect.db*"):  # the -wal and -shm files with it
                path.unlink(missing_ok=True)
        self.port = _free_port()
        env = {
            **os.environ,
            # What Prefect sets for its own temporary server: no UI, ephemeral services only.
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{database}",
            # Measured (7–9 s of CPU to start on two cores): what this server does not need, for
            # 1.5–3 s less per batch. No automations; no block types (the project loads none); task
            # runs and events not recorded (nobody sees this server's UI: its database stays small).
            # Cached results are unaffected: they live in PREFECT_RESULTS_LOCAL_STORAGE_PATH.
            "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
            "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
            "PREFECT_SERVER_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",  # its check alone imports dask
            "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "false",
            "PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED": "false",
        }
        env.pop("PREFECT_API_URL", None)
        app = ["--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port)]
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", *app, "--log-level", "error", "--lifespan", "on"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=partial(_die_with_parent, prctl),
            )
        atexit.register(self.stop)

    def wait(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Until the server answers; RuntimeError (with its log's end) when it cannot start."""
        if self._healthy:
            return
        import urllib.request  # here: the rest of this module runs before anything else is imported

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        self._healthy = True
                        return
            except OSError:
                pass
            time.sleep(0.1)
        tail = self.log.read_text(encoding="utf-8", errors="replace")[-2000:] if self.log.exists() else ""
        self.stop()
        raise RuntimeError(f"Prefect 临时服务未能启动（{timeout:g} 秒内无响应）：{tail}")

    def url(self) -> str:
        """Its API address, once it answers."""
        self.wait()
        return self.api_url

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_server() -> TemporaryServer | None:
    """A temporary server for this process's flow runs, starting now, unless PREFECT_API_URL names one.
    Its owner (the batch command, the watch service) hands it to `run_check_dossiers`; call from the main
    thread: the server dies with the thread that started it, and with the process."""
    quiet_prefect()
    if os.environ.get("PREFECT_API_URL"):
        return None
    server = TemporaryServer(prefect_home())
    server.start()
    if Path(os.environ["PREFECT_RESULTS_LOCAL_STORAGE_PATH"]) == prefect_home() / "results":
        prune_results(prefect_home() / "results")
    return server


def dask_address_problem(address: str, wait: float = 5.0) -> str | None:
    """Why a Dask scheduler address cannot be used (None when it answers): checked before Prefect starts."""
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or not parts.port:
        return f"Dask 调度器地址格式不对：{address}（例如 tcp://192.168.1.10:8786）"
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=wait):
            return None
    except OSError as exc:
        return f"连不上 Dask 调度器 {address}：{exc}"
