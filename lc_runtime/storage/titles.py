"""Titles of Learning Core versions and packages: a bounded summary column, never the block's data.

openedx-core keeps ``title`` in a 500-character column. Split has no limit on a display name, and
SQLite never enforces one, but MySQL in strict mode refuses the whole write ("Data too long"). The
block's display name stays whole in its OLX and settings, which is what every read uses; the
title is cut to fit.
"""
from __future__ import annotations

import json

TITLE_MAX_LENGTH = 500  # PublishableEntityVersion.title and LearningPackage.title in openedx-core


def version_title(display_name) -> str:
    """The version title for a block's ``display_name`` (any JSON value), cut to the column's length."""
    if display_name is None:
        return ""
    text = display_name if isinstance(display_name, str) else json.dumps(display_name)
    return text[:TITLE_MAX_LENGTH]
