"""A live HTTP server for the REST API tests: Django's threaded WSGI server on a free port, in a thread.

Requests go over real sockets (``requests``); the server's threads use their own database
connections, so test data must be committed (these tests do not run inside a transaction).
"""
from __future__ import annotations

import itertools
import tempfile
import threading
from pathlib import Path

import requests
from django.contrib.auth import get_user_model
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from rest_framework.authtoken.models import Token

from .olx_builder import standard_course

_runs = itertools.count(1)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class LiveServer:
    def __init__(self):
        self.server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
        self.server.set_app(get_wsgi_application())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/lc-runtime/v1/"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def client(username: str, base_url: str) -> "Client":
    user, _ = get_user_model().objects.get_or_create(username=username)
    token, _ = Token.objects.get_or_create(user=user)
    return Client(base_url, token.key, user)


class Client(requests.Session):
    """A token-authenticated session whose paths are relative to the API root."""

    def __init__(self, base_url: str, token: str | None, user=None):
        super().__init__()
        self.base_url, self.user = base_url, user
        if token:
            self.headers["Authorization"] = f"Token {token}"

    def request(self, method, url, *args, **kwargs):
        return super().request(method, self.base_url + url.lstrip("/"), *args, timeout=60, **kwargs)


def new_course(org: str):
    """A freshly imported standard course (tests/olx_builder.py) with a run of its own; its key."""
    from opaque_keys.edx.locator import CourseLocator

    from lc_runtime import api as lc_api

    run = f"r{next(_runs)}"
    lc_api.import_olx(standard_course(Path(tempfile.mkdtemp()) / "course", org=org, run=run))
    return CourseLocator(org, "T101", run)
