"""The service loop: file-system events and rescans make dossiers pending, settled ones are handed to the
registry walk; SIGTERM/SIGINT stop it after the dossier in hand. `watch()` runs it (or one `--once` pass)."""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from extractors.sandbox import DEFAULT_TIMEOUT, default_workers
from flows import Refused
from pipeline.formats import DEFAULT_FORMATS, Format
from pipeline.registry import FILENAME as REGISTRY_FILE
from pipeline.registry import Registry
from pipeline.ruleset import DEFAULT_RULESET, RulesetError, load_ruleset

from .checker import Checker, open_checker
from .outputs import RESERVED_IDS, clear_staging, single_instance
from .settle import SettleTracker, has_content, snapshot
from .walk import Counts, RegistryWalk, log

TICK = 0.2  # how often pending dossiers are looked at: bounds the latency after settling


class StopFlag:
    """Set by SIGTERM/SIGINT; the loop looks at it between dossiers. A second signal interrupts at once."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True  # no logging here: a signal can land inside another write


class WatchService(RegistryWalk):
    """The registry walk, driven by events and rescans until stopped."""

    def __init__(
        self,
        inbox: Path,
        out: Path,
        registry: Registry,
        checker: Checker,
        settle: float,
        item_titles: Mapping[str, str],
    ) -> None:
        super().__init__(inbox, out, registry, checker, item_titles)
        self.tracker = SettleTracker(settle)
        self.stop = StopFlag()

    def run_once(self) -> None:
        """Everything present now, as if settled (a clerk runs --once deliberately)."""
        for name in self.children():
            if self.stop.requested:
                break
            snap = snapshot(self.path(name))
            if snap is None or self.handled(name, snap):
                continue  # gone, or handled and untouched since
            for _ in range(3):
                if snap is None or self.handle(name, snap):
                    break
                snap = snapshot(self.path(name))  # written to while we hashed it
            else:
                log(
                    logging.WARNING, f"{name}：仍在写入，本次未处理（下次运行时处理）", "dossier_unsettled", source=name
                )

    def run(self, rescan: float, polling: bool) -> None:
        """Until SIGTERM/SIGINT: events and rescans make dossiers pending; settled ones are checked."""
        events: queue.SimpleQueue[str] = queue.SimpleQueue()
        observer = start_observer(self.inbox, events, polling)
        pending: set[str] = set(self.children())
        next_rescan = time.monotonic() + rescan
        try:
            while not self.stop.requested:
                try:  # wake at once on an event, else look again after a tick
                    pending.add(self.key(events.get(timeout=TICK if pending else min(1.0, rescan))))
                    while True:
                        pending.add(self.key(events.get_nowait()))
                except queue.Empty:
                    pass
                if time.monotonic() >= next_rescan:
                    pending.update(self.children())  # events are lost on network shares
                    next_rescan = time.monotonic() + rescan
                for name in sorted(pending):
                    if self.stop.requested:
                        break
                    if self._look_at(name):
                        pending.discard(name)
        finally:
            observer.stop()
            observer.join(timeout=5)

    def _look_at(self, name: str) -> bool:
        """Take one look at a pending dossier; True when it needs no more looks for now."""
        if not self.candidate(name):
            return True
        snap = snapshot(self.path(name))
        if snap is None:
            self.tracker.forget(name)
            return True
        if self.handled(name, snap) or not has_content(snap):
            self.tracker.forget(name)  # handled and untouched since / an empty folder: an event brings it back
            return True
        if not (self.resumable(name, snap) or self.tracker.observe(name, snap, time.monotonic())):
            return False
        self.tracker.forget(name)
        try:
            return self.handle(name, snap)
        except Exception as exc:  # the registry or OUT failing: report it, try again at the next rescan
            message = f"{name}：处理时出错：{type(exc).__name__}: {exc}"
            log(logging.ERROR, message, "dossier_error", source=name, error=repr(exc), exc_info=True)
            return True


class _Events:
    """watchdog handler: the inbox child an event concerns goes to the queue."""

    def __init__(self, inbox: Path, sink: queue.SimpleQueue[str]) -> None:
        self.inbox = str(inbox)
        self.sink = sink

    def dispatch(self, event: Any) -> None:
        # Our own reading opens files: those events say nothing new.
        if event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(raw) if raw else ""
            rel = os.path.relpath(path, self.inbox) if path else ""
            if rel and rel != "." and not rel.startswith(".."):
                self.sink.put(rel.split(os.sep, 1)[0])


def start_observer(inbox: Path, sink: queue.SimpleQueue[str], polling: bool) -> Any:
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    handler = _Events(inbox, sink)
    if not polling:
        try:
            observer = Observer()
            observer.schedule(handler, str(inbox), recursive=True)  # type: ignore[arg-type]
            observer.start()
            return observer
        except OSError as exc:  # inotify watches exhausted, unsupported file system …
            log(logging.WARNING, f"无法使用文件系统事件（{exc}），改用轮询", "events_unavailable", error=str(exc))
    observer = PollingObserver(timeout=1.0)
    observer.schedule(handler, str(inbox), recursive=True)  # type: ignore[arg-type]
    observer.start()
    return observer


# ---------------------------------------------------------------------------------------------------
# Running the service
# ---------------------------------------------------------------------------------------------------


def watch(
    inbox: Path,
    out: Path,
    once: bool = False,
    settle: float = 5.0,
    rescan: float = 30.0,
    polling: bool = False,
    *,
    formats: Sequence[str] = DEFAULT_FORMATS,
    ruleset: str = DEFAULT_RULESET,
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    full_ocr: bool = False,
) -> Counts:
    """Run the watch service until stopped (or one pass with `once`); what it did. Raises `flows.Refused`
    when it cannot start (no inbox, OUT in use, a bad ruleset)."""
    inbox, out = Path(inbox).resolve(), Path(out).resolve()
    if not inbox.is_dir():
        raise Refused(f"找不到收件箱目录：{inbox}")
    if inbox == out:
        raise Refused("输出目录不能是收件箱本身")
    # report.json always: the registry and the log line read it.
    formats = [Format.JSON.value, *[str(f) for f in formats if f != Format.JSON]]
    out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if not stack.enter_context(single_instance(out)):
            raise Refused(f"已有监视服务在使用输出目录 {out}")
        protect_workers()
        try:
            checker = stack.enter_context(
                open_checker(ruleset, formats, timeout, workers or default_workers(), full_ocr)
            )
        except RulesetError as exc:
            raise Refused(str(exc)) from exc
        registry = stack.enter_context(Registry(out / REGISTRY_FILE, RESERVED_IDS))
        titles = {item.id: item.title for item in load_ruleset(ruleset).items}
        service = WatchService(inbox, out, registry, checker, settle, titles)
        stack.callback(restore_signals, install_signals(service.stop))
        return run_service(service, once, settle, rescan, polling)


def run_service(service: WatchService, once: bool, settle: float, rescan: float, polling: bool) -> Counts:
    """Recover, run (or one pass), stop: each step a log event (watch_started, watch_stopped …)."""
    how = (
        "单次处理"
        if once
        else f"稳定等待 {settle:g} 秒，每 {rescan:g} 秒全盘扫描，{'轮询' if polling else '文件系统事件'}"
    )
    log(
        logging.INFO,
        f"开始监视收件箱 {service.inbox} → {service.out}（{how}）",
        "watch_started",
        inbox=str(service.inbox),
        out=str(service.out),
        once=once,
        settle=settle,
        rescan=rescan,
        polling=polling,
    )
    service.recover()
    service.write_summary()
    if once:
        service.run_once()
    else:
        service.run(rescan, polling)
    service.write_summary()
    clear_staging(service.out)
    counts = service.counts
    why = "收到停止信号，" if service.stop.requested else ""
    log(
        logging.INFO,
        f"{why}已停止监视：检查 {counts.checked} 个，处理失败 {counts.failed} 个，未变化跳过 {counts.skipped} 个；"
        f"汇总：{service.out / 'summary.json'}",
        "watch_stopped",
        checked=counts.checked,
        failed=counts.failed,
        skipped=counts.skipped,
        signalled=service.stop.requested,
        summary=str(service.out / "summary.json"),
    )
    return counts


def protect_workers() -> None:
    """Start the workers' fork server with SIGINT/SIGTERM ignored, which its workers inherit.

    Ctrl-C in a terminal (and systemd's stop) signals the whole process group: the workers must keep
    reading the dossier in hand while the service finishes it, or its files would be reported unreadable.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    from multiprocessing import forkserver

    from extractors.sandbox import mp_context

    mp_context()  # the fork server's preload list
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        forkserver.ensure_running()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def install_signals(stop: StopFlag) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals reach only the main thread; an embedding caller stops us otherwise
    return {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}


def restore_signals(handlers: dict[int, Any]) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
