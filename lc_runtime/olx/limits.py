"""What an OLX import accepts: resource limits (Django settings) and the names that become file paths.

Every limit is a Django setting read when an import starts (``override_settings`` works in tests):

=================================  ==============  ==================================================
setting                            default         refused when
=================================  ==============  ==================================================
``LC_RUNTIME_OLX_MAX_FILE_BYTES``  50,000,000      one file is larger (Learning Core's own
                                                   ``Media.MAX_FILE_SIZE``); checked before reading
``LC_RUNTIME_OLX_MAX_FILES``       50,000          the course (or archive) has more entries
``LC_RUNTIME_OLX_MAX_TOTAL_BYTES`` 1 GiB           the files read (or the archive's members) add up
                                                   to more
``LC_RUNTIME_OLX_MAX_PATH_DEPTH``  20              a path has more components (``a/b/c`` is 3)
``LC_RUNTIME_OLX_MAX_BLOCK_DEPTH`` 50              blocks nest deeper (the course is depth 1)
``LC_RUNTIME_OLX_MAX_BLOCKS``      100,000         the course has more blocks
``LC_RUNTIME_OLX_MAX_ID_BYTES``    240             a ``url_name`` is longer in UTF-8 (so every file
                                                   name made from it, with its extension, fits in
                                                   255 bytes and in the 255-character id columns)
``LC_RUNTIME_OLX_FOLLOW_INTERNAL_  False           a path is a symbolic link (with True: only when
SYMLINKS``                                         it resolves outside the course root)
=================================  ==============  ==================================================
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields

from ..errors import OlxError, OlxLimitError

SETTING_PREFIX = "LC_RUNTIME_OLX_"


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 50_000_000
    max_files: int = 50_000
    max_total_bytes: int = 1 << 30
    max_path_depth: int = 20
    max_block_depth: int = 50
    max_blocks: int = 100_000
    max_id_bytes: int = 240
    follow_internal_symlinks: bool = False

    @classmethod
    def from_settings(cls) -> "Limits":
        """The defaults, overridden by any ``LC_RUNTIME_OLX_<NAME>`` Django setting."""
        from django.conf import settings

        values = {}
        for item in fields(cls):
            value = getattr(settings, SETTING_PREFIX + item.name.upper(), None)
            if value is not None:
                values[item.name] = bool(value) if item.type == "bool" else int(value)
        return cls(**values)

    @staticmethod
    def setting(name: str) -> str:
        return SETTING_PREFIX + name.upper()


def check_size(size: int, limits: Limits, path: str) -> None:
    if size > limits.max_file_bytes:
        raise OlxLimitError(f"file is {size:,} bytes, more than the {limits.max_file_bytes:,} allowed",
                            setting=Limits.setting("max_file_bytes"), path=path)


# -- names ---------------------------------------------------------------------------------------------
# opaque-keys accepts ``[\w\-~.:]`` in block ids (BlockUsageLocator; ``%`` only in deprecated keys) and
# edx-platform's XML import turns every ``:`` of a url_name into ``/`` to find the block's file. So a
# url_name is a relative path of ``:``-separated segments, and no segment may be empty, ``.`` or ``..``.
URL_NAME_RE = re.compile(r"[\w\-~.:]+")
# Block types are XML tag names and directory names: ASCII, no ``:`` (that would be a namespace prefix).
BLOCK_TYPE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")
MAX_BLOCK_TYPE_CHARS = 64  # LcBlock.block_type
#: Top-level names of an OLX export that are not block directories: a block of these types would write
#: its file among the course's own files (``static/x.xml`` becomes a course file on re-import).
RESERVED_BLOCK_TYPES = frozenset({"static", "policies", "drafts"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_block_type(tag, *, path: str | None) -> str:
    """The element's tag as a block type, or an :class:`OlxError` naming the file."""
    if not isinstance(tag, str):
        raise OlxError("a comment, processing instruction or entity cannot be a block", path=path)
    if tag.startswith("{"):
        raise OlxError(f"namespaced element <{tag}> cannot be a block (OLX block elements have no namespace)",
                       path=path)
    if not BLOCK_TYPE_RE.fullmatch(tag) or len(tag) > MAX_BLOCK_TYPE_CHARS:
        raise OlxError(f"invalid block type <{shorten(tag)}>: a block type is at most {MAX_BLOCK_TYPE_CHARS} "
                       "ASCII letters, digits, '_', '-' and '.'", path=path)
    if tag in RESERVED_BLOCK_TYPES:
        raise OlxError(f"<{tag}> cannot be a block: {tag}/ holds the course's own files", path=path)
    return tag


def check_url_name(url_name: str, limits: Limits, *, path: str | None, tag: str | None = None) -> str:
    """Refuse a url_name that is not a valid block id or whose file path could escape or collide."""
    what = f"url_name {shorten(url_name)!r}" + (f" on <{tag}>" if tag else "")
    if not URL_NAME_RE.fullmatch(url_name):
        raise OlxError(f"invalid {what}: only letters, digits, '_', '-', '~', '.' and ':' are allowed", path=path)
    segments = url_name.split(":")
    if any(segment in ("", ".", "..") for segment in segments):
        raise OlxError(f"invalid {what}: ':' separates directories, and no part may be empty, '.' or '..'",
                       path=path)
    size = len(url_name.encode("utf-8"))
    if size > limits.max_id_bytes:
        raise OlxLimitError(f"{what} is {size} bytes long, more than the {limits.max_id_bytes} allowed",
                            setting=Limits.setting("max_id_bytes"), path=path)
    return url_name


def check_file_name(relative: str, *, path: str) -> None:
    """A course file's path must be text we can store and print: UTF-8, no control characters.
    ``path`` is how the error names it (already :func:`printable`)."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        raise OlxError("file name is not valid UTF-8", path=path) from None
    if _CONTROL.search(relative):
        raise OlxError("file name contains control characters", path=path)


def printable(text: str) -> str:
    """``text`` safe for a one-line message: control characters and undecodable bytes escaped."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def shorten(text: str, keep: int = 60) -> str:
    text = printable(text)
    return text if len(text) <= keep else f"{text[:keep]}…({len(text)} characters)"
