"""Minimal runtimes for tests that only need blocks to exist, not to be served."""
from __future__ import annotations

from xblock.runtime import Runtime


class NoServingRuntime(Runtime):
    """Implements the four abstract Runtime methods by refusing: nothing is served in these tests."""

    user_id = None

    def handler_url(self, *args, **kwargs):
        raise NotImplementedError

    def resource_url(self, *args, **kwargs):
        raise NotImplementedError

    def local_resource_url(self, *args, **kwargs):
        raise NotImplementedError

    def publish(self, *args, **kwargs):
        raise NotImplementedError
