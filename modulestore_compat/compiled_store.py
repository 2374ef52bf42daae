"""Store compiled documents: a header row per course and branch, chunk rows shared between compiles.

A new compile replaces the branch's header and writes only chunks not stored yet; chunks no longer
named by either branch's header are retired in the same transaction and deleted an hour later.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from django.db import transaction

from .codec import pack
from .compiler import Compiled, collector_paused

RETENTION = timedelta(hours=1)


def store_compiled(compiled: Compiled) -> None:
    """Replace the course's compile for that branch (the superseded one goes in the same transaction)."""
    from .facade import invalidate_index
    from .models import CompiledChunk, CompiledCourse

    course_key = compiled.course_key
    with transaction.atomic(), collector_paused():
        fresh = {chunk.digest: chunk for chunk in compiled.written_chunks}
        if fresh:
            stored = set(CompiledChunk.objects.filter(course_key=course_key, digest__in=list(fresh))
                         .values_list("digest", flat=True))
            CompiledChunk.objects.bulk_create([
                CompiledChunk(course_key=course_key, digest=digest, blocks=pack(chunk.blocks),
                              definitions=pack(chunk.definitions))
                for digest, chunk in fresh.items() if digest not in stored])
        headers = CompiledCourse.objects.filter(course_key=course_key)
        previous = headers.filter(branch=compiled.branch).values_list("chunks", flat=True).first()
        superseded = set(previous.split()) if previous else set()
        headers.filter(branch=compiled.branch).delete()
        CompiledCourse.objects.create(
            course_key=course_key, branch=compiled.branch, log_id=compiled.log_id,
            structure_id=str(compiled.structure_id), structure=pack(compiled.manifest),
            chunks=" ".join(compiled.digests), compiled=datetime.now(tz=timezone.utc), seconds=compiled.seconds)
        # Chunks the superseded compile named that no compile names now (the other branch may share
        # them) are retired, not deleted: a reader holding the superseded structure may still load
        # their definitions. Chunks retired over RETENTION ago go; chunks named again come back.
        now = datetime.now(tz=timezone.utc)
        CompiledChunk.objects.filter(course_key=course_key, digest__in=list(compiled.digests),
                                     retired__isnull=False).update(retired=None)
        unreferenced = superseded - set(compiled.digests)
        if unreferenced:
            for digests in headers.exclude(branch=compiled.branch).values_list("chunks", flat=True):
                unreferenced -= set(digests.split())
            CompiledChunk.objects.filter(course_key=course_key, digest__in=list(unreferenced)).update(retired=now)
        CompiledChunk.objects.filter(course_key=course_key, retired__lt=now - RETENTION).delete()
        transaction.on_commit(lambda: invalidate_index(course_key))
        invalidate_index(course_key)
