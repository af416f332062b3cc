"""The clerk's desk as a bureau runs it, for the browser tests: `dossier web` and `dossier watch` as real
processes, and Debian's Chromium driven by Playwright (the system's browser: nothing is downloaded).

A process's output goes to files beside its folders, so that a failure can show what it printed.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOSSIER = str(Path(sys.executable).with_name("dossier"))
CHROMIUM = Path(os.environ.get("DOSSIER_CHROMIUM", "/usr/bin/chromium"))
# Playwright (1.49+) launches it in Chromium's own headless mode, as it does any browser it did not bring; the
# Debian build is newer than the one a Playwright release is tested with, which the DevTools protocol tolerates.
# Headless Chromium on a closed network: without the background-networking flags its own connections
# (updates, sync, QUIC probes) are refused and slow every start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python 包 playwright 未安装（make test 会安装 dev 依赖）"
    if not os.access(CHROMIUM, os.X_OK):
        return f"没有 {CHROMIUM}（Debian 软件包 chromium；scripts/system-deps.sh 会安装）"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a `dossier` process: this checkout's code first, whatever the venv was installed from."""
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else ""), **extra}


def wait_for(condition: Callable[[], Any], timeout: float, what: str, process: Process | None = None) -> Any:
    """Poll `condition` until it is true (its value is returned); AssertionError with the process's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if process is not None and process.proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (process.output() if process else ""))


def get(host: str, port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """A raw GET: the path is sent exactly as written (a browser or urllib would normalise `..` away),
    and no proxy of the environment is asked."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": f"{host}:{port}", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Process:
    """A `dossier` command as a child process; its output in LOG.out / LOG.err."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.args, self.log, self.env = args, log, env or child_env()
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.with_suffix(".out").open("a") as out, self.log.with_suffix(".err").open("a") as err:
            return subprocess.Popen(
                [DOSSIER, *self.args], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=self.env
            )

    def output(self) -> str:
        parts = []
        for suffix in (".out", ".err"):
            path = self.log.with_suffix(suffix)
            text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
            parts.append(f"\n--- dossier {' '.join(self.args)} {suffix[1:]} ---\n{text[-6000:]}")
        return "".join(parts)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a service manager stops it; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"still running {timeout} s after SIGTERM" + self.output()) from None

    def kill(self) -> None:
        """Whatever happens: gone (for the end of a fixture that failed half-way)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Web(Process):
    """`dossier web OUT --inbox INBOX --host HOST --port PORT …`, up once /healthz answers."""

    def __init__(self, out: Path, inbox: Path | None, log: Path, host: str = "127.0.0.1", *extra: str) -> None:
        self.host, self.port = host, free_port(host)
        args = ["web", str(out), *(["--inbox", str(inbox)] if inbox else []), "--host", host, "--port", str(self.port)]
        super().__init__([*args, *extra], log)
        self.wait_up()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def healthy(self) -> bool:
        try:
            return get(self.host, self.port, "/healthz")[0] == 200
        except OSError:
            return False

    def wait_up(self) -> None:
        wait_for(self.healthy, 60, f"{self.url}/healthz", self)

    def restart(self) -> int:
        """Stop with SIGTERM and start again on the same port; the stopped process's exit code."""
        code = self.stop()
        self.proc = self._start()
        self.wait_up()
        return code

    def get(self, path: str) -> tuple[int, bytes]:
        return get(self.host, self.port, path)


class Watch(Process):
    """`dossier watch INBOX --out OUT --settle 1`; what it did is read from its events (DOSSIER_EVENT_LOG)."""

    def __init__(self, inbox: Path, out: Path, log: Path) -> None:
        self.events_file = log.with_suffix(".jsonl")
        env = child_env(DOSSIER_EVENT_LOG=str(self.events_file))
        super().__init__(["watch", str(inbox), "--out", str(out), "--settle", "1"], log, env)

    def events(self, name: str) -> list[dict[str, Any]]:
        if not self.events_file.exists():
            return []
        lines = self.events_file.read_text(encoding="utf-8").splitlines()
        return [e for e in map(json.loads, filter(str.strip, lines)) if e.get("event") == name]

    def wait_started(self) -> None:
        # Prefect's temporary server starts first: 7–9 s on two cores, 15–20 s with a new database.
        wait_for(lambda: self.events("watch_started"), 120, "the watch service to start", self)
