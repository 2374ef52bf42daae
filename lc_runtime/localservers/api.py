"""Public API of the local server launchers: start a private server, get its address, stop it.

    from lc_runtime.localservers.api import start_mariadb
    with start_mariadb() as server:                 # LocalServerError (one line) if it cannot start
        url = server.create_database("bench")       # mysql://lc@127.0.0.1:PORT/bench?unix_socket=...
        os.environ["LC_RUNTIME_DATABASE_URL"] = url # lc_runtime.settings then uses MySQL
"""
from __future__ import annotations

from .mariadb import MariaDBServer, start_mariadb
from .process import LocalServerError, free_port
from .redis import RedisServer, RedisServerError, redis_server

__all__ = ["LocalServerError", "MariaDBServer", "RedisServer", "RedisServerError", "free_port", "redis_server",
           "start_mariadb"]
