"""Public API of modulestore_compat: the Split reference (``split``) and the Learning Core facade (``facade``)."""
from __future__ import annotations

from modulestore_compat.facade.api import *  # noqa: F403 - the package's API is its sub-packages' APIs
from modulestore_compat.facade.api import __all__ as _facade_all
from modulestore_compat.split.api import *  # noqa: F403
from modulestore_compat.split.api import __all__ as _split_all

__all__ = sorted(set(_split_all) | set(_facade_all))
