"""A private MariaDB server: its own data directory, a free loopback port and a unix socket.

Meant for tests, benchmarks and trying the MySQL backend out; never for real data: it runs without
grant tables (anyone on this machine may connect as any user) and without fsyncs.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from . import process
from .process import LocalServerError

PACKAGE = "mariadb-server"
USER = "lc"
_DATABASE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")

# Settings for a throw-away server: utf8mb4 throughout (as Open edX runs), durability traded for speed.
_SERVER_OPTIONS = (
    "--skip-grant-tables",
    "--skip-networking=0",
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    "--skip-log-bin",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-buffer-pool-size=256M",
    "--max-connections=500",
    # Compiled course documents are stored as one compressed blob per chunk; allow big ones.
    "--max-allowed-packet=256M",
)


@dataclass
class MariaDBServer:
    """A running private server: where to reach it, and how to stop it (kill + remove its directory)."""

    host: str
    port: int
    socket: str
    user: str
    home: Path
    log: Path
    process: subprocess.Popen | None = field(default=None, repr=False, compare=False)

    def url(self, database: str, *, tcp: bool = False) -> str:
        """A ``LC_RUNTIME_DATABASE_URL`` for ``database`` on this server (unix socket unless ``tcp``)."""
        base = f"mysql://{self.user}@{self.host}:{self.port}/{database}"
        return base if tcp else f"{base}?unix_socket={quote(self.socket)}"

    def execute(self, sql: str) -> None:
        """Run administrative SQL with the server's own client (no Python driver needed)."""
        client = process.find_binary("mariadb", package="mariadb-client")
        done = subprocess.run([client, "--no-defaults", f"--socket={self.socket}", f"--user={self.user}",
                               "--default-character-set=utf8mb4", "--batch", "-e", sql],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            why = ((done.stderr or done.stdout).strip().splitlines() or ["no message"])[-1]
            raise LocalServerError(f"MariaDB on port {self.port}: {sql!r} failed: {why} (log: {self.log})")

    def create_database(self, name: str, *, drop_existing: bool = True) -> str:
        """Create an empty utf8mb4 database and return its URL."""
        if not _DATABASE_NAME.match(name):
            raise LocalServerError(f"not a plain database name: {name!r}")
        drop = f"DROP DATABASE IF EXISTS `{name}`; " if drop_existing else ""
        self.execute(f"{drop}CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        return self.url(name)

    def copy_database(self, source: str, target: str) -> str:
        """Copy ``source`` (schema and rows) into a new empty database ``target``; return its URL.

        One consistent snapshot (``--single-transaction``) piped from ``mariadb-dump`` into ``mariadb``:
        benchmarks seed once and give every side its own copy.
        """
        url = self.create_database(target)
        dump_bin = process.find_binary("mariadb-dump", package="mariadb-client")
        client = process.find_binary("mariadb", package="mariadb-client")
        where = ["--no-defaults", f"--socket={self.socket}", f"--user={self.user}"]
        dump = subprocess.Popen([dump_bin, *where, "--single-transaction", "--skip-triggers", "--skip-dump-date",
                                 source], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        load = subprocess.run([client, *where, "--default-character-set=utf8mb4", target], stdin=dump.stdout,
                              capture_output=True, timeout=600)
        dump.stdout.close()
        dump_err = dump.stderr.read().decode(errors="replace")
        dump.stderr.close()
        if dump.wait(timeout=600) != 0 or load.returncode != 0:
            why = (dump_err or load.stderr.decode(errors="replace")).strip().splitlines() or ["no message"]
            raise LocalServerError(f"MariaDB on port {self.port}: copying {source} to {target} failed: {why[-1]}")
        return url

    def stop(self) -> None:
        """Kill the server and remove its data directory (safe to call twice)."""
        process.stop(self.process)
        self.process = None
        process.remove_home(self.home)
        self.log.unlink(missing_ok=True)

    def __enter__(self) -> "MariaDBServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_mariadb(*, port: int | None = None, timeout: float = 60) -> MariaDBServer:
    """Initialise a data directory and start ``mariadbd`` on it; return once it answers queries.

    Raises :class:`LocalServerError` (one line naming the binary, port and log file) when the
    packages are missing or the server does not come up.
    """
    server_bin = process.find_binary("mariadbd", package=PACKAGE)
    install_bin = process.find_binary("mariadb-install-db", package=PACKAGE)
    admin_bin = process.find_binary("mariadb-admin", package="mariadb-client")
    home = process.temp_home("lc-mariadb-")
    # The log sits beside the directory, so it outlives a failed start for the error's reader.
    data, sock, log = home / "data", str(home / "mysqld.sock"), Path(f"{home}.log")
    port = port or process.free_port()
    # mariadbd refuses to run as root unless told which user it runs as.
    user_option = [f"--user={_os_user()}"]
    try:
        process.run_once([install_bin, "--no-defaults", f"--datadir={data}", *user_option, "--skip-test-db",
                          "--auth-root-authentication-method=normal"],
                         log=log, what=f"initialising MariaDB data directory {data}")
        command = [server_bin, "--no-defaults", *user_option, f"--datadir={data}", f"--socket={sock}",
                   f"--port={port}", f"--pid-file={home / 'mariadbd.pid'}", f"--log-error={log}",
                   *_SERVER_OPTIONS]
        child = process.spawn(command, log=log)
        server = MariaDBServer(host="127.0.0.1", port=port, socket=sock, user=USER, home=home, log=log,
                               process=child)

        def answers() -> bool:
            ping = [admin_bin, "--no-defaults", f"--socket={sock}", f"--user={USER}", "--silent", "ping"]
            return os.path.exists(sock) and subprocess.run(ping, capture_output=True, timeout=10).returncode == 0

        process.wait_ready(child, answers, timeout=timeout, what=f"{server_bin} on port {port}", log=log)
        return server
    except BaseException:
        if "child" in locals():
            process.stop(child)
        process.remove_home(home)
        raise


def _os_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name
