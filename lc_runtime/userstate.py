"""User-scoped field data (user_state, preferences, …): pluggable, in memory by default.

Inside edx-platform the LMS binds blocks to its own student-state store; standalone, any
``KeyValueStore`` can be passed to the runtime.
"""
from __future__ import annotations

import copy

from xblock.runtime import KeyValueStore, KvsFieldData


class InMemoryUserState(KeyValueStore):
    """A dict store that copies on get and set (the FieldData contract a plain dict store breaks)."""

    def __init__(self) -> None:
        self.data: dict = {}

    def get(self, key):
        return copy.deepcopy(self.data[key])

    def set(self, key, value):
        self.data[key] = copy.deepcopy(value)

    def delete(self, key):
        del self.data[key]

    def has(self, key):
        return key in self.data


def user_field_data(store: KeyValueStore | None = None) -> KvsFieldData:
    return KvsFieldData(store if store is not None else InMemoryUserState())
