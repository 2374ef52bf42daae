"""Learning Core codes for Split block ids (ADR 0001).

Codes allow only ``[\\w.-]`` and container codes are unique across container types, while Split
block ids allow ``~`` and ``:`` and are unique per ``(type, id)``. The block id is used as is when
legal and free; otherwise a deterministic escaped form. The ``LcBlock`` table keeps the original id.
"""
from __future__ import annotations

import hashlib
import re

LEGAL_CODE = re.compile(r"^[\w.-]+\Z")


def escaped_code(block_type: str, block_id: str) -> str:
    """Readable where possible (``~``→``-7e-``, ``:``→``-3a-``) with a short hash to stay unique."""
    readable = re.sub(r"[^\w.-]", lambda m: f"-{ord(m.group()):x}-", block_id)[:200]
    digest = hashlib.sha1(f"{block_type}\0{block_id}".encode()).hexdigest()[:10]
    return f"{readable}.x{digest}"


class CodeAllocator:
    """Hands out component and container codes for one learning package."""

    def __init__(self, used_container_codes: set[str] | None = None):
        self.container_codes: set[str] = set(used_container_codes or ())

    @staticmethod
    def component_code(block_type: str, block_id: str) -> str:
        # Components are unique per (type, code), so only the charset matters.
        return block_id if LEGAL_CODE.match(block_id) else escaped_code(block_type, block_id)

    def container_code(self, block_type: str, block_id: str) -> str:
        for candidate in (block_id, f"{block_type}.{block_id}"):
            if LEGAL_CODE.match(candidate) and candidate not in self.container_codes:
                break
        else:
            candidate = escaped_code(block_type, block_id)
        self.container_codes.add(candidate)
        return candidate


def upload_code(path: str) -> str:
    """Course files (ADR 0013 ``openedx.v1:upload`` components) are coded by their path."""
    return path if LEGAL_CODE.match(path) else escaped_code("upload", path)


def definition_id(package_ref: str, block_type: str, block_id: str, content_json: str) -> str:
    """Stable 24-hex definition id per (block, content): drafts and published share it until edited."""
    return hashlib.sha1(f"{package_ref}\0{block_type}\0{block_id}\0{content_json}".encode()).hexdigest()[:24]
