"""The watch-folder service: settling, the registry, failures, kill -9 and SIGTERM, with real processes.

Unit tests first (registry, settle logic, the service with a stand-in checker), then the service as a
clerk runs it (`dossier watch`), on small text dossiers from fixtures/samples, settle 1 s. What the service
did is read from its log events (`event` and fields: DOSSIER_EVENT_LOG, caplog), not from its Chinese lines.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from flows.watch import (
    FAILED,
    RESERVED_IDS,
    Counts,
    SettleTracker,
    WatchService,
    checked_at,
    has_content,
    signature,
    snapshot,
)
from pipeline.registry import Registry
from pipeline.report import DossierInfo, Finding, Report, RulesetInfo
from pipeline.ruleset import load_ruleset
from pipeline.runner import content_hash
from tests.conftest import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
DOSSIER = str(Path(sys.executable).with_name("dossier"))
DOSSIERS = SAMPLES / "dossiers"
ZIP_A = DOSSIERS / "02-滕州市煤化工.zip"
ZIP_B = DOSSIERS / "11-临朐县铝型材加工-简介2990字.zip"
FOLDER = DOSSIERS / "08-临朐县铝型材加工-缺项"
DOCX = DOSSIERS / "05-滕州市煤化工申报材料汇编.docx"
PDF = DOSSIERS / "20-泰安市岱岳区绿色建材申报材料（无目录）.pdf"


# ---------------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------------


def test_registry_decisions_and_history(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "registry.sqlite3", RESERVED_IDS)
    first = reg.seen("a.zip", "h1", "s1", base_id="a")
    assert (first.action, first.reason, first.ident) == ("check", "new", "a")
    assert reg.start("a.zip") == 1
    reg.finish("a.zip", "a/report.json", {"id": "a", "verdict": "complete"})
    assert reg.signature("a.zip") == "s1"

    again = reg.seen("a.zip", "h1", "s2", base_id="a")  # re-dropped: new mtime, same bytes
    assert (again.action, again.reason) == ("skip", "unchanged")
    assert reg.signature("a.zip") == "s2"  # rescans skip it unhashed from now on

    changed = reg.seen("a.zip", "h2", "s3", base_id="a")
    assert (changed.action, changed.reason, changed.ident) == ("check", "changed", "a")
    reg.start("a.zip")
    reg.finish("a.zip", "a/report.json", {"id": "a", "verdict": "incomplete"})
    history = reg.history("a.zip")
    assert [(h.hash, h.state) for h in history] == [("h1", "done"), ("h2", "done")]
    assert reg.get("a.zip").state == "done"  # type: ignore[union-attr]

    # The same content under another name: its own dossier, recorded as a duplicate.
    twin = reg.seen("b.zip", "h2", "s4", base_id="b")
    assert (twin.action, twin.ident, twin.duplicate_of) == ("check", "b", "a.zip")

    # Ids as CONTRACT.md: a clash gets -2 once and keeps it; OUT's own names are never ids.
    assert reg.seen("a", "h9", base_id="a").ident == "a-2"
    assert reg.seen("a", "h10", base_id="a").ident == "a-2"
    assert reg.seen("failed", "h11", base_id="failed").ident == "failed-2"
    assert reg.seen("summary.json", "h12", base_id="summary.json").ident == "summary.json-2"


def test_registry_unfinished_retry_and_failures(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    reg = Registry(path)
    reg.seen("x", "h1")
    reg.start("x")  # … and the service is killed here
    reg.seen("y", "h2")  # queued, never started
    reg.seen("z", "h3")
    reg.start("z")
    reg.fail("z", "处理失败：测试", {"id": "z", "verdict": "failed"})
    reg.close()

    reopened = Registry(path)
    assert [r.source for r in reopened.unfinished()] == ["x", "y"]
    retry = reopened.seen("x", "h1")
    assert (retry.action, retry.reason) == ("check", "retry")
    assert reopened.start("x") == 2
    reopened.finish("x", "x/report.json", {"id": "x", "verdict": "complete"})
    assert len(reopened.history("x")) == 1  # one row per source + content, however many attempts
    assert reopened.history("x")[0].attempts == 2
    assert (reopened.seen("z", "h3").action, reopened.seen("z", "h3").reason) == ("skip", "failed_before")
    assert reopened.seen("z", "h3", "touched").reason == "retry"  # dropped again: another try
    reopened.start("z")
    reopened.fail("z", "处理失败：还是不行", {"id": "z", "verdict": "failed"})
    assert reopened.seen("z", "h3", "touched").reason == "failed_before"
    assert reopened.seen("z", "h4", "fixed").reason == "changed"  # fixed by the applicant
    assert [h.state for h in reopened.history("z")] == ["failed", "failed", "queued"]
    # z keeps its last row while checked again; y never finished.
    assert [r["id"] for r in reopened.summary_rows()] == ["x", "z"]
    assert {r.source for r in reopened.unfinished()} == {"y", "z"}


def test_registry_one_connection_per_thread(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "registry.sqlite3")
    errors: list[BaseException] = []

    def register(n: int) -> None:
        try:
            for i in range(20):
                reg.seen(f"t{n}-{i}", f"h{n}-{i}")
        except BaseException as exc:
            errors.append(exc)

    with ThreadPoolExecutor(max_workers=4) as threads:
        list(threads.map(register, range(4)))
    assert not errors
    assert len(reg.rows()) == 80
    assert reg._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# ---------------------------------------------------------------------------------------------------
# Settling and hashing
# ---------------------------------------------------------------------------------------------------


def test_settle_tracker_with_fake_snapshots() -> None:
    tracker = SettleTracker(delay=1.0)
    small = (("", "f", 100, 1),)
    bigger = (("", "f", 200, 2),)
    assert not tracker.observe("a.zip", small, now=10.0)
    assert not tracker.observe("a.zip", small, now=10.9)
    assert not tracker.observe("a.zip", bigger, now=10.95)  # still growing: the clock starts again
    assert not tracker.observe("a.zip", bigger, now=11.9)
    assert tracker.observe("a.zip", bigger, now=11.95)
    # A folder filling up: a new file is a change even when no old file changed.
    one = (("1.pdf", "f", 10, 1),)
    two = (*one, ("2.pdf", "f", 10, 1))
    assert not tracker.observe("dir", one, now=0.0)
    assert not tracker.observe("dir", two, now=0.8)
    assert not tracker.observe("dir", two, now=1.7)
    assert tracker.observe("dir", two, now=1.8)
    tracker.forget("dir")
    assert "dir" not in tracker
    assert SettleTracker(0).observe("now", one, now=0.0)  # --settle 0: at once


def test_snapshot_hash_and_content(tmp_path: Path) -> None:
    folder = tmp_path / "甲"
    shutil.copytree(FOLDER, folder)
    assert content_hash(folder) == content_hash(FOLDER)  # equal content under any name
    (folder / "Thumbs.db").write_bytes(b"junk")
    assert content_hash(folder) == content_hash(FOLDER)  # junk is not content
    before = snapshot(folder)
    assert before is not None and len(before) == sum(1 for p in FOLDER.rglob("*") if p.is_file()) + 1
    first = next(p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "Thumbs.db")
    first.write_bytes(first.read_bytes() + b"\n")
    assert content_hash(folder) != content_hash(FOLDER)
    assert signature(snapshot(folder) or ()) != signature(before)
    assert snapshot(tmp_path / "missing") is None

    empty = tmp_path / "新建文件夹"
    empty.mkdir()
    assert not has_content(snapshot(empty) or ())
    (empty / "desktop.ini").write_text("x")
    assert not has_content(snapshot(empty) or ())  # junk only: still waiting
    assert has_content(snapshot(ZIP_A) or ())


# ---------------------------------------------------------------------------------------------------
# The service's bookkeeping, with a stand-in checker (no worker processes)
# ---------------------------------------------------------------------------------------------------


def _writing_checker(files: dict[str, str]) -> Callable[[Path, str, Path], dict[str, Any]]:
    """Writes the given files as out/<ident>/…, like a real checker writes its reports."""

    def check(path: Path, ident: str, out: Path) -> dict[str, Any]:
        (out / ident).mkdir(parents=True)
        for name, text in files.items():
            (out / ident / name).write_text(text, encoding="utf-8")
        return {"id": ident, "source": path.name, "verdict": "incomplete", "report": f"{ident}/report.html"}

    return check


def _report(ident: str, checked_at: str = "2026-11-29T16:00:00+08:00") -> str:
    """A report.json as the contract has it, incomplete (the stand-in checker reads nothing)."""
    dossier = DossierInfo(id=ident, source=ident, checked_at=checked_at, files=[])
    missing = Finding(code="ITEM_MISSING", severity="error", message="缺少申请表")
    return Report.judged([missing], dossier=dossier, ruleset=RulesetInfo(id="test", title="测试"), items=[]).to_json()


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[Any]:
    """The log records of one event of the watch service."""
    return [r for r in caplog.records if r.name == "dossier.watch" and getattr(r, "event", None) == name]


def test_service_failure_goes_to_failed_and_a_change_replaces_the_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="dossier")
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    out.mkdir()
    source = inbox / "甲.pdf"
    source.write_bytes(b"%PDF-1.4 one")
    reg = Registry(out / "registry.sqlite3", RESERVED_IDS)

    def broken(path: Path, ident: str, out: Path) -> dict[str, Any]:
        raise ValueError("解析器出错")

    titles = {item.id: item.title for item in load_ruleset().items}
    service = WatchService(inbox, out, reg, broken, settle=0, item_titles=titles)
    assert service.handle("甲.pdf", snapshot(source) or ())
    assert "解析器出错" in (out / FAILED / "甲.pdf" / "reason.txt").read_text(encoding="utf-8")
    assert "ValueError" in (out / FAILED / "甲.pdf" / "error.txt").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [(r["id"], r["verdict"]) for r in summary["dossiers"]] == [("甲.pdf", "failed")]
    (failed,) = events(caplog, "dossier_failed")
    assert (failed.dossier, failed.source, failed.levelname) == ("甲.pdf", "甲.pdf", "WARNING")
    assert "解析器出错" in failed.reason

    # The applicant sends a new version: it gets a report, and failed/ no longer lists it.
    source.write_bytes(b"%PDF-1.4 two")
    service.checker = _writing_checker({"report.json": _report("甲.pdf"), "seal.png": "x"})
    assert service.handle("甲.pdf", snapshot(source) or ())
    assert sorted(p.name for p in (out / "甲.pdf").iterdir()) == ["report.json", "seal.png"]
    assert not (out / FAILED / "甲.pdf").exists()
    (checked,) = events(caplog, "dossier_checked")
    assert (checked.dossier, checked.verdict, checked.errors, checked.why) == ("甲.pdf", "incomplete", 1, "changed")
    assert checked.reused_from is not None  # its checked_at is older than the check: served from a cache

    # Dropped again unchanged: skipped, not checked.
    assert service.handle("甲.pdf", snapshot(source) or ())
    (skipped,) = events(caplog, "dossier_skipped")
    assert (skipped.dossier, skipped.why) == ("甲.pdf", "unchanged")

    # A third version without a seal: the folder is replaced, not merged (no stale seal.png).
    source.write_bytes(b"%PDF-1.4 three")
    service.checker = _writing_checker({"report.json": _report("甲.pdf")})
    assert service.handle("甲.pdf", snapshot(source) or ())
    assert sorted(p.name for p in (out / "甲.pdf").iterdir()) == ["report.json"]
    assert [h.state for h in reg.history("甲.pdf")] == ["failed", "done", "done"]

    # A checker that reports failure in its row (as a flow may) instead of raising.
    source.write_bytes(b"%PDF-1.4 four")
    service.checker = lambda path, ident, out: {"id": ident, "verdict": "failed", "failure": "超时"}
    assert service.handle("甲.pdf", snapshot(source) or ())
    assert "超时" in (out / FAILED / "甲.pdf" / "reason.txt").read_text(encoding="utf-8")
    assert not (out / "甲.pdf").exists()  # the older content's report would mislead
    assert [r.reason for r in events(caplog, "dossier_failed")] == ["处理失败：ValueError: 解析器出错", "超时"]
    assert service.counts == Counts(checked=2, failed=2, skipped=1)


# ---------------------------------------------------------------------------------------------------
# The service as a process
# ---------------------------------------------------------------------------------------------------


def read_events(path: Path, name: str | None = None) -> list[dict[str, Any]]:
    """The watch service's events in a DOSSIER_EVENT_LOG file (all, or those named `name`)."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    found = [json.loads(line) for line in lines if line.strip()]
    return [e for e in found if e["logger"] == "dossier.watch" and name in (None, e["event"])]


class Service:
    """`dossier watch INBOX --out OUT --settle 1`, its output and its events (DOSSIER_EVENT_LOG) in files."""

    def __init__(self, inbox: Path, out: Path, *extra: str) -> None:
        self.inbox, self.out = inbox, out
        self.log = out.parent / f"{out.name}-{time.monotonic_ns()}.log"
        self.err, self.event_log = self.log.with_suffix(".err"), self.log.with_suffix(".jsonl")
        args = [DOSSIER, "watch", str(inbox), "--out", str(out), "--settle", "1", *extra]
        env = {**os.environ, "DOSSIER_EVENT_LOG": str(self.event_log)}
        with self.log.open("w") as stdout, self.err.open("w") as stderr:
            self.proc = subprocess.Popen(args, cwd=ROOT, stdout=stdout, stderr=stderr, env=env)
        # Prefect's temporary server starts first: 7–9 s on two cores, 15–20 s with a new database.
        wait_for(lambda: self.events("watch_started"), 120, "the service to start", self)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        return read_events(self.event_log, name)

    def checked(self, dossier: str) -> list[dict[str, Any]]:
        return [e for e in self.events("dossier_checked") if e["dossier"] == dossier]

    def stdout(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def wait_for(condition: Callable[[], Any], timeout: float, what: str, service: Service | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if service is not None and service.proc.poll() is not None:
            break
        time.sleep(0.05)
    logs = f"\n{service.stdout()}\n{service.stderr()}" if service is not None else ""
    raise AssertionError(f"timed out waiting for {what}{logs}")


@pytest.fixture
def spaces(tmp_path: Path) -> Iterator[tuple[Path, Path, list[Service]]]:
    """An inbox, an out folder, and the services started (stopped at the end whatever happens)."""
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    started: list[Service] = []
    yield inbox, out, started
    for service in started:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()


def report_dirs(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if (p / "report.json").is_file()) if out.is_dir() else []


def report_of(out: Path, ident: str) -> dict[str, Any]:
    return json.loads((out / ident / "report.json").read_text(encoding="utf-8"))


def registry(out: Path) -> Registry:
    return Registry(out / "registry.sqlite3")


def done(out: Path, *sources: str) -> bool:
    if not (out / "registry.sqlite3").exists():
        return False
    rows = {r.source: r.state for r in registry(out).rows()}
    return all(rows.get(s) == "done" for s in sources)


def prefect_server_of(pid: int) -> int:
    """The service's temporary Prefect server (a child process running uvicorn)."""
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        if b"uvicorn" in Path(f"/proc/{child}/cmdline").read_bytes():
            return int(child)
    raise AssertionError(f"no Prefect server among the children of {pid}")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def epoch(iso: str | None) -> float:
    assert iso is not None
    return dt.datetime.fromisoformat(iso).timestamp()


def test_half_written_zip_and_filling_folder_are_read_once_settled(spaces: tuple[Path, Path, list[Service]]) -> None:
    inbox, out, started = spaces
    started.append(service := Service(inbox, out))
    payload = ZIP_A.read_bytes()
    last_write: dict[str, float] = {}

    def write_zip_in_chunks() -> None:  # a slow copy from a share: ~3 s, never 1 s without a change
        chunks = 10
        step = len(payload) // chunks + 1
        with (inbox / "慢慢复制.zip").open("wb") as handle:
            for i in range(chunks):
                handle.write(payload[i * step : (i + 1) * step])
                handle.flush()
                last_write["zip"] = time.time()
                time.sleep(0.3)

    def fill_folder() -> None:  # a clerk dragging files into a new folder one by one
        target = inbox / "新建文件夹"
        target.mkdir()
        for source in sorted(p for p in FOLDER.rglob("*") if p.is_file()):
            dest = target / source.relative_to(FOLDER)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, dest)
            last_write["folder"] = time.time()
            time.sleep(0.4)

    with ThreadPoolExecutor(max_workers=2) as writers:
        for written in [writers.submit(write_zip_in_chunks), writers.submit(fill_folder)]:
            written.result()
    wait_for(lambda: done(out, "慢慢复制.zip", "新建文件夹"), 40, "both reports", service)
    assert service.stop() == 0

    assert report_dirs(out) == ["慢慢复制", "新建文件夹"]
    reg = registry(out)
    for source, key in (("慢慢复制.zip", "zip"), ("新建文件夹", "folder")):
        (check,) = reg.history(source)  # exactly one check: nothing was read half-written
        assert check.state == "done" and check.attempts == 1
        assert epoch(check.started) - last_write[key] >= 0.9, "read before it had settled"
    assert reg.history("慢慢复制.zip")[0].hash == content_hash(ZIP_A)
    zipped = report_of(out, "慢慢复制")
    assert len(zipped["dossier"]["files"]) == 8 and zipped["dossier"]["source"] == "慢慢复制.zip"
    folder = report_of(out, "新建文件夹")
    expected = sorted(p.relative_to(FOLDER).as_posix() for p in FOLDER.rglob("*") if p.is_file())
    assert sorted(f["path"] for f in folder["dossier"]["files"]) == expected
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert sorted(r["id"] for r in summary["dossiers"]) == ["慢慢复制", "新建文件夹"]
    assert sorted(p.name for p in inbox.iterdir()) == ["慢慢复制.zip", "新建文件夹"]  # inbox untouched


def test_duplicates_redrops_and_changes(spaces: tuple[Path, Path, list[Service]]) -> None:
    inbox, out, started = spaces
    started.append(service := Service(inbox, out))
    shutil.copy(ZIP_A, inbox / "甲.zip")
    wait_for(lambda: done(out, "甲.zip"), 30, "甲", service)
    shutil.copy(ZIP_A, inbox / "乙.zip")  # the same content under another name
    wait_for(lambda: done(out, "乙.zip"), 30, "乙", service)
    reg = registry(out)
    assert reg.get("乙.zip").duplicate_of == "甲.zip"  # type: ignore[union-attr]
    # The registry says done a moment before the service logs the event.
    wait_for(lambda: service.checked("乙"), 10, "乙's event", service)
    assert [(e["source"], e["duplicate_of"]) for e in service.checked("乙")] == [("乙.zip", "甲.zip")]
    checked_at = report_of(out, "甲")["dossier"]["checked_at"]

    # Re-dropped unchanged (removed, copied in again: new mtime, same bytes) → not checked again.
    (inbox / "甲.zip").unlink()
    time.sleep(0.3)
    shutil.copy(ZIP_A, inbox / "甲.zip")

    def skipped() -> list[dict[str, Any]]:
        return [e for e in service.events("dossier_skipped") if e["dossier"] == "甲"]

    wait_for(skipped, 30, "the unchanged re-drop", service)
    assert skipped()[0]["why"] == "unchanged"
    assert len(reg.history("甲.zip")) == 1 and reg.get("甲.zip").attempts == 1  # type: ignore[union-attr]
    assert report_of(out, "甲")["dossier"]["checked_at"] == checked_at

    # Changed → checked again into the same folder; the registry keeps both checks.
    staged = inbox.parent / "甲.zip"
    shutil.copy(ZIP_B, staged)
    os.replace(staged, inbox / "甲.zip")
    wait_for(lambda: len(reg.history("甲.zip")) == 2 and done(out, "甲.zip"), 30, "the changed 甲", service)
    assert service.stop() == 0
    assert [h.hash for h in reg.history("甲.zip")] == [content_hash(ZIP_A), content_hash(ZIP_B)]
    assert report_dirs(out) == ["乙", "甲"]  # no 甲-2
    files = [f["path"] for f in report_of(out, "甲")["dossier"]["files"]]
    assert len(files) == 7 and [e["why"] for e in service.checked("甲")] == ["new", "changed"]


def test_links_and_pipes_get_reports_that_say_so_and_the_service_goes_on(
    spaces: tuple[Path, Path, list[Service]],
) -> None:
    inbox, out, started = spaces
    (inbox / "断链.pdf").symlink_to(inbox.parent / "在已断开的网络盘上.pdf")  # a shortcut to nowhere
    os.mkfifo(inbox / "管道.pdf")  # opening it would block the reader for good
    shutil.copy(DOCX, inbox / DOCX.name)
    started.append(service := Service(inbox, out, "--polling"))  # as on a network share
    wait_for(lambda: done(out, DOCX.name), 30, "the good dossier", service)
    wait_for(lambda: done(out, "管道.pdf"), 30, "the FIFO's report", service)
    wait_for(lambda: done(out, "断链.pdf"), 30, "the dangling link's report", service)
    messages = {
        name: json.dumps(report_of(out, name)["findings"], ensure_ascii=False) for name in ("管道.pdf", "断链.pdf")
    }
    assert "命名管道" in messages["管道.pdf"] and "符号链接" in messages["断链.pdf"]
    assert report_of(out, "断链.pdf")["dossier"]["files"] == []

    # The link is replaced by the real file: checked again, its report now the file's.
    (inbox / "断链.pdf").unlink()
    shutil.copy(PDF, inbox / "断链.pdf")
    wait_for(lambda: report_of(out, "断链.pdf")["dossier"]["files"], 30, "the repaired dossier", service)
    assert service.stop() == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    verdicts = {r["id"]: r["verdict"] for r in summary["dossiers"]}
    assert "failed" not in verdicts.values() and len(verdicts) == 3


def test_kill_9_mid_run_loses_nothing_and_reports_nothing_twice(spaces: tuple[Path, Path, list[Service]]) -> None:
    inbox, out, started = spaces
    sources = [ZIP_A, ZIP_B, DOCX, PDF]
    for source in sources:
        shutil.copy(source, inbox / source.name)
    started.append(first := Service(inbox, out))

    def one_done_one_running() -> list[str] | None:
        if not (out / "registry.sqlite3").exists():
            return None
        states = {r.source: r.state for r in registry(out).rows()}
        running = [s for s, state in states.items() if state == "running"]
        return running if "done" in states.values() and running else None

    interrupted = wait_for(one_done_one_running, 60, "a dossier running after a report", first)
    server = prefect_server_of(first.proc.pid)
    first.proc.kill()  # kill -9
    first.proc.wait()
    # Its temporary Prefect server does not outlive it (Prefect's own would, for good).
    wait_for(lambda: not Path(f"/proc/{server}").exists() or _zombie(server), 15, "the Prefect server to exit")
    assert [r.source for r in registry(out).unfinished()] == interrupted
    done_before = {r.source for r in registry(out).rows() if r.state == "done"}

    started.append(second := Service(inbox, out))
    wait_for(lambda: done(out, *(s.name for s in sources)), 60, "every dossier after the restart", second)
    assert second.stop() == 0

    ids = sorted(s.name.removesuffix(".zip") for s in sources)
    assert report_dirs(out) == ids  # one folder each, no -2
    reg = registry(out)
    assert all(r.state == "done" for r in reg.rows()) and len(reg.rows()) == 4
    for source in sources:
        assert len(reg.history(source.name)) == 1  # one row per source + content
    assert reg.get(interrupted[0]).attempts == 2  # type: ignore[union-attr]
    for source in done_before:  # what was reported before the kill is not reported again
        assert not second.checked(source.removesuffix(".zip"))
    assert [e["sources"] for e in second.events("watch_resumed")] == [interrupted]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert sorted(r["id"] for r in summary["dossiers"]) == ids
    assert not (out / ".staging").exists()


def test_sigterm_stops_after_the_dossier_in_hand(spaces: tuple[Path, Path, list[Service]]) -> None:
    inbox, out, started = spaces
    for source in (ZIP_A, ZIP_B, PDF):
        shutil.copy(source, inbox / source.name)
    started.append(service := Service(inbox, out))

    def running() -> list[str] | None:
        if not (out / "registry.sqlite3").exists():
            return None
        return [r.source for r in registry(out).rows() if r.state == "running"] or None

    (in_hand,) = wait_for(running, 60, "a dossier in hand", service)
    service.proc.send_signal(signal.SIGTERM)
    assert service.proc.wait(timeout=60) == 0
    (stopped,) = service.events("watch_stopped")
    assert stopped["signalled"] and stopped["checked"] == 1
    reg = registry(out)
    assert reg.get(in_hand).state == "done"  # type: ignore[union-attr]
    assert not reg.unfinished()
    report = report_of(out, in_hand.removesuffix(".zip"))
    assert not any(f["error"] for f in report["dossier"]["files"])  # its workers were not killed under it
    assert len(reg.rows()) < 3  # it did not go on with the rest


def test_once_processes_what_is_there_and_exits_0(spaces: tuple[Path, Path, list[Service]]) -> None:
    inbox, out, _ = spaces
    shutil.copy(ZIP_A, inbox / "a.zip")
    (inbox / "a").mkdir()  # clashes with a.zip's id: -2, as dossier batch does
    shutil.copy(DOCX, inbox / "a" / DOCX.name)
    (inbox / "Thumbs.db").write_bytes(b"junk")
    command = [DOSSIER, "watch", str(inbox), "--out", str(out), "--once"]
    log = out.parent / "events.jsonl"
    env = {**os.environ, "DOSSIER_EVENT_LOG": str(log)}
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert first.returncode == 0, first.stderr
    assert report_dirs(out) == ["a", "a-2"]
    assert report_of(out, "a")["dossier"]["source"] == "a"  # sorted as batch sorts: the folder first
    assert sorted(e["dossier"] for e in read_events(log, "dossier_checked")) == ["a", "a-2"]
    log.unlink()
    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert second.returncode == 0, second.stderr
    (stopped,) = read_events(log, "watch_stopped")  # nothing new: nothing checked
    assert (stopped["checked"], stopped["failed"], stopped["skipped"], stopped["signalled"]) == (0, 0, 0, False)
    assert "已停止监视" in second.stdout  # the clerk's line, on stdout as before


def test_the_time_a_report_was_checked_is_read_where_the_contract_puts_it(sample_batch: Path) -> None:
    """The service says a result was reused when the report's check is older than this run: it must find
    that time in a real report (`dossier.checked_at`); the sample batch ran in this test session."""
    report = json.loads((sample_batch / "01-临朐县铝型材加工" / "report.json").read_text(encoding="utf-8"))
    when = checked_at(report)
    assert when is not None and when.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - when) < dt.timedelta(hours=6)
