"""Store compiled documents: a header row per course and branch, chunk rows shared between compiles.

A new compile replaces the branch's header and writes only chunks not stored yet; chunks no longer
named by either branch's header are deleted in the same transaction.
"""
from __future__ import annotations

from datetime import datetime, timezone

from django.db import transaction

from .codec import pack
from .compiler import COMPILER_VERSION, Compiled


def store_compiled(compiled: Compiled) -> None:
    """Replace the course's compile for that branch (the superseded one goes in the same transaction)."""
    from .facade import invalidate_index
    from .models import CompiledChunk, CompiledCourse

    course_key = compiled.course_key
    with transaction.atomic():
        fresh = {chunk.digest: chunk for chunk in compiled.written_chunks}
        if fresh:
            stored = set(CompiledChunk.objects.filter(course_key=course_key, digest__in=list(fresh))
                         .values_list("digest", flat=True))
            CompiledChunk.objects.bulk_create([
                CompiledChunk(course_key=course_key, digest=digest, blocks=pack(chunk.blocks),
                              definitions=pack(chunk.definitions))
                for digest, chunk in fresh.items() if digest not in stored])
        manifest = {"version": COMPILER_VERSION, "structure": compiled.header,
                    "chunks": [(chunk.digest, chunk.entries) for chunk in compiled.chunks]}
        CompiledCourse.objects.filter(course_key=course_key, branch=compiled.branch).delete()
        CompiledCourse.objects.create(
            course_key=course_key, branch=compiled.branch, log_id=compiled.log_id,
            structure_id=str(compiled.structure_id), structure=pack(manifest),
            chunks=" ".join(chunk.digest for chunk in compiled.chunks), compiled=datetime.now(tz=timezone.utc),
            seconds=compiled.seconds)
        referenced = set()
        for digests in CompiledCourse.objects.filter(course_key=course_key).values_list("chunks", flat=True):
            referenced.update(digests.split())
        CompiledChunk.objects.filter(course_key=course_key).exclude(digest__in=list(referenced)).delete()
        transaction.on_commit(lambda: invalidate_index(course_key))
        invalidate_index(course_key)
