"""``python -m lc_runtime.localservers mariadb [--database NAME] [-- COMMAND ...]``

Starts a private MariaDB, creates the database (default ``lc_runtime``) and either runs COMMAND with
``LC_RUNTIME_DATABASE_URL`` pointing at it, or prints that variable and serves until interrupted.
The server and its data are removed afterwards either way.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from .api import LocalServerError, start_mariadb


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = []
    if "--" in argv:
        command = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(prog="python -m lc_runtime.localservers",
                                     description="Run a private, throw-away server on this machine.")
    parser.add_argument("server", choices=["mariadb"])
    parser.add_argument("--database", default="lc_runtime")
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    args = parser.parse_args(argv)
    try:
        server = start_mariadb(port=args.port)
    except LocalServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with server:
        url = server.create_database(args.database)
        if command:
            return subprocess.call(command, env={**os.environ, "LC_RUNTIME_DATABASE_URL": url})
        print(f"LC_RUNTIME_DATABASE_URL={url}", flush=True)
        print(f"# MariaDB on 127.0.0.1:{server.port}, log {server.log}; Ctrl-C stops it and removes its data",
              file=sys.stderr, flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
