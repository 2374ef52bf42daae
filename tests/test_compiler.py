"""Compiled documents: incremental recompiles give exactly what a full compile gives, chunks are reused."""
from __future__ import annotations

import pytest
from bson import ObjectId
from opaque_keys.edx.locator import CourseLocator

from lc_runtime import api as lc_api
from modulestore_compat.facade.compiled_store import store_compiled
from modulestore_compat.facade.compiler import compile_course, recompile
from modulestore_compat.facade.store import CompiledDocumentStore
from modulestore_compat.models import CompiledChunk, CompiledCourse

from .olx_builder import standard_course

KEY = CourseLocator("TestX", "T101", "2026")
BRANCHES = ("draft-branch", "published-branch")


def documents(branch):
    """The branch's structure and every definition it names, read as the facade reads them (without
    the structure's id: every compile gets a new one)."""
    store = CompiledDocumentStore(auto_compile=False)
    row = CompiledCourse.objects.get(course_key=str(KEY), branch=branch)
    structure = store.get_structure(row.structure_id)
    definitions = {b["definition"]: store.get_definition(b["definition"]) for b in structure["blocks"]}
    assert structure["_id"] == structure["original_version"] == ObjectId(row.structure_id)
    return {k: v for k, v in structure.items() if k not in ("_id", "original_version")}, definitions


def full_compile_documents(branch):
    """What a compile from nothing gives (every stored chunk dropped first)."""
    CompiledChunk.objects.all().delete()
    CompiledCourse.objects.all().delete()
    store_compiled(compile_course(str(KEY), branch))
    return documents(branch)


@pytest.fixture
def course(rollback, tmp_path, monkeypatch):
    monkeypatch.setattr("modulestore_compat.facade.compiler.CHUNK_MODULUS", 3)  # several chunks in a 10-block course
    lc_api.import_olx(standard_course(tmp_path / "course"))
    recompile(str(KEY))
    return lc_api.LearningCoreRuntime(KEY)


def edit(runtime, block_type, block_id, **fields):
    block = runtime.get_block(KEY.make_usage_key(block_type, block_id))
    for name, value in fields.items():
        setattr(block, name, value)
    block.save()
    return block


@pytest.mark.parametrize("branch", BRANCHES)
def test_one_block_change_is_patched_into_its_chunk_only(course, branch):
    chunks_before = CompiledCourse.objects.get(course_key=str(KEY), branch=branch).chunks.split()
    assert len(chunks_before) > 2
    edit(course, "html", "h1", display_name="Patched", data="<p>new body</p>")
    if branch == "published-branch":
        course.publish_block(KEY.make_usage_key("html", "h1"))
    (compiled,) = recompile(str(KEY), [branch])
    assert compiled.mode == "incremental" and compiled.changed_blocks == 1
    assert len(compiled.written_chunks) == 1
    chunks_after = CompiledCourse.objects.get(course_key=str(KEY), branch=branch).chunks.split()
    assert len(set(chunks_before) - set(chunks_after)) == 1
    patched = documents(branch)
    by_id = {b["block_id"]: b for b in patched[0]["blocks"]}
    assert by_id["h1"]["fields"]["display_name"] == "Patched"
    assert patched[1][by_id["h1"]["definition"]]["fields"]["data"] == "<p>new body</p>"
    assert patched == full_compile_documents(branch)


def test_unchanged_branch_is_not_recompiled_and_unreferenced_chunks_retire_then_go(course):
    import datetime

    from modulestore_compat.facade.compiled_store import RETENTION

    assert recompile(str(KEY)) == []
    for n in range(3):
        edit(course, "problem", "p1", display_name=f"Try {n}")
        recompile(str(KEY), ["draft-branch"])
    referenced = set()
    for digests in CompiledCourse.objects.filter(course_key=str(KEY)).values_list("chunks", flat=True):
        referenced.update(digests.split())
    chunks = CompiledChunk.objects.filter(course_key=str(KEY))
    assert set(chunks.filter(retired__isnull=True).values_list("digest", flat=True)) == referenced
    # The first superseded chunk is still the published branch's; the next two are named by no compile.
    assert chunks.filter(retired__isnull=False).count() == 2
    chunks.filter(retired__isnull=False).update(retired=datetime.datetime.now(tz=datetime.timezone.utc) - RETENTION
                                                - datetime.timedelta(minutes=1))
    edit(course, "problem", "p1", display_name="Last")
    recompile(str(KEY), ["draft-branch"])
    assert chunks.filter(retired__isnull=False).count() == 1  # the expired ones went, the newest waits


def test_a_reader_on_the_superseded_compile_still_reads_its_content(course):
    """An instance loaded before a publish keeps reading its (older) structure's content after the
    recompile, and nothing empty is remembered in the shared plan."""
    from modulestore_compat.facade.store import LearningCoreModuleStore

    store = LearningCoreModuleStore()
    key = KEY.for_branch("published-branch")
    before = store.get_item(key.make_usage_key("html", "h1"))
    edit(course, "html", "h1", data="<p>after</p>")
    course.publish_block(KEY.make_usage_key("html", "h1"))
    (compiled,) = recompile(str(KEY), ["published-branch"])
    assert compiled.mode == "incremental"
    assert before.data == "<p>Hello <b>world</b></p>"
    assert LearningCoreModuleStore().get_item(key.make_usage_key("html", "h1")).data == "<p>after</p>"


def test_a_version_going_back_recompiles_the_structure_date_in_full(course):
    from openedx_content import api as content_api

    from lc_runtime.models import LcCourse

    edit(course, "html", "h1", display_name="Draft only")
    recompile(str(KEY), ["draft-branch"])
    content_api.reset_drafts_to_published(LcCourse.objects.get(course_key=str(KEY)).learning_package_id)
    (compiled,) = recompile(str(KEY), ["draft-branch"])
    assert compiled.mode == "full"
    assert documents("draft-branch") == full_compile_documents("draft-branch")


def full_compile_beside(branch):
    """What a compile from nothing gives, leaving the stored compiles as they were (a savepoint)."""
    from django.db import transaction

    with transaction.atomic():
        full = full_compile_documents(branch)
        transaction.set_rollback(True)
    return full


def test_tree_changes_are_patched_and_equal_a_full_compile(course):
    from openedx_content import api as content_api

    from lc_runtime.models import LcBlock

    vertical = course.get_block(KEY.make_usage_key("vertical", "v1"))
    vertical.children = list(reversed(vertical.children))
    vertical.save()
    (compiled,) = recompile(str(KEY), ["draft-branch"])
    assert compiled.mode == "incremental" and compiled.changed_blocks == 1
    reordered = documents("draft-branch")
    by_id = {b["block_id"]: b for b in reordered[0]["blocks"]}
    assert by_id["v1"]["fields"]["children"] == [["problem", "p1"], ["html", "h1"]]
    assert reordered == full_compile_beside("draft-branch")

    # A block gone from the draft without its parent's new version: the parent's children are re-read.
    entity_id = LcBlock.objects.get(course__course_key=str(KEY), block_type="html", block_id="h2").entity_id
    content_api.soft_delete_draft(entity_id)
    (compiled,) = recompile(str(KEY), ["draft-branch"])
    assert compiled.mode == "incremental" and compiled.changed_blocks == 1  # v2, re-read
    patched = documents("draft-branch")
    assert "h2" not in {b["block_id"] for b in patched[0]["blocks"]}
    assert {b["block_id"]: b for b in patched[0]["blocks"]}["v2"]["fields"]["children"] == []
    assert patched == full_compile_beside("draft-branch")


AUTHOR = 77


def _random_operation(rng, step):
    """One Studio write on a random block, as the authoring API takes it; refused ones are skipped."""
    from lc_runtime.authoring import api as authoring
    from lc_runtime.errors import AuthoringError, LcRuntimeError

    from lc_runtime.storage.snapshot import load_snapshot

    draft = load_snapshot(KEY, "draft")
    refs = list(draft.blocks)
    by_type = {}
    for ref in refs:
        by_type.setdefault(ref.block_type, []).append(ref)
    usage = lambda ref: KEY.make_usage_key(ref.block_type, ref.block_id)  # noqa: E731
    pick = lambda block_type: rng.choice(by_type[block_type]) if by_type.get(block_type) else None  # noqa: E731
    kind = rng.choice(["create", "create", "create_unit", "update", "delete", "move", "publish", "publish",
                       "unpublish", "discard", "reorder", "orphan"])
    try:
        if kind == "create" and pick("vertical"):
            authoring.create_block(KEY, rng.choice(["html", "problem"]), user_id=AUTHOR, parent=usage(pick("vertical")),
                                   block_id=f"b{step}", fields={"display_name": f"Block {step}"},
                                   position=rng.choice([None, 0]))
        elif kind == "create_unit" and pick("sequential"):
            authoring.create_block(KEY, "vertical", user_id=AUTHOR, parent=usage(pick("sequential")),
                                   block_id=f"u{step}", fields={"display_name": f"Unit {step}"})
        elif kind == "orphan":
            authoring.create_block(KEY, "html", user_id=AUTHOR, block_id=f"o{step}")
        elif kind == "update":
            target = rng.choice([r for r in refs if r.block_type != "course"])
            authoring.update_block(usage(target), user_id=AUTHOR, fields={"display_name": f"Edit {step}"})
        elif kind == "delete":
            target = rng.choice([r for r in refs if r.block_type in ("html", "problem", "vertical")])
            authoring.delete_block(usage(target), user_id=AUTHOR)
        elif kind == "move" and pick("vertical"):
            target = rng.choice([r for r in refs if r.block_type in ("html", "problem")] or [None])
            if target is not None:
                authoring.move_block(usage(target), usage(pick("vertical")), user_id=AUTHOR)
        elif kind == "publish" and pick("vertical"):
            authoring.publish_block(usage(pick(rng.choice(["vertical", "sequential"]))), user_id=AUTHOR)
        elif kind == "unpublish" and pick("vertical"):
            authoring.unpublish_block(usage(pick("vertical")), user_id=AUTHOR)
        elif kind == "discard" and pick("vertical"):
            authoring.discard_changes(usage(pick("vertical")), user_id=AUTHOR)
        elif kind == "reorder" and pick("vertical"):
            unit = pick("vertical")
            children = list(draft.blocks[unit].children)
            rng.shuffle(children)
            authoring.reorder_children(usage(unit), [usage(c) for c in children], user_id=AUTHOR)
    except (AuthoringError, LcRuntimeError):
        return f"{kind} refused"
    return kind


@pytest.mark.parametrize("seed", [1, 2])
def test_after_random_operations_each_incremental_recompile_equals_a_full_compile(course, seed):
    """Creates, edits, deletes, moves, publishes, unpublishes, discards, reorders and orphans, each
    followed by a recompile of both branches: never a full one, and always what a full one gives."""
    import random

    from django.contrib.auth import get_user_model

    get_user_model().objects.get_or_create(pk=AUTHOR, defaults={"username": "random-author"})
    rng = random.Random(seed)
    done = []
    for step in range(14):
        kind = _random_operation(rng, step)
        done.append(kind)
        for compiled in recompile(str(KEY)):
            assert compiled.mode == "incremental", (step, kind, compiled.branch)
        for branch in BRANCHES:
            assert documents(branch) == full_compile_beside(branch), (step, kind, branch)
    print(done)
    assert len({kind for kind in done if "refused" not in kind}) >= 6  # the sequence does exercise the tree


def test_a_chunk_in_the_old_pickle_format_is_refused_naming_course_and_chunk(course):
    import pickle
    import zlib

    from modulestore_compat.facade.codec import CompiledDataError
    from modulestore_compat.facade.compiled_rows import read_blocks

    chunk = CompiledChunk.objects.filter(course_key=str(KEY)).first()  # other modules may keep courses
    with pytest.raises(CompiledDataError) as caught:
        read_blocks(chunk.course_key, chunk.digest, zlib.compress(pickle.dumps(print), 1))
    assert str(caught.value).startswith(f"Unreadable compiled documents (course {KEY}, chunk {chunk.digest}): "
                                        "wrong magic b'x\\x01")


def test_every_compile_gets_a_new_structure_id_and_every_chunk_row_a_new_token(course):
    """Ids derived from log ids come back after a rolled-back transaction (see test_compiled_safety)."""
    row = CompiledCourse.objects.get(course_key=str(KEY), branch="draft-branch")
    tokens = dict(CompiledChunk.objects.values_list("digest", "token"))
    CompiledCourse.objects.filter(pk=row.pk).update(compiler_version=0)  # as after a compiler upgrade
    CompiledChunk.objects.all().delete()
    (compiled,) = recompile(str(KEY), ["draft-branch"])
    again = CompiledCourse.objects.get(course_key=str(KEY), branch="draft-branch")
    assert (compiled.mode, again.log_id) == ("full", row.log_id)
    assert again.structure_id != row.structure_id
    rewritten = dict(CompiledChunk.objects.values_list("digest", "token"))
    assert set(rewritten) >= set(again.chunks.split()) and set(rewritten) & set(tokens)
    assert all(rewritten[d] != tokens[d] for d in set(rewritten) & set(tokens))


def test_a_lazy_content_read_loads_only_the_chunk_of_its_definition(course):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from modulestore_compat.facade.store import LearningCoreModuleStore

    store = LearningCoreModuleStore(CompiledDocumentStore())
    key = KEY.for_branch("published-branch")
    html = store.get_item(key.make_usage_key("html", "h1"))
    documents = store.documents
    assert documents._definition_chunks == set()
    with CaptureQueriesContext(connection) as queries:
        assert html.data == "<p>Hello <b>world</b></p>"
    assert len(queries) == 1 and len(documents._definition_chunks) == 1
    chunks = CompiledCourse.objects.get(course_key=str(KEY), branch="published-branch").chunks.split()
    assert len(chunks) > 2  # so one chunk is not all of them
    store.get_course(key, depth=None, lazy=False)  # prefetches every definition in one more query
    assert len(documents._definition_chunks) == len(chunks)
