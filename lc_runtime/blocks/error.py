"""The block a runtime returns when a block's class fails to construct (Split's ``ErrorBlock``).

Its location's block type is ``error``, as in Split, so tools see the failure instead of a gap.
"""
from __future__ import annotations

from xblock.core import XBlock
from xblock.fields import Scope, String


class ErrorBlock(XBlock):
    """Stands for a block that failed to load; ``error_msg`` says why."""

    is_error_block = True
    error_msg = String(scope=Scope.content, default="")
    contents = String(scope=Scope.content, default="")
