"""Public API of the local server launchers."""
from __future__ import annotations

from .redis import RedisServer, RedisServerError, redis_server

__all__ = ["RedisServer", "RedisServerError", "redis_server"]
