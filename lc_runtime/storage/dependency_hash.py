"""openedx-core's ``dependencies_hash_digest`` of a change-log record, computed where we write the
records in bulk (the set-wise writer, the course copy) instead of letting openedx-core re-read them."""
from __future__ import annotations

from openedx_django_lib.fields import create_hash_digest


def dependencies_hash_digest(dependencies) -> str:
    """``dependencies``: ``(version id, that dependency's own digest)`` of each live dependency, in
    version order; '' without any (the tests compare the result with openedx-core's recomputation)."""
    summary = "\n".join(f"{version}:{digest}" for version, digest in dependencies)
    return create_hash_digest(summary.encode(), num_bytes=4) if summary else ""
