"""Editing an export kept in memory (``lc_runtime.olx.export.export_course_in_memory``) as a test of a
lossy exporter would: ``MemoryOlxPath`` offers the few ``Path`` operations the tests use on a directory."""
from __future__ import annotations

from unittest import mock


class MemoryOlxPath:
    """A path inside a :class:`~lc_runtime.olx.safefs.MemoryExportFS`."""

    def __init__(self, files, path: str = ""):
        self.files, self.path = files, path

    def __truediv__(self, name: str) -> "MemoryOlxPath":
        return MemoryOlxPath(self.files, f"{self.path}/{name}" if self.path else name)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def read_text(self) -> str:
        return self.files.readtext(self.path)

    def write_text(self, text: str) -> None:
        self.files.written.discard(self.files.validatepath(self.path))  # the export's own write-once rule
        self.files.writetext(self.path, text)


def editing_the_export(edit):
    """A patch of the round trip's export that runs ``edit(MemoryOlxPath)`` on what it wrote."""
    from lc_runtime.olx import export

    real = export.export_course_in_memory

    def lossy_export(runtime):
        files = real(runtime)
        edit(MemoryOlxPath(files))
        return files

    return mock.patch.object(export, "export_course_in_memory", lossy_export)
