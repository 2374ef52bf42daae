"""A block's standalone OLX (``block.xml``) from its current field values, using its own class's export.

Legacy blocks write their definition to files (``html/<id>.xml`` + ``.html``); they write into an
in-memory filesystem and the result is folded back into one element, the same shape the importer
stores.
"""
from __future__ import annotations

from fs.memoryfs import MemoryFS
from lxml import etree

from .import_runtime import standalone_olx


class _MemoryReader:
    """What :func:`standalone_olx` needs to follow pointers inside an export filesystem."""

    def __init__(self, fs):
        self.fs = fs

    def load_olx_file(self, path):
        return etree.fromstring(self.fs.readbytes(path))

    def read_text_file(self, path):
        return self.fs.readtext(path, encoding="utf-8")


def block_olx(block) -> str:
    """Serialize ``block`` (loaded in a runtime that offers ``export_fs``) to standalone OLX."""
    if getattr(block, "is_placeholder", False):
        return block.olx
    export_fs = MemoryFS().makedir("export")  # a SubFS: edx-val's transcript export needs delegate_fs()
    runtime = block.runtime
    previous = getattr(runtime, "export_fs", None)
    runtime.export_fs = export_fs
    try:
        node = etree.Element(block.scope_ids.block_type)
        block.add_xml_to_node(node)
        node.tag = block.scope_ids.block_type
        return standalone_olx(node, _MemoryReader(export_fs))
    finally:
        runtime.export_fs = previous
