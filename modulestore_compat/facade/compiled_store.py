"""Store compiled documents: a header row per course and branch, chunk rows shared between compiles.

A new compile replaces the branch's header and writes only chunks not stored yet; chunks no longer
named by either branch's header are retired in the same transaction and deleted an hour later.
Unreadable rows (tampered, foreign, damaged) are found and discarded here too, so the course can be
compiled again from Learning Core.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from django.db import transaction

from modulestore_compat.facade import freshness
from modulestore_compat.facade.codec import CompiledDataError
from modulestore_compat.facade.compiled_rows import header_row, pack_documents, pack_header, read_blocks, read_definitions, read_header
from modulestore_compat.facade.compiler import COMPILER_VERSION, Compiled, collector_paused

RETENTION = timedelta(hours=1)


def store_compiled(compiled: Compiled, *, previous_chunks: str | None = None) -> None:
    """Replace the course's compile for that branch (the superseded one goes in the same transaction).

    Every chunk row written gets a new random token, and the header's manifest lists the token of
    each chunk it names: readers key what they keep in memory by token, never by digest.
    ``previous_chunks``: the replaced header's ``chunks``, when the caller has just read it.
    """
    from modulestore_compat.models import CompiledChunk, CompiledCourse

    course_key, branch = compiled.course_key, compiled.branch
    with transaction.atomic(savepoint=False), collector_paused():
        if compiled.stored_tokens is not None:  # read by the compile itself, in this transaction
            tokens = {digest: compiled.stored_tokens[digest] for digest in set(compiled.digests)
                      if digest in compiled.stored_tokens}
        else:
            tokens = dict(CompiledChunk.objects.filter(course_key=course_key, digest__in=list(set(compiled.digests)))
                          .values_list("digest", "token"))
        fresh = [chunk for chunk in compiled.written_chunks if chunk.digest not in tokens]
        for chunk in fresh:
            tokens[chunk.digest] = secrets.token_hex(16)
        unknown = [digest for digest in compiled.digests if digest not in tokens]
        if unknown:
            raise CompiledDataError(header_row(course_key, branch), f"the new compile names chunk {unknown[0]}, "
                                                                    "which is neither stored nor written")
        CompiledChunk.objects.bulk_create([
            CompiledChunk(course_key=course_key, digest=chunk.digest, token=tokens[chunk.digest],
                          blocks=pack_documents(course_key, chunk.digest, chunk.blocks),
                          definitions=pack_documents(course_key, chunk.digest, chunk.definitions))
            for chunk in fresh])
        compiled.manifest = {**compiled.manifest, "tokens": [tokens[digest] for digest in compiled.digests]}
        headers = CompiledCourse.objects.filter(course_key=course_key)
        previous = previous_chunks if previous_chunks is not None else \
            headers.filter(branch=branch).values_list("chunks", flat=True).first()
        superseded = set(previous.split()) if previous else set()
        header = dict(log_id=compiled.log_id, compiler_version=COMPILER_VERSION,
                      structure_id=str(compiled.structure_id), structure=pack_header(course_key, branch, compiled.manifest),
                      chunks=" ".join(compiled.digests), compiled=datetime.now(tz=timezone.utc), seconds=compiled.seconds)
        if previous is None or not headers.filter(branch=branch).update(**header):
            headers.filter(branch=branch).delete()
            CompiledCourse.objects.create(course_key=course_key, branch=branch, **header)
        # (a chunk the replaced header named is not retired, nor one written just now)
        named_again = set(compiled.digests) - superseded - {chunk.digest for chunk in fresh}
        if named_again:
            CompiledChunk.objects.filter(course_key=course_key, digest__in=list(named_again),
                                         retired__isnull=False).update(retired=None)
        _retire_unnamed(course_key, superseded - set(compiled.digests))
    freshness.changed()


def _retire_unnamed(course_key: str, candidates: set[str]) -> None:
    """Chunks a superseded compile named that no compile names now (the other branch may share them)
    are retired, not deleted: a reader holding the superseded structure may still load their
    definitions. Chunks retired over RETENTION ago go; chunks named again came back above."""
    from modulestore_compat.models import CompiledChunk, CompiledCourse

    now = datetime.now(tz=timezone.utc)
    if candidates:
        for digests in CompiledCourse.objects.filter(course_key=course_key).values_list("chunks", flat=True):
            candidates -= set(digests.split())
        CompiledChunk.objects.filter(course_key=course_key, digest__in=list(candidates),
                                     retired__isnull=True).update(retired=now)
    CompiledChunk.objects.filter(course_key=course_key, retired__lt=now - RETENTION).delete()


def discard_unreadable(course_key: str) -> list[CompiledDataError]:
    """Read every stored row of the course; delete the unreadable ones, and every header naming a chunk
    that is unreadable, missing or rewritten since (its other chunks retire as a superseded compile's
    would). Returns what was wrong. The branches left without a header compile again on next use."""
    from modulestore_compat.models import CompiledChunk, CompiledCourse

    errors: list[CompiledDataError] = []
    with transaction.atomic():
        chunks = CompiledChunk.objects.filter(course_key=course_key)
        tokens, unreadable = {}, []
        for pk, digest, token, blocks, definitions in chunks.values_list(
                "pk", "digest", "token", "blocks", "definitions").iterator(chunk_size=64):
            try:
                read_blocks(course_key, digest, blocks)
                read_definitions(course_key, digest, definitions)
                tokens[digest] = token
            except CompiledDataError as error:
                errors.append(error)
                unreadable.append(pk)
        chunks.filter(pk__in=unreadable).delete()
        dropped, released = [], set()
        for pk, branch, structure_id, blob, named in CompiledCourse.objects.filter(course_key=course_key).values_list(
                "pk", "branch", "structure_id", "structure", "chunks"):
            try:
                manifest = read_header(course_key, branch, structure_id, blob)
                stale = [d for d, t in zip(manifest["digests"], manifest["tokens"]) if tokens.get(d) != t]
                if stale:
                    raise CompiledDataError(header_row(course_key, branch),
                                            f"names chunk {stale[0]}, missing, unreadable or rewritten since")
            except CompiledDataError as error:
                errors.append(error)
                dropped.append(pk)
                released |= set(named.split())
        CompiledCourse.objects.filter(pk__in=dropped).delete()
        _retire_unnamed(course_key, released)
    freshness.changed()
    return errors
