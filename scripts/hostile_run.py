"""Run `dossier batch` over the hostile inbox (scripts/hostile.py) and measure how the tool holds up.

    python -m scripts.hostile_run --inbox DIR --out OUT [--workers 2] [--no-strace] [--as-user nobody]

DIR is the generator's folder (holding inbox/ and cases.json) or an inbox itself. The batch runs as a
subprocess under `strace -f` (opens, writes, connects), with HOME, TMPDIR and DOSSIER_CACHE_DIR on fresh
scratch folders, the working directory on another, a TCP listener on the payloads' port, and /proc sampled
every 0.2 s for the memory of its whole process tree. Scratch folders, the strace log, stdout/stderr and
results.json go to OUT.harness/ beside OUT.

Violations (exit 1 when there is any):
- a case without OUT/<id>/report.json; summary.json or summary.xlsx missing or unreadable; an exit code
  other than 0/1 or a batch killed at --batch-timeout; "Traceback" in stdout, stderr or OUT/*/error.txt;
  terminal control characters on stdout/stderr;
- a case's own machine checks (cases.json: files that must be read, items that must be found);
- peak memory of the process tree (sum of RSS) over --mem-budget;
- a connect() to a non-loopback address, or to the listener's port; any connection the listener got;
- an open of the canary or anything under its folder; the canary's text in any output; the canary
  folder changed;
- a file created, written, renamed or removed outside OUT, the cache, TMPDIR (HOME and the inbox copy
  included: the tool must never modify its input; Python's own __pycache__ and /dev, /proc are not
  counted, nor paths of a process in a private mount namespace, such as LibreOffice in bubblewrap,
  whose /tmp and /job are not the host's);
- anything left in TMPDIR or created in HOME; a new /tmp/dossier-* left behind; processes left running;
- unescaped hostile HTML in a report.html;
- a dossier whose elapsed_seconds is over --budget.

As root, permission bits stop nothing: `--as-user nobody` runs the batch as that user (setpriv), with the
scratch folders and OUT given to it. When the user cannot reach the interpreter (a pyenv under a 0700
/root), the batch runs in a private mount namespace where the blocking folder is a fresh tmpfs with only
the interpreter's tree bound back in; the host's mounts are never changed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import io
import ipaddress
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TRACED = (
    # Opens, writes and connects, with the *at and link variants: Python's os.mkdir/rmtree and LibreOffice
    # use mkdirat, unlinkat, renameat2, and a write through them would otherwise go unseen. Process
    # creation and namespace changes too: a sandboxed LibreOffice (bubblewrap) sees its own file system,
    # and its paths (/tmp, /job, /newroot) must not be judged as the host's.
    "connect,open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,"
    "symlink,symlinkat,link,linkat,clone,clone3,fork,vfork,unshare,setns,pivot_root,chroot"
)
SAMPLE_EVERY = 0.2


def traced_syscalls() -> str:
    """TRACED less the names this architecture lacks (aarch64 has no open, mkdir, rename, fork …)."""
    names = TRACED.split(",")

    def accepted(subset: list[str]) -> bool:
        probe = ["strace", "-qq", "-e", f"trace={','.join(subset)}", "-o", "/dev/null", "true"]
        return subprocess.run(probe, capture_output=True, check=False).returncode == 0

    if accepted(names):
        return TRACED
    return ",".join(name for name in names if accepted([name]))


HOSTILE_HTML = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
PR_SET_CHILD_SUBREAPER = 36
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_TMPFILE")


@dataclass
class Violation:
    kind: str
    detail: str
    case: str | None = None


@dataclass
class Run:
    """Everything measured, for the printout and results.json."""

    command: list[str]
    exit_code: int | None = None
    timed_out: bool = False
    wall: float = 0.0
    peak_rss: int = 0
    peak_pss: int = 0
    peak_at: float = 0.0
    peak_top: list[tuple[int, int, str]] = field(default_factory=list)  # rss, pid, cmdline at the peak
    commands_seen: dict[int, str] = field(default_factory=dict)
    private_pids: set[int] = field(default_factory=set)  # seen in a mount namespace other than ours
    leftovers: list[str] = field(default_factory=list)
    listener_hits: list[dict[str, Any]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def flag(self, kind: str, detail: str, case: str | None = None) -> None:
        self.violations.append(Violation(kind, detail, case))


# ---------------------------------------------------------------------------------------------------
# Scratch folders and the inbox copy
# ---------------------------------------------------------------------------------------------------


def _open_all(folder: Path) -> None:
    # Give back the permissions a previous copy of the permission cases took away, so it can be removed.
    if not folder.is_dir() or folder.is_symlink():
        return
    os.chmod(folder, 0o755)
    for _, dirnames, _, dirfd in os.fwalk(folder, topdown=True, follow_symlinks=False):
        for name in dirnames:
            with contextlib.suppress(OSError):
                if stat.S_ISDIR(os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_mode):
                    os.chmod(name, 0o755, dir_fd=dirfd)


def remove_tree(folder: Path) -> None:
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        _open_all(folder)
        shutil.rmtree(folder)


def copy_tree(src: Path, dst: Path, notes: list[str]) -> None:
    """Copy an inbox as it is: symlinks as links (targets unchanged), FIFOs as FIFOs, raw-byte names,
    modes (000 included, set last), paths past PATH_MAX (through directory fds)."""
    dst.mkdir()
    src_fd = os.open(src, os.O_RDONLY | os.O_DIRECTORY)
    dst_fd = os.open(dst, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _copy_fd(src_fd, dst_fd, notes, str(src))
    finally:
        os.close(src_fd)
        os.close(dst_fd)


def _copy_fd(src_fd: int, dst_fd: int, notes: list[str], shown: str) -> None:
    for entry in sorted(os.scandir(src_fd), key=lambda e: e.name):
        name = entry.name
        st = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
        mode = stat.S_IMODE(st.st_mode)
        try:
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(name, dir_fd=src_fd), name, dir_fd=dst_fd)
            elif stat.S_ISFIFO(st.st_mode):
                os.mkfifo(name, mode, dir_fd=dst_fd)
            elif stat.S_ISDIR(st.st_mode):
                os.mkdir(name, 0o700, dir_fd=dst_fd)
                sub_src = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=src_fd)
                sub_dst = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=dst_fd)
                try:
                    _copy_fd(sub_src, sub_dst, notes, f"{shown}/{name}")
                finally:
                    os.close(sub_src)
                    os.close(sub_dst)
                os.chmod(name, mode, dir_fd=dst_fd)
            elif stat.S_ISREG(st.st_mode):
                fin = os.open(name, os.O_RDONLY, dir_fd=src_fd)
                fout = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=dst_fd)
                try:
                    while chunk := os.read(fin, 1 << 20):
                        os.write(fout, chunk)
                finally:
                    os.close(fin)
                    os.close(fout)
                os.chmod(name, mode, dir_fd=dst_fd)
        except PermissionError as exc:
            # Only when the harness is not root: keep a stand-in with the same mode.
            notes.append(f"could not copy {shown}/{name!r} ({exc}); an empty stand-in with its mode is used")
            with contextlib.suppress(OSError):
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT, mode, dir_fd=dst_fd))


def tree_listing(folder: Path) -> list[str]:
    """Relative paths of everything under FOLDER (not following links)."""
    found: list[str] = []
    if not folder.exists():
        return found
    for dirpath, dirnames, filenames, _ in os.fwalk(folder, follow_symlinks=False):
        rel = os.path.relpath(dirpath, folder)
        for name in [*dirnames, *filenames]:
            found.append(os.path.normpath(os.path.join(rel, name)))
    return sorted(found)


def grouped(listing: list[str], depth: int) -> list[tuple[str, int]]:
    """Relative paths folded to their first DEPTH components, with how many entries each holds."""
    counts: Counter[str] = Counter("/".join(rel.split("/")[:depth]) for rel in listing)
    return sorted(counts.items())


def fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for rel in tree_listing(folder):
        digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        path = folder / rel
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------
# Running as another user
# ---------------------------------------------------------------------------------------------------


def _traversable_by_other(path: Path) -> bool:
    st = path.stat()
    return bool(st.st_mode & stat.S_IXOTH)


def user_wrapper(user: str, python: Path, stage: Path, run: Run) -> tuple[list[str], list[str]]:
    """How to run the batch as USER: a prefix to put before strace (the mount-namespace bridge, when
    one is needed; its set-up is not the tool's, so it stays untraced) and one after it (setpriv).
    SystemExit(2) when no way works."""
    entry = pwd.getpwnam(user)
    setpriv = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--"]
    # Through a shell, and the interpreter starting itself again: the batch execs its interpreter for
    # Prefect's server and its workers, and an exec straight after setresuid has been seen to pass
    # where every later one fails (a pyenv under a 0700 /root).
    check = (
        "import subprocess, sys; import pipeline, extractors, flows; "
        "sys.exit(subprocess.run([sys.executable, '-c', 'import pipeline']).returncode)"
    )
    probe = ["sh", "-c", '"$0" -c "$1"', str(python), check]
    direct = subprocess.run([*setpriv, *probe], capture_output=True, text=True, cwd="/")
    if direct.returncode == 0:
        run.notes.append(f"as-user: {user} runs {python} directly")
        return [], setpriv
    run.notes.append(f"as-user: {user} cannot run {python} directly: {(direct.stderr or '').strip()[-200:]}")
    # Find the first folder on the interpreter's real path that USER cannot traverse (a 0700 /root).
    real = Path(os.path.realpath(python))
    blocked: Path | None = None
    for parent in reversed(real.parents):
        if parent != Path("/") and not _traversable_by_other(parent):
            blocked = parent
            break
    if blocked is None:
        run.notes.append("as-user: no untraversable folder on the interpreter's path; cannot help")
        raise SystemExit(2)
    keep = blocked / real.relative_to(blocked).parts[0]
    stage.mkdir(parents=True, exist_ok=True)
    # -n: util-linux would otherwise record these mounts in the host's /run/mount/utab.
    script = (
        "set -e\n"
        f'mount -n --bind "{keep}" "{stage}"\n'
        f'mount -n -t tmpfs -o mode=755 tmpfs "{blocked}"\n'
        f'mkdir -p "{keep}"\n'
        f'mount -n --move "{stage}" "{keep}"\n'
        'exec "$@"\n'
    )
    bridge = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
    bridged = subprocess.run([*bridge, *setpriv, *probe], capture_output=True, text=True, cwd="/")
    if bridged.returncode != 0:
        run.notes.append(f"as-user: the mount-namespace bridge failed too: {bridged.stderr.strip()[-300:]}")
        raise SystemExit(2)
    run.notes.append(
        f"as-user: {user} runs the batch in a private mount namespace where {blocked} is an empty tmpfs "
        f"(mode 755) with {keep} bound back in; the host's mounts are not touched"
    )
    return bridge, setpriv


# ---------------------------------------------------------------------------------------------------
# The listener, the memory sampler, the process tree
# ---------------------------------------------------------------------------------------------------


class Listener(threading.Thread):
    """Accepts on 127.0.0.1:PORT and records who came and what they asked for (a fetch of a payload's
    URL is a violation: XXE, linked images, INCLUDEPICTURE)."""

    def __init__(self, port: int, hits: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True, name="listener")
        self.hits = hits
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.stopping = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                data = b""
                with contextlib.suppress(OSError):
                    data = conn.recv(4096)
                self.hits.append(
                    {
                        "at": round(time.monotonic() - self.started_at, 2),
                        "peer": f"{peer[0]}:{peer[1]}",
                        "request": data[:300].decode("latin-1"),
                    }
                )
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def stop(self) -> None:
        self.stopping.set()
        self.sock.close()


def proc_parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2 :].split()
        parents[int(name)] = int(fields[1])
    return parents


def descendants(root: int) -> list[int]:
    parents = proc_parents()
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return True
    return raw[raw.rfind(b")") + 2 :].split()[0] == b"Z"


def mount_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_pss(pid: int) -> tuple[int, int]:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            rss = int(handle.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0, 0
    pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    pss = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pss = rss
    return rss, pss


class Sampler(threading.Thread):
    """Sums RSS (and PSS, which counts shared pages once) over every descendant of this process but
    the tracer, every 0.2 s; keeps the peak and every command line seen."""

    def __init__(self, run: Run, exclude: set[int]) -> None:
        super().__init__(daemon=True, name="sampler")
        self.run_ = run
        self.exclude = exclude
        self.stopping = threading.Event()
        self.started = time.monotonic()

    def run(self) -> None:
        me = os.getpid()
        batch_ns: str | None = None  # the batch's own mount namespace (the --as-user bridge's, or ours)
        while not self.stopping.is_set():
            total_rss = total_pss = 0
            sizes: list[tuple[int, int, str]] = []
            for pid in descendants(me):
                if pid in self.exclude:
                    continue
                rss, pss = rss_pss(pid)
                total_rss += rss
                total_pss += pss
                if pid not in self.run_.commands_seen:
                    self.run_.commands_seen[pid] = cmdline(pid)
                if batch_ns is None and " batch " in self.run_.commands_seen[pid]:
                    batch_ns = mount_ns(pid)
                if batch_ns and pid not in self.run_.private_pids and mount_ns(pid) not in (batch_ns, None):
                    self.run_.private_pids.add(pid)
                sizes.append((rss, pid, self.run_.commands_seen[pid]))
            if total_rss > self.run_.peak_rss:
                self.run_.peak_rss = total_rss
                self.run_.peak_at = time.monotonic() - self.started
                self.run_.peak_top = sorted(sizes, reverse=True)[:5]
            self.run_.peak_pss = max(self.run_.peak_pss, total_pss)
            self.stopping.wait(SAMPLE_EVERY)

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)


def kill_pids(pids: list[int]) -> None:
    """SIGKILL processes this harness started (directly or not), each by its id."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def reap() -> None:
    # As a subreaper, orphans of the batch become our children: collect their exit states.
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# ---------------------------------------------------------------------------------------------------
# The strace log
# ---------------------------------------------------------------------------------------------------

_ESCAPES = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "a": 7, "b": 8, "e": 27, '"': 34, "\\": 92, "'": 39}


def c_unescape(text: str) -> bytes:
    """A string as strace prints it (-x: \\xNN, else octal and C escapes) back to bytes."""
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\" or i + 1 >= len(text):
            out += ch.encode("utf-8", "surrogateescape")
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "x" and re.match(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4]):
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        elif nxt in "01234567":
            digits = re.match(r"[0-7]{1,3}", text[i + 1 : i + 4])
            assert digits is not None
            out.append(int(digits.group(0), 8) & 0xFF)
            i += 1 + len(digits.group(0))
        else:
            out.append(_ESCAPES.get(nxt, ord(nxt) if ord(nxt) < 128 else 63))
            i += 2
    return bytes(out)


def split_args(text: str) -> tuple[list[str], str]:
    """The arguments of `name(ARGS) = ret` as raw tokens, and what follows the closing parenthesis."""
    args: list[str] = []
    depth = 0
    current: list[str] = []
    i = 0
    in_string = False
    while i < len(text):
        ch = text[i]
        if in_string:
            current.append(ch)
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_string = False
            i += 1
            continue
        if ch == '"':
            in_string = True
        elif ch == ">" and i > 0 and text[i - 1] == "=":
            pass  # clone3's "=> {…}" (what the kernel wrote back), not the end of an fd's path
        elif ch in "({[<":
            depth += 1
        elif ch in ")}]>":
            if depth == 0 and ch == ")":
                args.append("".join(current).strip())
                return [a for a in args if a], text[i + 1 :]
            depth -= 1
        elif ch == "," and depth == 0:
            args.append("".join(current).strip())
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    args.append("".join(current).strip())
    return [a for a in args if a], ""


def string_arg(token: str) -> str | None:
    match = re.match(r'^"((?:[^"\\]|\\.)*)"', token)
    if not match:
        return None
    return os.fsdecode(c_unescape(match.group(1)))


def fd_path(token: str) -> str | None:
    """The path strace -y shows for a file descriptor (`3</x>` or `AT_FDCWD</cwd>`)."""
    match = re.match(r"^(?:\d+|AT_FDCWD)<(.*)>$", token.strip())
    return os.fsdecode(c_unescape(match.group(1))) if match else None


@dataclass
class Call:
    pid: int
    name: str
    args: list[str]
    ret: str  # "0", "3</path>", "-1 ENOENT (...)", "2 /* 26329 in strace's PID NS */"
    index: int = 0

    @property
    def ok(self) -> bool:
        return not self.ret.startswith("-1") and not self.ret.startswith("?")

    @property
    def errno(self) -> str:
        parts = self.ret.split()
        return parts[1] if self.ret.startswith("-1") and len(parts) > 1 else ""

    @property
    def child_pid(self) -> int | None:
        """A clone's or fork's new pid, in strace's pid namespace (--pidns-translation)."""
        match = re.match(r"^(\d+)(?:\s*/\* (\d+) in strace's PID NS \*/)?", self.ret.strip())
        if not match or not self.ok:
            return None
        return int(match.group(2) or match.group(1))

    @property
    def ret_path(self) -> str | None:
        match = re.match(r"^\d+<(.*)>$", self.ret.strip())
        return os.fsdecode(c_unescape(match.group(1))) if match else None


def parse_strace(log: Path) -> list[Call]:
    calls: list[Call] = []
    pending: dict[int, str] = {}
    line_re = re.compile(r"^(\d+)\s+(.*)$")
    with log.open("r", encoding="utf-8", errors="surrogateescape") as handle:
        for raw in handle:
            match = line_re.match(raw.rstrip("\n"))
            if not match:
                continue
            pid, rest = int(match.group(1)), match.group(2)
            if rest.endswith("<unfinished ...>"):
                pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
                continue
            resumed = re.match(r"^<\.\.\. (\w+) resumed>(.*)$", rest)
            if resumed:
                head = pending.pop(pid, f"{resumed.group(1)}(")
                rest = head + resumed.group(2)
            call = re.match(r"^(\w+)\((.*)$", rest)
            if not call:
                continue
            args, tail = split_args(call.group(2))
            ret = tail.strip()
            ret = ret[1:].strip() if ret.startswith("=") else ret
            calls.append(Call(pid, call.group(1), args, ret, len(calls)))
    return calls


def private_namespaces(calls: list[Call], seen_private: set[int]) -> dict[int, int]:
    """pid → index of the first call from which it runs in a private mount namespace: born by a clone
    with CLONE_NEWNS, after its own unshare(CLONE_NEWNS)/setns/pivot_root/chroot, or born of such a
    process afterwards. SEEN_PRIVATE: pids the sampler saw in another mount namespace than the batch's
    (under --as-user the batch's is the bridge's, which shows the host's files)."""
    start: dict[int, int] = dict.fromkeys(seen_private, 0)
    edges: list[tuple[int, int, int, bool]] = []  # parent, child, index, CLONE_NEWNS
    for c in calls:
        if c.name in ("clone", "clone3", "fork", "vfork"):
            child = c.child_pid
            if child is not None:
                edges.append((c.pid, child, c.index, "CLONE_NEWNS" in " ".join(c.args)))
        elif c.ok and (
            (c.name == "unshare" and "CLONE_NEWNS" in " ".join(c.args)) or c.name in ("setns", "pivot_root", "chroot")
        ):
            start[c.pid] = min(start.get(c.pid, c.index), c.index)
    changed = True
    while changed:  # the log may show a child's calls before its parent's clone returns: settle
        changed = False
        for parent, child, index, newns in edges:
            if start.get(child) != 0 and (newns or (parent in start and start[parent] <= index)):
                start[child] = 0
                changed = True
    return start


def resolve(dirfd_token: str | None, path: str, cwd: str) -> str:
    if os.path.isabs(path):
        return os.path.normpath(path)
    base = fd_path(dirfd_token) if dirfd_token else None
    return os.path.normpath(os.path.join(base or cwd, path))


@dataclass
class FileEvent:
    pid: int
    call: str
    path: str  # resolved (the real path for a successful open)
    write: bool
    ok: bool
    errno: str
    index: int = 0


def file_events(calls: list[Call], cwd: str) -> list[FileEvent]:
    events: list[FileEvent] = []
    for c in calls:
        before = len(events)
        a = c.args
        try:
            if c.name in ("open", "creat"):
                path = string_arg(a[0])
                if path is None:
                    continue
                flags = a[1] if len(a) > 1 else ""
                write = c.name == "creat" or any(f in flags for f in WRITE_FLAGS)
                real = c.ret_path or resolve(None, path, cwd)
                events.append(FileEvent(c.pid, c.name, real, write, c.ok, c.errno))
            elif c.name in ("openat", "openat2"):
                path = string_arg(a[1])
                if path is None:
                    continue
                flags = a[2] if len(a) > 2 else ""
                write = any(f in flags for f in WRITE_FLAGS)
                real = c.ret_path or resolve(a[0], path, cwd)
                events.append(FileEvent(c.pid, c.name, real, write, c.ok, c.errno))
            elif c.name in ("mkdir", "unlink", "rmdir"):
                path = string_arg(a[0])
                if path is not None:
                    events.append(FileEvent(c.pid, c.name, resolve(None, path, cwd), True, c.ok, c.errno))
            elif c.name in ("mkdirat", "unlinkat"):
                path = string_arg(a[1])
                if path is not None:
                    events.append(FileEvent(c.pid, c.name, resolve(a[0], path, cwd), True, c.ok, c.errno))
            elif c.name in ("rename", "link", "symlink"):
                old, new = string_arg(a[0]), string_arg(a[1])
                if c.name == "rename" and old is not None:
                    events.append(FileEvent(c.pid, c.name, resolve(None, old, cwd), True, c.ok, c.errno))
                if new is not None:
                    events.append(FileEvent(c.pid, c.name, resolve(None, new, cwd), True, c.ok, c.errno))
            elif c.name in ("renameat", "renameat2", "linkat"):
                old, new = string_arg(a[1]), string_arg(a[3])
                if c.name != "linkat" and old is not None:
                    events.append(FileEvent(c.pid, c.name, resolve(a[0], old, cwd), True, c.ok, c.errno))
                if new is not None:
                    events.append(FileEvent(c.pid, c.name, resolve(a[2], new, cwd), True, c.ok, c.errno))
            elif c.name == "symlinkat":
                new = string_arg(a[2])
                if new is not None:
                    events.append(FileEvent(c.pid, c.name, resolve(a[1], new, cwd), True, c.ok, c.errno))
        except IndexError:
            continue
        for event in events[before:]:
            event.index = c.index
    return events


@dataclass
class Connect:
    pid: int
    family: str
    address: str
    port: int | None
    ok: bool
    errno: str
    index: int = 0


def connects(calls: list[Call]) -> list[Connect]:
    found: list[Connect] = []
    for c in calls:
        if c.name != "connect" or len(c.args) < 2:
            continue
        sockaddr = c.args[1]
        family = re.search(r"sa_family=(\w+)", sockaddr)
        fam = family.group(1) if family else "?"
        port_m = re.search(r"sin6?_port=htons\((\d+)\)", sockaddr)
        port = int(port_m.group(1)) if port_m else None
        if fam == "AF_INET":
            addr_m = re.search(r'inet_addr\("([^"]+)"\)', sockaddr)
        elif fam == "AF_INET6":
            addr_m = re.search(r'inet_pton\(AF_INET6,\s*"([^"]+)"', sockaddr)
        else:
            addr_m = re.search(r'sun_path=(@?"(?:[^"\\]|\\.)*")', sockaddr)
        found.append(Connect(c.pid, fam, addr_m.group(1) if addr_m else sockaddr[:80], port, c.ok, c.errno, c.index))
    return found


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def benign_write(path: str) -> bool:
    """Writes nobody should count: the null device and terminals, shared-memory semaphores
    (multiprocessing), /proc and /sys, and Python's own byte-code cache."""
    if path in ("/dev/null", "/dev/tty", "/dev/zero", "/dev/urandom") or path.startswith(("/dev/pts/", "/dev/shm/")):
        return True
    if path.startswith(("/proc/", "/sys/")):
        return True
    return "/__pycache__/" in path and re.search(r"\.pyc(\.\d+)?$", path) is not None


# ---------------------------------------------------------------------------------------------------
# Reading the outputs
# ---------------------------------------------------------------------------------------------------


def loose(text: str) -> str:
    """Letters, digits and dots only, escapes (\\x1b, \\r) dropped: a name compared however the report
    shows its control characters."""
    text = re.sub(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[rnt0])", "", text)
    return "".join(ch for ch in text if ch.isalnum() or ch == ".")


def file_contains(path: Path, needles: list[bytes]) -> list[bytes]:
    """Which NEEDLES a file holds; Office files and zips are searched member by member too."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    hits = [n for n in needles if n in data]
    if data[:4] == b"PK\x03\x04":
        with (
            contextlib.suppress(zipfile.BadZipFile, OSError, RuntimeError, ValueError),
            zipfile.ZipFile(io.BytesIO(data)) as archive,
        ):
            for info in archive.infolist()[:2000]:
                if info.file_size > 64 << 20:
                    continue
                body = archive.read(info)
                hits += [n for n in needles if n in body and n not in hits]
    return hits


def short(text: str, limit: int = 160) -> str:
    text = text.encode("unicode_escape").decode("ascii") if any(ord(ch) < 32 for ch in text) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dossier_id(name: str) -> str:
    return name[:-4] if name.lower().endswith(".zip") else name


def load_cases(source: Path) -> tuple[Path, dict[str, Any]]:
    """The inbox and the manifest: DIR/inbox + DIR/cases.json, or an inbox without a manifest."""
    if (source / "cases.json").is_file() and (source / "inbox").is_dir():
        manifest = json.loads((source / "cases.json").read_text(encoding="utf-8"))
        return source / "inbox", manifest
    if (source.parent / "cases.json").is_file():
        return source, json.loads((source.parent / "cases.json").read_text(encoding="utf-8"))
    cases = {}
    for child in sorted(os.listdir(source)):
        cases[child] = {"name": child, "child": child, "id": dossier_id(child), "kind": "?", "must": "report.json"}
    return source, {"cases": cases, "port": None, "canary": None}


# ---------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------


def wait_for_batch(proc: subprocess.Popen[bytes], traced: bool, deadline: float, run: Run) -> int | None:
    """Wait until the batch itself is done; the tracer may stay behind for processes the batch left."""
    if not traced:
        try:
            return proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None
    batch_pid: int | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return proc.returncode
        if batch_pid is None:
            kids = [pid for pid, ppid in proc_parents().items() if ppid == proc.pid]
            batch_pid = min(kids) if kids else None
        elif is_zombie(batch_pid):
            try:
                return proc.wait(timeout=10)  # strace exits with the batch's code once all tracees are gone
            except subprocess.TimeoutExpired:
                left = [p for p in descendants(os.getpid()) if p != proc.pid and not is_zombie(p)]
                run.leftovers += [f"{p} {cmdline(p)[:200]}" for p in left]
                kill_pids(left)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    return proc.wait(timeout=10)
                return None
        time.sleep(0.2)
    return None


def execute(args: argparse.Namespace) -> int:
    source = args.inbox.absolute()
    inbox, manifest = load_cases(source)
    out = args.out.absolute()
    harness = out.with_name(out.name + ".harness")
    run = Run(command=[])
    if out.exists() and any(out.iterdir()) and not (harness / "results.json").exists():
        print(f"hostile_run: {out} exists, is not empty and is not a previous run's output", file=sys.stderr)
        return 2
    for folder in (out, harness):
        remove_tree(folder)
    harness.mkdir(parents=True)
    os.chmod(harness, 0o755)
    scratch = {name: harness / name for name in ("home", "tmp", "cache", "cwd")}
    for folder in scratch.values():
        folder.mkdir()
    out.mkdir(parents=True)
    canary = manifest.get("canary") or {}
    canary_dir = os.path.realpath(canary["dir"]) if canary.get("dir") else None
    canary_text = (canary.get("text") or "").encode()
    port = args.port or manifest.get("port") or 9
    if manifest.get("port") and args.port and args.port != manifest["port"]:
        run.notes.append(f"--port {args.port} differs from the payloads' port {manifest['port']}")

    # The batch reads a copy: the generated inbox stays as generated, and the copy can be given to
    # another user's reach; links keep their absolute targets, so the canary is still where they point.
    if args.in_place:
        run_inbox = inbox
    else:
        run_inbox = harness / "inbox"
        copy_tree(inbox, run_inbox, run.notes)

    python = Path(args.python)
    dossier = Path(args.dossier) if args.dossier else python.with_name("dossier")
    outer: list[str] = []  # before strace
    inner: list[str] = []  # between strace and the batch
    if args.as_user:
        try:
            entry = pwd.getpwnam(args.as_user)
        except KeyError:
            print(f"hostile_run: no user {args.as_user}", file=sys.stderr)
            return 2
        for folder in [*scratch.values(), out]:
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        try:
            outer, inner = user_wrapper(args.as_user, python, harness / "stage", run)
        except SystemExit:
            print("\n".join(run.notes), file=sys.stderr)
            return 2
        for note in run.notes:
            print(note)
    elif os.geteuid() == 0:
        run.notes.append("running as root: permission bits (chmod 000 cases) do not stop root; see --as-user")

    command = [
        str(dossier),
        "batch",
        str(run_inbox),
        "--out",
        str(out),
        "--quiet",
        "--workers",
        str(args.workers),
        "--format",
        args.formats,
    ]
    log = harness / "strace.log"
    traced = not args.no_strace
    prefix = (
        [
            "strace",
            "-f",
            "-y",
            "-x",
            "-qq",
            "-s",
            "8192",
            "--seccomp-bpf",
            "--pidns-translation",
            "-e",
            f"trace={traced_syscalls()}",
            "-o",
            str(log),
        ]
        if traced
        else []
    )
    run.command = [*outer, *prefix, *inner, *command]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "XDG_", "DOSSIER_"))}
    env.update(
        HOME=str(scratch["home"]),
        TMPDIR=str(scratch["tmp"]),
        TMP=str(scratch["tmp"]),
        TEMP=str(scratch["tmp"]),
        DOSSIER_CACHE_DIR=str(scratch["cache"]),
    )

    tmp_before = {p for p in os.listdir("/tmp") if p.startswith("dossier-")}
    canary_before = fingerprint(Path(canary_dir)) if canary_dir else ""
    try:
        listener = Listener(port, run.listener_hits)
    except OSError as exc:
        print(f"hostile_run: cannot listen on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 2
    listener.start()
    # Orphans of the batch (a daemonised LibreOffice, a server left behind) come back to us.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    print(f"running: {' '.join(run.command[-10:])}  (log in {harness})", flush=True)
    started = time.monotonic()
    with (harness / "stdout.txt").open("wb") as stdout, (harness / "stderr.txt").open("wb") as stderr:
        proc = subprocess.Popen(
            run.command,
            cwd=scratch["cwd"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        sampler = Sampler(run, exclude={proc.pid} if traced else set())
        sampler.start()
        try:
            code = wait_for_batch(proc, traced, started + args.batch_timeout, run)
            if code is None:
                run.timed_out = True
                kill_pids([proc.pid, *descendants(os.getpid())])
                proc.wait()
            run.exit_code = proc.returncode if code is None else code
        except KeyboardInterrupt:
            kill_pids([proc.pid, *descendants(os.getpid())])
            proc.wait()
            raise
        finally:
            run.wall = time.monotonic() - started
            sampler.stop()
    time.sleep(1)  # let a straggler show itself before the process table is read
    left = [p for p in descendants(os.getpid()) if not is_zombie(p)]
    run.leftovers += [f"{p} {cmdline(p)[:200]}" for p in left]
    kill_pids(left)
    time.sleep(0.2)
    reap()
    listener.stop()

    check(
        args, run, manifest, out, harness, scratch, run_inbox, canary_dir, canary_text, canary_before, tmp_before, port
    )
    return report(args, run, manifest, out, harness)


def check(
    args: argparse.Namespace,
    run: Run,
    manifest: dict[str, Any],
    out: Path,
    harness: Path,
    scratch: dict[str, Path],
    inbox: Path,
    canary_dir: str | None,
    canary_text: bytes,
    canary_before: str,
    tmp_before: set[str],
    port: int,
) -> None:
    stdout = (harness / "stdout.txt").read_bytes()
    stderr = (harness / "stderr.txt").read_bytes()
    # (1) the batch itself
    if run.timed_out:
        run.flag("batch-timeout", f"dossier batch killed after {args.batch_timeout:g} s")
    elif run.exit_code not in (0, 1):
        run.flag(
            "exit-code", f"dossier batch exited {run.exit_code}: {short(stderr.decode('utf-8', 'replace')[-300:])}"
        )
    for name, data in (("stdout", stdout), ("stderr", stderr)):
        if b"Traceback" in data:
            at = data.index(b"Traceback")
            run.flag("traceback", f"{name}: {short(data[at : at + 600].decode('utf-8', 'replace'), 300)}")
        controls = sorted({chr(b) for b in data if (b < 32 and b not in (9, 10, 13)) or b == 127})
        if controls:
            run.flag("terminal-control", f"{name} carries control characters {controls!r} (terminal injection)")
    summary_json, summary_xlsx = out / "summary.json", out / "summary.xlsx"
    if not summary_json.is_file():
        run.flag("summary", "summary.json not written")
    else:
        try:
            json.loads(summary_json.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            run.flag("summary", f"summary.json unreadable: {exc}")
    if not summary_xlsx.is_file():
        run.flag("summary", "summary.xlsx not written")
    else:
        try:
            from openpyxl import load_workbook

            load_workbook(summary_xlsx, read_only=True).close()
        except Exception as exc:
            run.flag("summary", f"summary.xlsx unreadable: {type(exc).__name__}: {exc}")

    # (1, 5) each case: its report, its checks, its time
    rows: dict[str, dict[str, Any]] = {}
    with contextlib.suppress(OSError, ValueError, TypeError):
        for row in json.loads(summary_json.read_text(encoding="utf-8")).get("dossiers", []):
            rows[str(row.get("id"))] = row
    results: dict[str, dict[str, Any]] = {}
    for name, case in manifest["cases"].items():
        if case.get("skipped"):
            results[name] = {"status": "skipped", "why": case["skipped"]}
            continue
        ident = case.get("id") or dossier_id(case["child"])
        folder = out / ident
        result: dict[str, Any] = {"id": ident, "report": False}
        results[name] = result
        error_txt = folder / "error.txt"
        if error_txt.is_file():
            text = error_txt.read_text(encoding="utf-8", errors="replace")
            result["error"] = text.strip().splitlines()[-1][:200] if text.strip() else ""
            if "Traceback" in text:
                run.flag("traceback", f"error.txt: {short(result['error'], 200)}", name)
        report_path = folder / "report.json"
        if not report_path.is_file():
            row = rows.get(ident) or {}
            why = row.get("failure") or result.get("error") or "no report.json, no error.txt"
            run.flag("no-report", short(str(why), 220), name)
            continue
        try:
            report_data = json.loads(report_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            run.flag("no-report", f"report.json unreadable: {exc}", name)
            continue
        result["report"] = True
        result["verdict"] = report_data.get("verdict")
        result["codes"] = sorted(Counter(f.get("code") for f in report_data.get("findings", [])).items())
        result["seconds"] = report_data.get("elapsed_seconds")
        files = report_data.get("dossier", {}).get("files", [])
        result["files"] = [(f.get("path"), f.get("error_kind") or ("error" if f.get("error") else None)) for f in files]
        for fmt in args.formats.split(","):
            if fmt != "json" and not (folder / f"report.{fmt}").is_file():
                run.flag("report-format", f"report.{fmt} not written", name)
        seconds = result["seconds"]
        if isinstance(seconds, int | float) and seconds > args.budget:
            run.flag("slow", f"{seconds:.0f} s, over the {args.budget:g} s budget", name)
        for wanted in case.get("read_ok", []):
            if not any(loose(wanted) in loose(str(p or "")) and not kind for p, kind in result["files"]):
                got = [(p, k) for p, k in result["files"] if loose(wanted)[-12:] in loose(str(p or ""))]
                run.flag(
                    "not-read", f"{short(wanted, 60)} not read without error (found: {short(str(got), 120)})", name
                )
        for wanted in case.get("should_read_ok", []):
            if not any(loose(wanted) in loose(str(p or "")) and not kind for p, kind in result["files"]):
                run.notes.append(f"{name}: {short(wanted, 60)} not read (should, not must)")
        items = {i.get("id"): i for i in report_data.get("items", [])}
        for item in case.get("items_present", []):
            if not (items.get(item) or {}).get("present"):
                run.flag("item-missing", f"{item} not found", name)
    # HTML and canary in the outputs
    needles = [n for n in (canary_text,) if n]
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".html":
            text = path.read_text(encoding="utf-8", errors="replace")
            for bad in HOSTILE_HTML:
                if bad in text:
                    run.flag(
                        "html-injection",
                        f"{path.relative_to(out)} holds {bad!r} unescaped",
                        path.relative_to(out).parts[0],
                    )
        if needles and file_contains(path, needles):
            run.flag("canary-leak", f"the canary's text is in {path.relative_to(out)}", path.relative_to(out).parts[0])
    if canary_text and (canary_text in stdout or canary_text in stderr):
        run.flag("canary-leak", "the canary's text was printed")
    if canary_dir and fingerprint(Path(canary_dir)) != canary_before:
        run.flag("canary-changed", f"the canary folder {canary_dir} changed during the run")

    # (2) memory
    if run.peak_rss > args.mem_budget * 2**20:
        run.flag("memory", f"peak RSS of the process tree {run.peak_rss / 2**20:.0f} MB over {args.mem_budget} MB")

    # (3) the strace log
    log = harness / "strace.log"
    created_tmp: set[str] = set()
    if log.is_file():
        calls = parse_strace(log)
        prefect_ports = {
            int(m.group(1))
            for cmd in run.commands_seen.values()
            if "uvicorn" in cmd
            for m in [re.search(r"--port (\d+)", cmd)]
            if m
        }
        private = private_namespaces(calls, run.private_pids)

        def sandboxed(pid: int, index: int) -> bool:
            return pid in private and private[pid] <= index

        loopback: Counter[str] = Counter()
        inside: Counter[str] = Counter()
        flagged: Counter[tuple[str, str]] = Counter()
        for c in connects(calls):
            if c.family not in ("AF_INET", "AF_INET6"):
                continue
            where = f"{c.family} {c.address}:{c.port}"
            outcome = "ok" if c.ok else c.errno
            if sandboxed(c.pid, c.index):
                # Its own network namespace (bubblewrap --unshare-all): cannot reach us; the attempt is noted.
                inside[f"connect {where} ({outcome})"] += 1
            elif not is_loopback(c.address):
                flagged["connect", f"connect {where} ({outcome})"] += 1
            elif c.port == port:
                flagged["connect-listener", f"connect {where} ({outcome}): a payload's URL was fetched"] += 1
            else:
                label = "prefect server" if c.port in prefect_ports else "other loopback"
                loopback[f"{where} ({label})"] += 1
        for (kind, what), n in sorted(flagged.items()):
            run.flag(kind, f"{what}{f' ×{n}' if n > 1 else ''}")
        run.notes += [f"loopback connect ×{n}: {where}" for where, n in sorted(loopback.items())]
        for where in loopback:
            if "other loopback" in where:
                run.notes.append(f"loopback connect to a port that is not the Prefect server's: {where}")
        allowed = [os.path.realpath(p) for p in (out, scratch["cache"], scratch["tmp"])]
        inbox_real = os.path.realpath(inbox)
        events = file_events(calls, str(scratch["cwd"]))
        canary_opens: set[str] = set()
        outside: Counter[str] = Counter()
        attempts: Counter[str] = Counter()
        into_inbox: Counter[str] = Counter()
        for e in events:
            if canary_dir and e.call.startswith(("open", "creat")):
                real = e.path if e.ok else os.path.realpath(e.path)
                if under(real, [canary_dir]):
                    canary_opens.add(f"{e.call} {real} ({'ok' if e.ok else e.errno})")
            if not e.write:
                continue
            if sandboxed(e.pid, e.index):
                # Paths of a private mount namespace (the sandbox's own /tmp, /job): not the host's.
                inside["file writes"] += 1
                continue
            if e.path.startswith("/tmp/dossier-") and e.ok:
                created_tmp.add(e.path[len("/tmp/") :].split("/")[0])
            if benign_write(e.path) or under(e.path, allowed):
                continue
            if under(e.path, [inbox_real]):
                if e.ok:
                    into_inbox[f"{e.call} {e.path}"] += 1
                continue
            if e.ok:
                # HOME gets its own kind: the tool's caches and Prefect's profile tend to land there.
                home = under(e.path, [os.path.realpath(scratch["home"])])
                outside[f"{'write-home' if home else 'write-outside'}\0{e.call} {e.path}"] += 1
            elif e.errno != "EEXIST":
                attempts[f"{e.call} {e.path} ({e.errno})"] += 1
        for what in sorted(canary_opens):
            run.flag("canary-open", short(what, 220))
        for what, n in sorted(into_inbox.items()):
            run.flag("inbox-modified", f"{short(what, 200)}{f' ×{n}' if n > 1 else ''}")
        for key, n in sorted(outside.items()):
            kind, what = key.split("\0", 1)
            run.flag(kind, f"{short(what, 200)}{f' ×{n}' if n > 1 else ''}")
        run.notes += [
            f"failed write attempt outside: {short(w, 200)}{f' ×{n}' if n > 1 else ''}"
            for w, n in sorted(attempts.items())
        ]
        sandbox_pids = sorted(private)
        if sandbox_pids:
            run.notes.append(
                f"{len(sandbox_pids)} processes ran in a private mount namespace (sandbox); inside it: "
                + (", ".join(f"{what} ×{n}" for what, n in sorted(inside.items())) or "nothing traced")
                + " (not judged as host paths; the canary check still applies)"
            )
        run.notes.append(f"strace: {len(calls)} calls, {len(events)} file events")
    elif not args.no_strace:
        run.flag("strace", "no strace log written")
    for hit in run.listener_hits:
        run.flag("listener-hit", f"connection from {hit['peer']} at {hit['at']} s: {short(hit['request'], 160)}")

    # (4) what was left behind
    for top, n in grouped(tree_listing(scratch["tmp"]), 1):
        run.flag("tmp-left", f"TMPDIR/{short(top, 200)}{f' ({n} entries)' if n > 1 else ''}")
    for top, n in grouped(tree_listing(scratch["home"]), 2):
        run.flag("home-created", f"HOME/{short(top, 200)}{f' ({n} entries)' if n > 1 else ''}")
    tmp_after = {p for p in os.listdir("/tmp") if p.startswith("dossier-")} - tmp_before
    for name in sorted(tmp_after):
        # Another process (a parallel test run) may make /tmp/dossier-*: with strace, only ours count.
        if name in created_tmp or not log.is_file():
            run.flag("tmp-dossier", f"/tmp/{name} left behind")
        else:
            run.notes.append(f"/tmp/{name} appeared, not made by this run (per strace)")
    for line in run.leftovers:
        run.flag("left-running", short(line, 200))
    (harness / "cases.results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


def report(args: argparse.Namespace, run: Run, manifest: dict[str, Any], out: Path, harness: Path) -> int:
    results = json.loads((harness / "cases.results.json").read_text(encoding="utf-8"))
    by_case: dict[str, list[Violation]] = {}
    for v in run.violations:
        if v.case:
            by_case.setdefault(v.case, []).append(v)
    # A violation recorded under a dossier id (outputs) belongs to the case with that id.
    ids = {r.get("id"): name for name, r in results.items() if isinstance(r, dict)}
    for v in run.violations:
        if v.case in ids and v.case not in manifest["cases"]:
            by_case.setdefault(ids[v.case], []).append(v)
    print()
    header = f"{'case':30s} {'report':6s} {'verdict':10s} {'secs':>7s}  {'findings':40s} violations"
    print(header)
    print("-" * len(header))
    failed_cases = 0
    for name, r in results.items():
        if r.get("status") == "skipped":
            print(f"{name:30s} {'skip':6s} {'-':10s} {'-':>7s}  {short(r['why'], 40):40s}")
            continue
        kinds = sorted({v.kind for v in by_case.get(name, [])})
        failed_cases += bool(kinds)
        codes = ",".join(code for code, _ in r.get("codes", []) if code != "ITEM_MISSING") or "-"
        if any(code == "ITEM_MISSING" for code, _ in r.get("codes", [])):
            missing = dict(r["codes"])["ITEM_MISSING"]
            codes = f"{codes},MISSING×{missing}" if codes != "-" else f"MISSING×{missing}"
        seconds = r.get("seconds")
        secs = f"{seconds:7.1f}" if isinstance(seconds, int | float) else f"{'-':>7s}"
        verdict = r.get("verdict") or ("failed" if not r.get("report") else "-")
        print(
            f"{name:30s} {'yes' if r.get('report') else 'NO':6s} {verdict:10s} {secs}  {codes[:40]:40s} {','.join(kinds) or 'ok'}"
        )
    print()
    print(
        f"exit code {run.exit_code}{' (killed at the batch timeout)' if run.timed_out else ''}; wall {run.wall:.1f} s"
    )
    reports = sum(1 for r in results.values() if r.get("report"))
    generated = sum(1 for r in results.values() if r.get("status") != "skipped")
    print(f"reports: {reports}/{generated}; cases with a violation: {failed_cases}")
    print(
        f"peak memory of the process tree: RSS {run.peak_rss / 2**20:.0f} MB (PSS {run.peak_pss / 2**20:.0f} MB) "
        f"at {run.peak_at:.1f} s; largest then: "
        + "; ".join(f"{rss / 2**20:.0f} MB {short(cmd, 70)}" for rss, _, cmd in run.peak_top[:3])
    )
    print(f"listener 127.0.0.1:{args.port or manifest.get('port') or 9}: {len(run.listener_hits)} connection(s)")
    kinds = Counter(v.kind for v in run.violations)
    print("violations by kind: " + (", ".join(f"{k} {n}" for k, n in kinds.most_common()) or "none"))
    if run.violations:
        print("\nviolations:")
        for v in run.violations:
            print(f"  [{v.kind}] {v.case + ': ' if v.case else ''}{v.detail}")
    notes = run.notes
    if notes:
        print("\nnotes:")
        for note in notes:
            print(f"  {note}")
    (harness / "results.json").write_text(
        json.dumps(
            {
                "command": run.command,
                "exit_code": run.exit_code,
                "timed_out": run.timed_out,
                "wall_seconds": round(run.wall, 1),
                "peak_rss_bytes": run.peak_rss,
                "peak_pss_bytes": run.peak_pss,
                "listener_hits": run.listener_hits,
                "leftovers": run.leftovers,
                "violations": [v.__dict__ for v in run.violations],
                "notes": notes,
                "cases": results,
                "processes": sorted(set(run.commands_seen.values())),
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    print(f"\nresults: {harness / 'results.json'}")
    return 1 if run.violations else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--inbox", type=Path, required=True, help="the generator's DIR (inbox/ + cases.json) or an inbox"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="the batch's --out; the harness's files go to OUT.harness/"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--formats", default="json,html,md,docx", help="the batch's --format (every writer by default)")
    parser.add_argument("--no-strace", action="store_true", help="run without strace (no open/write/connect checks)")
    parser.add_argument("--as-user", metavar="USER", help="run the batch as USER (e.g. nobody) so permission bits bite")
    parser.add_argument("--port", type=int, help="listener port (default: the one in cases.json, else 9)")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds one dossier may take (elapsed_seconds)")
    parser.add_argument("--mem-budget", type=int, default=8192, help="MB the whole process tree may hold (sum of RSS)")
    parser.add_argument("--batch-timeout", type=float, default=3600.0, help="seconds before the batch is killed")
    parser.add_argument("--in-place", action="store_true", help="run on the inbox itself, not on a copy")
    parser.add_argument("--python", default=str(Path(sys.executable)), help="the project's interpreter")
    parser.add_argument("--dossier", help="the dossier console script (default: beside --python)")
    args = parser.parse_args(argv)
    if not args.no_strace and shutil.which("strace") is None:
        print("hostile_run: strace not found (apt-get install strace, or --no-strace)", file=sys.stderr)
        return 2
    return execute(args)


if __name__ == "__main__":
    sys.exit(main())
