"""A live HTTP server for the REST API's tests and benchmark: Django's threaded WSGI server on a free
port, in a thread, and a token-authenticated ``requests`` client.

Requests go over real sockets; the server's threads use their own database connections, so the data
they read must be committed.
"""
from __future__ import annotations

import threading

import requests
from django.contrib.auth import get_user_model
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from rest_framework.authtoken.models import Token


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


