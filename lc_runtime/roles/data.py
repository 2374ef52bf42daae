"""Role names (importable before Django is set up: the CLI's argument parser lists them)."""
from __future__ import annotations

VIEWER, AUTHOR, PUBLISHER, ADMIN = "viewer", "author", "publisher", "admin"
#: Each role includes every role before it.
ROLES = (VIEWER, AUTHOR, PUBLISHER, ADMIN)
