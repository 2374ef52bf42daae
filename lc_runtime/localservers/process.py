"""What every local server shares: finding its binary, a free port, a temp home, start, wait, stop."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

from ..errors import LcRuntimeError

# Debian installs server daemons in sbin, which is not on a non-root user's PATH.
_SEARCH_DIRS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")


class LocalServerError(LcRuntimeError):
    """A local server could not be found, started or reached; names the binary, port and log file."""


def find_binary(name: str, *, package: str) -> str:
    """The path of ``name`` (PATH first, then the sbin directories Debian uses)."""
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in _SEARCH_DIRS if os.access(Path(d) / name, os.X_OK)), None)
    if not found:
        raise LocalServerError(f"{name} not found: install Debian's {package} package (apt-get install -y {package})")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def temp_home(prefix: str) -> Path:
    """A fresh directory for a server's data, socket and log; in memory (/dev/shm) when there is one,
    since a test server's durability is worthless and its fsyncs are the slow part.

    Directories left by owners that died without cleaning up (a killed test run) are removed first.
    """
    base = os.environ.get("LC_RUNTIME_SERVERS_TMP") or ("/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    _remove_orphans(Path(base or tempfile.gettempdir()), prefix)
    # Unix socket paths are limited to ~107 bytes: keep the directory name short.
    home = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    (home / _OWNER).write_text(str(os.getpid()))
    return home


_OWNER = "owner.pid"


def _remove_orphans(base: Path, prefix: str) -> None:
    for home in base.glob(f"{prefix}*"):
        try:
            owner = int((home / _OWNER).read_text())
            os.kill(owner, 0)
        except ProcessLookupError:
            remove_home(home)
            Path(f"{home}.log").unlink(missing_ok=True)
        except (OSError, ValueError):
            continue


def run_once(command: list[str], *, log: Path, what: str, timeout: float = 120) -> None:
    """Run a set-up command to completion, its output appended to ``log``; a failure names the log."""
    with open(log, "ab") as out:
        try:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LocalServerError(f"{what}: {command[0]} did not finish in {timeout:.0f} s (log: {log})") from None
    if done.returncode != 0:
        raise LocalServerError(f"{what}: {command[0]} exited with {done.returncode} ({_last_line(log)}; log: {log})")


def spawn(command: list[str], *, log: Path) -> subprocess.Popen:
    """Start a daemon in the foreground as our child, in its own process group, output to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    """Linux: the daemon gets SIGTERM when its starter dies, so a killed test run leaves no server behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def wait_ready(process: subprocess.Popen, ready: Callable[[], bool], *, timeout: float, what: str,
               log: Path) -> None:
    """Poll ``ready()`` until it holds; fail at once, naming the log, if the process exits meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise LocalServerError(f"{what} exited with {process.returncode} while starting "
                                   f"({_last_line(log)}; log: {log})")
        if ready():
            return
        if time.monotonic() > deadline:
            stop(process)
            raise LocalServerError(f"{what} not ready after {timeout:.0f} s ({_last_line(log)}; log: {log})")
        time.sleep(0.1)


def stop(process: subprocess.Popen | None, *, timeout: float = 20) -> None:
    """Stop a daemon started by :func:`spawn`: SIGTERM, then SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def remove_home(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)


def _last_line(log: Path) -> str:
    """The log's first error (else its last line), so a one-line error still says why."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    errors = [line for line in lines if "[ERROR]" in line and "Aborting" not in line]
    return (errors[:1] or lines[-1:] or ["log is empty"])[0][:300]
