"""Which class loads a block type: real installed class → stand-in → marked placeholder.

Real classes come from XBlock entry points: edx-platform's extracted leaf blocks under their
``_<type>_extracted`` names (xblocks-contrib), third-party blocks under their own type name.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

from xblock.core import XBlock
from xblock.fields import Scope, String
from xblock.plugin import PluginMissingError

from .standins import STANDIN_TYPES, standin_class

log = logging.getLogger(__name__)

#: edx-platform's core leaf blocks as extracted to xblocks-contrib (entry point names).
EXTRACTED_ENTRY_POINTS = {
    "html": "_html_extracted",
    "problem": "_problem_extracted",
    "video": "_video_extracted",
    "lti": "_lti_extracted",
    "discussion": "_discussion_extracted",
    "annotatable": "_annotatable_extracted",
    "poll_question": "_poll_question_extracted",
    "word_cloud": "_word_cloud_extracted",
}

REAL, STAND_IN, PLACEHOLDER = "real", "stand-in", "placeholder"


@dataclass(frozen=True)
class BlockClassInfo:
    """The class chosen for a block type and why."""

    block_type: str
    cls: type
    kind: str  # real | stand-in | placeholder
    reason: str = ""


class PlaceholderBlock(XBlock):
    """A block whose class is installed nowhere: its OLX is kept verbatim so nothing is lost."""

    is_placeholder = True
    missing_block_type = ""
    placeholder_reason = ""

    olx = String(scope=Scope.content, default="", help="The block's OLX, kept verbatim.")

    @classmethod
    def parse_xml(cls, node, runtime, keys):
        block = runtime.construct_xblock_from_class(cls, keys)
        block.olx = runtime.standalone_olx(node)
        if node.get("display_name") is not None and "display_name" in block.fields:
            block.display_name = node.get("display_name")
        return block

    def student_view(self, context=None):
        from web_fragments.fragment import Fragment

        return Fragment(
            f'<div class="lc-runtime-placeholder" data-block-type="{self.missing_block_type}">'
            f"This block ({self.missing_block_type}) cannot be shown: {self.placeholder_reason}</div>"
        )


@cache
def placeholder_class(block_type: str, reason: str) -> type[XBlock]:
    name = "Placeholder_" + "".join(ch if ch.isalnum() else "_" for ch in block_type)
    return type(name, (PlaceholderBlock,), {
        "__module__": __name__, "missing_block_type": block_type, "placeholder_reason": reason,
    })


def _load_entry_point(name: str):
    try:
        return XBlock.load_class(name), ""
    except PluginMissingError:
        return None, "no installed XBlock provides it"
    except Exception as exc:  # an installed plugin that fails to import (e.g. needs edx-platform)
        return None, f"its installed class failed to load: {type(exc).__name__}: {exc}"


@cache
def block_class_info(block_type: str) -> BlockClassInfo:
    """Pick the class for ``block_type`` (cached per process)."""
    entry = EXTRACTED_ENTRY_POINTS.get(block_type, block_type)
    cls, reason = _load_entry_point(entry)
    if cls is None and entry != block_type:
        cls, reason = _load_entry_point(block_type)
    if cls is not None:
        return BlockClassInfo(block_type, cls, REAL)
    if block_type in STANDIN_TYPES:
        return BlockClassInfo(block_type, standin_class(block_type), STAND_IN)
    log.warning("Block type %r loads as a placeholder: %s", block_type, reason)
    return BlockClassInfo(block_type, placeholder_class(block_type, reason), PLACEHOLDER, reason)


def load_block_class(block_type: str) -> type:
    return block_class_info(block_type).cls
