"""Usage keys as the query checks compare them (text without branch and version), built once per block.

The query battery asks some thirty questions of the same blocks of a branch, on every side: turning
each answer's key into text again, and parsing each asked key again, was a fifth of its time.
"""
from __future__ import annotations

from functools import lru_cache

from opaque_keys.edx.keys import UsageKey

from lc_runtime.dump import plain_key


class PlainKeys:
    """:func:`~lc_runtime.dump.plain_key` of the keys one side hands out, kept per block while the keys'
    course key is the very same object. The entry is complete: a key is immutable, and its text is a
    function of its class, its course key and its block type and id (a block usage key has no other
    parts); a key whose course key is another object starts the kept texts over (one branch at a time)."""

    __slots__ = ("_context", "_texts")

    def __init__(self) -> None:
        self._context = None
        self._texts: dict = {}

    def __call__(self, key) -> str | None:
        context = getattr(key, "course_key", None)
        if context is None:  # None, or a key with no course (never kept)
            return plain_key(key)
        if context is not self._context:
            self._context, self._texts = context, {}
        part = (type(key), key.block_type, key.block_id)
        text = self._texts.get(part)
        if text is None:
            text = self._texts[part] = plain_key(key)
        return text


@lru_cache(maxsize=1 << 16)
def parsed_usage_key(text: str):
    """``UsageKey.from_string(text)``, parsed once for every side that is asked about the same key (a key
    is immutable, so one parsed key can be handed to all; a text that does not parse raises every time)."""
    return UsageKey.from_string(text)
