"""A private ``redis-server`` (Debian's package) for celery's broker in tests and benchmarks.

Started on a free local port with a temporary working directory and no persistence (``--save ''
--appendonly no``): nothing outlives it, and two test sessions never share a broker.
"""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lc_runtime.errors import LcRuntimeError

START_TIMEOUT_SECONDS = 20.0


class RedisServerError(LcRuntimeError):
    """redis-server is not installed or did not answer PING; one line saying which and why."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """A running private redis-server; :meth:`stop` ends it and removes its directory."""

    port: int
    directory: Path
    process: subprocess.Popen = field(repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)

    @classmethod
    def start(cls, executable: str | None = None) -> "RedisServer":
        binary = executable or shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise RedisServerError("redis-server is not installed (Debian: apt-get install -y redis-server)")
        directory = Path(tempfile.mkdtemp(prefix="lc-runtime-redis-"))
        port = _free_port()
        log = directory / "redis.log"
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", "",
             "--appendonly", "no", "--logfile", str(log), "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        server = cls(port, directory, process)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                why = _last_line(log) or f"exit status {process.returncode}"
                server.stop()
                raise RedisServerError(f"redis-server on port {port} did not start: {why}")
            if _ping(port):
                return server
            time.sleep(0.05)
        server.stop()
        raise RedisServerError(f"redis-server on port {port} did not answer PING within {START_TIMEOUT_SECONDS:.0f} s")


def _last_line(log: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1] if lines else ""
    return ""


@contextlib.contextmanager
def redis_server(executable: str | None = None):
    """``with redis_server() as server: … server.url …``; stopped (and its directory removed) on exit."""
    server = RedisServer.start(executable)
    try:
        yield server
    finally:
        server.stop()
