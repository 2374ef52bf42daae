"""Learning Core as Split's persistence backend (``SplitMongoModuleStore.db_connection``), read-only.

Upstream facts these tests rely on (openedx-platform ``xmodule/modulestore/split_mongo/``):

* ``mongo_connection.py`` ``MongoPersistenceBackend`` / ``DjangoFlexPersistenceBackend`` method
  signatures: ``get_structure(key, course_context=None)``, ``find_structures_by_id(ids,
  course_context=None)``, ``find_courselike_blocks_by_id(ids, block_type, course_context=None)``,
  ``insert_structure(structure, course_context=None)``, ``get_course_index(key, ignore_case=False)``,
  ``find_matching_course_indexes(branch=None, search_targets=None, org_target=None,
  course_context=None, course_keys=None)``, ``insert_course_index(course_index, course_context=None)``,
  ``update_course_index(course_index, from_index=None, course_context=None)``,
  ``delete_course_index(course_key)``, ``get_definition(key, course_context=None)``,
  ``get_definitions(definitions, course_context=None)``, ``insert_definition(definition,
  course_context=None)``, ``heartbeat()``, ``check_connection()``, ``ensure_connection()``,
  ``ensure_indexes()``, ``close_connections()``, ``_drop_database(database=True, collections=True,
  connections=True)``; older releases also ``find_structures_derived_from(ids, course_context=None)``
  and ``find_ancestor_structures(original_version, block_key, course_context=None)``.
* Structures come back through ``structure_from_mongo``: ``root`` a ``BlockKey``, ``blocks`` a dict
  ``{BlockKey(block_type, block_id): BlockData}``, ``fields['children']`` a list of ``BlockKey``;
  a missing structure is None. Indexes and definitions come back as stored.
* ``find_courselike_blocks_by_id`` projects ``{'blocks': {'$elemMatch': {'block_type': t}}, 'root': 1}``:
  ``_id``, ``root`` and the first block of that type.
* ``DjangoFlexPersistenceBackend.get_course_index`` answers None for a version-only key and drops
  branch and version from the key; ``find_matching_course_indexes`` supports only the ``wiki_slug``
  search target and raises ValueError for any other.
* How ``split.py`` calls them (positional forms tested below): ``get_course_index(course_key,
  ignore_case)``, ``get_structure(version_guid, course_key)``, ``get_definition(definition_guid,
  course_key)``, ``get_definitions(list(ids), course_key)``, ``find_matching_course_indexes(branch,
  search_targets, org_target, course_keys=course_keys)``, ``find_courselike_blocks_by_id(list(ids),
  block_type)``, ``find_structures_by_id(list(ids))``, ``insert_structure(structure, course_key)``,
  ``insert_definition(definition, course_key)``, ``insert_course_index(index, course_key)``,
  ``update_course_index(index, from_index=..., course_context=...)``, ``delete_course_index(course_key)``.
* ``SplitMongoModuleStore.cache_items`` (``lazy=False``) merges definition fields into the
  ``BlockData.fields`` of the structure it got, so each call must hand out its own copy.
"""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from bson import ObjectId
from ccx_keys.locator import CCXLocator
from opaque_keys.edx.locator import CourseLocator, LibraryLocator

from lc_runtime import api as lc_api
from lc_runtime.stages import set_stage
from modulestore_compat.api import DjangoDocumentStore, DraftVersioningModuleStore, SplitModuleStore, SplitWriter
from modulestore_compat.api import dump_split_course
from modulestore_compat.backend.api import (
    BackendDocumentStore,
    BlockData,
    BlockKey,
    HybridPersistenceBackend,
    LearningCorePersistenceBackend,
    ReadOnlyBackendError,
    ReadOnlyDocumentBackend,
    store_class,
    xmodule_available,
)
from modulestore_compat.facade.store import LearningCoreModuleStore, ReadOnlyModuleStoreError

from .olx_builder import standard_course

KEY = CourseLocator("TestX", "T101", "2026")
DRAFT, PUBLISHED = "draft-branch", "published-branch"

UPSTREAM_SIGNATURES = {
    "get_structure": "(key, course_context=None)",
    "find_structures_by_id": "(ids, course_context=None)",
    "find_courselike_blocks_by_id": "(ids, block_type, course_context=None)",
    "insert_structure": "(structure, course_context=None)",
    "get_course_index": "(key, ignore_case=False)",
    "find_matching_course_indexes": "(branch=None, search_targets=None, org_target=None, course_context=None, "
                                    "course_keys=None)",
    "insert_course_index": "(course_index, course_context=None)",
    "update_course_index": "(course_index, from_index=None, course_context=None)",
    "delete_course_index": "(course_key)",
    "get_definition": "(key, course_context=None)",
    "get_definitions": "(definitions, course_context=None)",
    "insert_definition": "(definition, course_context=None)",
    "heartbeat": "()",
    "check_connection": "()",
    "ensure_connection": "()",
    "ensure_indexes": "()",
    "close_connections": "()",
    "_drop_database": "(database=True, collections=True, connections=True)",
}
OLDER_RELEASES = {  # edx-platform before the MySQL course index: history calls of split.py
    "find_structures_derived_from": "(ids, course_context=None)",
    "find_ancestor_structures": "(original_version, block_key, course_context=None)",
}


def signature_without_self(function) -> str:
    signature = inspect.signature(function)
    return str(signature.replace(parameters=list(signature.parameters.values())[1:]))


@pytest.mark.parametrize("backend_class", [ReadOnlyDocumentBackend, LearningCorePersistenceBackend,
                                           HybridPersistenceBackend])
def test_every_upstream_method_with_its_signature(backend_class):
    expected = dict(UPSTREAM_SIGNATURES)
    if backend_class is not ReadOnlyDocumentBackend:  # a plain document store has no history queries
        expected.update(OLDER_RELEASES)
    assert {name: signature_without_self(getattr(backend_class, name)) for name in expected} == expected


@pytest.fixture
def lc_course(tmp_path, rollback):
    lc_api.import_olx(standard_course(tmp_path / "course"))
    set_stage(KEY, "full", changed_by="test")
    return KEY


@pytest.mark.mysql
def test_return_shapes_as_split_py_calls_them(lc_course):
    backend = LearningCorePersistenceBackend()
    index = backend.get_course_index(KEY.for_branch(DRAFT), False)
    assert (index["org"], index["course"], index["run"]) == ("TestX", "T101", "2026")
    assert set(index["versions"]) == {DRAFT, PUBLISHED}
    assert all(type(v) is ObjectId for v in index["versions"].values())
    assert backend.get_course_index(CourseLocator("testx", "t101", "2026"), True)["_id"] == index["_id"]
    assert backend.get_course_index(CourseLocator("testx", "t101", "2026")) is None
    assert backend.get_course_index(CourseLocator(version_guid=index["versions"][DRAFT])) is None
    assert backend.get_course_index(CCXLocator.from_course_locator(KEY, "1"))["_id"] == index["_id"]  # as upstream
    assert backend.get_course_index(LibraryLocator("TestX", "T101")) is None

    draft_id = index["versions"][DRAFT]
    structure = backend.get_structure(draft_id, KEY)
    assert structure["_id"] == draft_id and structure["root"] == BlockKey("course", "2026")
    assert isinstance(structure["root"], BlockKey)
    assert all(type(k) is BlockKey and isinstance(v, BlockData) for k, v in structure["blocks"].items())
    assert len(structure["blocks"]) == 10
    chapter = structure["blocks"][BlockKey("chapter", "ch1")]
    assert chapter.fields["children"] == [BlockKey("sequential", "s1")]
    assert all(type(child) is BlockKey for child in chapter.fields["children"])
    assert chapter.block_type == "chapter" and type(chapter.definition) is ObjectId
    assert chapter.edit_info.update_version is not None and chapter.defaults == {}
    assert backend.get_structure(ObjectId(), KEY) is None

    # Each call hands out its own copy: Split's cache_items merges definition fields into it.
    structure["blocks"][BlockKey("html", "h1")].fields["data"] = "merged"
    assert "data" not in backend.get_structure(draft_id)["blocks"][BlockKey("html", "h1")].fields

    both = backend.find_structures_by_id([draft_id, index["versions"][PUBLISHED], ObjectId()])
    assert sorted(s["_id"] for s in both) == sorted(index["versions"].values())
    courselike = backend.find_courselike_blocks_by_id([draft_id], "course")
    assert [sorted(s) for s in courselike] == [["_id", "blocks", "root"]]
    assert list(courselike[0]["blocks"]) == [BlockKey("course", "2026")]
    assert courselike[0]["blocks"][BlockKey("course", "2026")].fields["display_name"] == "Test course"
    assert backend.find_courselike_blocks_by_id([draft_id], "library")[0]["blocks"] == {}
    assert backend.find_structures_derived_from([draft_id]) == []
    assert [s["_id"] for s in backend.find_ancestor_structures(draft_id, BlockKey("html", "h1"))] == [draft_id]

    definition = backend.get_definition(chapter.definition, KEY)
    assert definition["_id"] == chapter.definition and definition["block_type"] == "chapter"
    html = structure["blocks"][BlockKey("html", "h1")]
    found = backend.get_definitions([chapter.definition, html.definition], KEY)
    assert sorted(d["block_type"] for d in found) == ["chapter", "html"]
    assert next(d for d in found if d["block_type"] == "html")["fields"]["data"] == "<p>Hello <b>world</b></p>"

    assert [i["course"] for i in backend.find_matching_course_indexes(DRAFT, None, None, course_keys=[KEY])] == ["T101"]
    assert [i["course"] for i in backend.find_matching_course_indexes(PUBLISHED, None, "TestX")] == ["T101"]
    assert list(backend.find_matching_course_indexes(DRAFT, None, "OtherX")) == []
    assert list(backend.find_matching_course_indexes(course_keys=[CourseLocator("A", "B", "C")])) == []
    assert list(backend.find_matching_course_indexes(search_targets={"wiki_slug": "nope"})) == []
    with pytest.raises(ValueError, match="Unsupported search_targets: nope"):
        backend.find_matching_course_indexes(search_targets={"nope": 1})
    assert backend.heartbeat() is True and backend.check_connection() is True
    assert backend.ensure_indexes() is None and backend.close_connections() is None


def test_writes_are_refused_naming_method_and_course(lc_course):
    backend = LearningCorePersistenceBackend()
    index = backend.get_course_index(KEY)
    structure = backend.get_structure(index["versions"][DRAFT])
    definition = backend.get_definition(structure["blocks"][BlockKey("html", "h1")].definition)
    course = r"course-v1:TestX\+T101\+2026"
    for name, call in (
            ("insert_structure", lambda: backend.insert_structure(structure, KEY.for_branch(DRAFT))),
            ("insert_definition", lambda: backend.insert_definition(definition, KEY)),
            ("insert_course_index", lambda: backend.insert_course_index(index, KEY)),
            ("update_course_index", lambda: backend.update_course_index(index, from_index=index, course_context=KEY)),
            ("update_course_index", lambda: backend.update_course_index(index)),
            ("delete_course_index", lambda: backend.delete_course_index(KEY))):
        with pytest.raises(ReadOnlyBackendError, match=rf"^{name}\(\) is not allowed .*\(read-only\) for course {course};"):
            call()
    with pytest.raises(ReadOnlyModuleStoreError, match=r"^_drop_database\(\) is not allowed"):
        backend._drop_database(database=False)
    assert backend.get_course_index(KEY)["versions"] == index["versions"]  # nothing changed
    # The end of a bulk operation that read a structure / definition no longer stored "inserts" the
    # None it recorded (split.py's _end_outermost_bulk_operation): nothing to refuse there.
    assert backend.insert_structure(None, KEY) is None and backend.insert_definition(None, KEY) is None


def test_a_staged_backend_lists_only_courses_at_its_stage(lc_course):
    """MixedModuleStore's get_courses / get_course_summaries keep the first store's answer per course,
    and the Learning Core stores sit before Split: they must list only their stage's courses."""
    from waffle.models import Switch

    def listed(backend, **kwargs):
        return [i["course"] for i in backend.find_matching_course_indexes(DRAFT, **kwargs)]

    # Other tests of the same worker may have left courses of their own: judge this course only.
    full = LearningCorePersistenceBackend(stage="full")
    assert "T101" in listed(full) and listed(full, course_keys=[KEY]) == ["T101"]
    assert "T101" not in listed(LearningCorePersistenceBackend(stage="components"))
    set_stage(KEY, "components", changed_by="test")
    assert "T101" not in listed(full) and listed(full, course_keys=[KEY]) == []
    assert "T101" in listed(LearningCorePersistenceBackend())  # no stage: every compiled course
    set_stage(KEY, "full", changed_by="test")
    switch = Switch.objects.create(name="lc_runtime.force_split", active=True)  # the circuit breaker
    switch.flush()
    try:
        assert listed(full) == []
    finally:
        switch.delete()
        switch.flush()


@pytest.mark.mysql
def test_fresh_after_a_publish(lc_course):
    backend = LearningCorePersistenceBackend()
    store = DraftVersioningModuleStore(BackendDocumentStore(backend))
    before = backend.get_course_index(KEY)["versions"]
    h1 = KEY.for_branch(DRAFT).make_usage_key("html", "h1")
    runtime = lc_api.LearningCoreRuntime(KEY)
    block = runtime.get_block(h1)
    block.display_name = "Edited"
    block.save()
    after_edit = backend.get_course_index(KEY)["versions"]
    assert after_edit[DRAFT] != before[DRAFT] and after_edit[PUBLISHED] == before[PUBLISHED]
    assert store.get_item(h1).display_name == "Edited"
    assert store.get_item(h1.for_branch(PUBLISHED)).display_name == "Text 1"
    runtime.publish_block(KEY.make_usage_key("vertical", "v1"))
    assert backend.get_course_index(KEY)["versions"][PUBLISHED] != before[PUBLISHED]
    assert store.get_item(h1.for_branch(PUBLISHED)).display_name == "Edited"


def dumps(store, key, branch):
    """Every block with every field value, parent and children (one branch: a demo-course dump takes ~3 s)."""
    return dump_split_course(store, key, branch)


@pytest.mark.slow  # ~9 s on an idle core: the demo course written to Split, then read twice in full
def test_reference_store_over_the_backend_answers_as_over_its_documents(demo_course, rollback):
    """The demo course in the embedded Split tables, read by our Split reference store directly and
    through the persistence-backend interface (every block, every field; the draft branch, which has
    every block the published one has: both branches are read through the backend in the tests above)."""
    tree, _ = demo_course
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(tree)
    direct = SplitModuleStore(documents)
    through = SplitModuleStore(BackendDocumentStore(ReadOnlyDocumentBackend(documents)))
    expected = dumps(direct, tree.course_key, "draft")
    assert len(expected["blocks"]) > 400
    assert dumps(through, tree.course_key, "draft") == expected


@pytest.mark.mysql
def test_facade_data_through_the_backend_answers_as_the_facade(demo_course, rollback):
    """Learning Core's compiled demo course: our Split runtime over the backend reads what the facade
    reads on the published branch (what the LMS reads)."""
    _, result = demo_course
    set_stage(result.course_key, "full", changed_by="test")
    expected = dumps(LearningCoreModuleStore(), result.course_key, "published")
    assert len(expected["blocks"]) > 400
    through = DraftVersioningModuleStore(BackendDocumentStore(LearningCorePersistenceBackend()))
    assert dumps(through, result.course_key, "published") == expected


def test_hybrid_backend_merges_learning_core_leaves_into_splits_structures(tmp_path, rollback):
    from lc_runtime.olx.reader import read_course
    from modulestore_compat.migration import copy_to_learning_core

    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(read_course(standard_course(tmp_path / "olx")))
    copy_to_learning_core(SplitModuleStore(documents), KEY)
    set_stage(KEY, "components", changed_by="test")
    split = ReadOnlyDocumentBackend(documents)
    backend = HybridPersistenceBackend(split)
    split_index = split.get_course_index(KEY)
    index = backend.get_course_index(KEY)
    assert set(index["versions"]) == {DRAFT, PUBLISHED}
    assert all(index["versions"][b] != split_index["versions"][b] for b in (DRAFT, PUBLISHED))

    runtime = lc_api.LearningCoreRuntime(KEY)
    block = runtime.get_block(KEY.for_branch(DRAFT).make_usage_key("html", "h1"))
    block.data = "<p>From Learning Core</p>"
    block.display_name = "LC title"
    block.save()
    index = backend.get_course_index(KEY)
    draft = backend.get_structure(index["versions"][DRAFT], KEY)
    split_draft = split.get_structure(split_index["versions"][DRAFT])
    assert list(draft["blocks"]) == list(split_draft["blocks"])  # Split's tree
    for key in (BlockKey("vertical", "v1"), split_draft["root"], BlockKey("sequential", "s1")):
        assert draft["blocks"][key] == split_draft["blocks"][key]  # containers are Split's
    h1 = draft["blocks"][BlockKey("html", "h1")]
    assert h1.fields["display_name"] == "LC title"
    assert backend.get_definition(h1.definition)["fields"]["data"] == "<p>From Learning Core</p>"
    assert backend.get_definitions([h1.definition])[0]["fields"]["data"] == "<p>From Learning Core</p>"
    published = backend.get_structure(index["versions"][PUBLISHED])
    p_h1 = published["blocks"][BlockKey("html", "h1")]
    assert p_h1.fields["display_name"] == "Text 1"
    # history and other ids read through to Split unchanged
    assert backend.get_structure(split_index["versions"][DRAFT]) == split_draft

    store = DraftVersioningModuleStore(BackendDocumentStore(backend))
    item = store.get_item(KEY.for_branch(DRAFT).make_usage_key("html", "h1"))
    assert (item.display_name, item.data) == ("LC title", "<p>From Learning Core</p>")
    assert store.get_item(KEY.for_branch(DRAFT).make_usage_key("vertical", "v1")).display_name == \
        SplitModuleStore(documents).get_item(KEY.for_branch(DRAFT).make_usage_key("vertical", "v1")).display_name
    with pytest.raises(ReadOnlyBackendError, match=r"^insert_structure\(\).*course-v1:TestX\+T101\+2026"):
        backend.insert_structure(draft, KEY)

    # Merged here, at the persistence layer, the course reads as the hybrid store merges it in its runtime.
    from modulestore_compat.facade.hybrid import DraftVersioningHybridModuleStore

    for branch in ("draft", "published"):
        assert dumps(store, KEY, branch) == dumps(DraftVersioningHybridModuleStore(documents), KEY, branch)

    # Asked about this course only: other tests of the worker may have committed courses at any stage.
    staged = HybridPersistenceBackend(split, stage="components").find_matching_course_indexes(DRAFT, course_keys=[KEY])
    assert [i["versions"][DRAFT] for i in staged] == [backend.get_course_index(KEY)["versions"][DRAFT]]
    assert HybridPersistenceBackend(split, stage="full").find_matching_course_indexes(DRAFT, course_keys=[KEY]) == []


def test_standalone_the_engines_are_our_stores():
    from modulestore_compat.backend import platform
    from modulestore_compat.facade.hybrid import DraftVersioningHybridModuleStore

    assert not xmodule_available()
    assert store_class("full") is LearningCoreModuleStore
    assert platform.LearningCoreModuleStore is LearningCoreModuleStore
    assert platform.HybridModuleStore is DraftVersioningHybridModuleStore
    with pytest.raises(ImportError):
        platform.platform_store_class("full")


def test_plugin_settings_name_the_platform_engines_with_splits_doc_store_config():
    from types import SimpleNamespace

    from modulestore_compat.backend.platform import ENGINE_COMPONENTS, ENGINE_FULL, ENGINE_SHADOW
    from modulestore_compat.plugin_settings import plugin_settings

    split = {"NAME": "split", "ENGINE": "xmodule.modulestore.split_mongo.split_draft.DraftVersioningModuleStore",
             "DOC_STORE_CONFIG": {"host": "mongo", "db": "edxapp", "collection": "modulestore"},
             "OPTIONS": {"fs_root": "/data", "render_template": "common.djangoapps.edxmako.shortcuts.render_to_string"}}
    settings = SimpleNamespace(LC_RUNTIME_FACADE_ENABLED=True,
                               MODULESTORE={"default": {"OPTIONS": {"stores": [split]}}})
    plugin_settings(settings)
    plugin_settings(settings)  # applied once
    stores = settings.MODULESTORE["default"]["OPTIONS"]["stores"]
    assert [s["ENGINE"] for s in stores[:3]] == [ENGINE_FULL, ENGINE_COMPONENTS, ENGINE_SHADOW] and stores[3] is split
    assert ENGINE_FULL == "modulestore_compat.backend.platform.LearningCoreModuleStore"
    for entry in stores[:3]:
        assert entry["DOC_STORE_CONFIG"] == split["DOC_STORE_CONFIG"]
        assert entry["DOC_STORE_CONFIG"] is not split["DOC_STORE_CONFIG"]
        assert entry["OPTIONS"] == split["OPTIONS"]


@pytest.mark.mysql
def test_hybrid_never_serves_a_rolled_back_learning_core_change(tmp_path, rollback):
    """A rolled-back transaction gives its log ids back (SQLite reuses them at once): the merged
    structure of the change made after it must not be taken for the rolled-back one's."""
    from django.db import transaction

    from lc_runtime.olx.reader import read_course
    from modulestore_compat.migration import copy_to_learning_core

    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(read_course(standard_course(tmp_path / "olx")))
    copy_to_learning_core(SplitModuleStore(documents), KEY)
    set_stage(KEY, "components", changed_by="test")
    backend = HybridPersistenceBackend(ReadOnlyDocumentBackend(documents))
    h1 = KEY.for_branch(DRAFT).make_usage_key("html", "h1")

    def edit_and_read(title):
        block = lc_api.LearningCoreRuntime(KEY).get_block(h1)
        block.display_name = title
        block.save()
        structure = backend.get_structure(backend.get_course_index(KEY)["versions"][DRAFT])
        return structure["blocks"][BlockKey("html", "h1")].fields["display_name"]

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack):
        with transaction.atomic():
            assert edit_and_read("Rolled back") == "Rolled back"
            raise RolledBack
    assert edit_and_read("Kept") == "Kept"
