"""The Split reference's own rules, with literal expectations from openedx-platform's code and tests.

The reference (``modulestore_compat/split``) no longer shares its key-value store, inheritance, matcher
or dump with ``lc_runtime``; these tests pin each of them to upstream, not to the Learning Core side.
"""
from __future__ import annotations

import datetime
import json
import re

import mongomock
import pytest
from opaque_keys.edx.locator import CourseLocator
from xblock.core import XBlockAside
from xblock.exceptions import InvalidScopeError
from xblock.fields import BlockScope, Scope, UserScope
from xblock.runtime import KeyValueStore

from conformance.lc_queries import StoredBlock, select_blocks
from modulestore_compat.api import BranchName, MongoDocumentStore, SplitModuleStore, SplitWriter
from modulestore_compat.split.inheritance import INHERITABLE_FIELDS
from modulestore_compat.split.kvs import DefinitionLazyLoader, SplitMongoKVS
from modulestore_compat.split.matching import BlockKey, block_matches, value_matches

from .split_courses import GREEK_HERO, build_test_courses

DRAFT = BranchName.draft


def key(scope, name, family="xblock.v1", block_type="problem"):
    block_scope_id = type("Ids", (), {"block_type": block_type})()
    return KeyValueStore.Key(scope, None, block_scope_id, name, block_family=family)


class CountingLoader(DefinitionLazyLoader):
    """A lazy loader over one in-memory definition that counts its fetches."""

    def __init__(self, fields: dict):
        super().__init__(lambda _id: {"fields": fields}, "problem", "0123456789abcdef01234567", lambda values: dict(values))
        self.fetches = 0

    def fetch(self):
        self.fetches += 1
        return super().fetch()


def kvs(settings=None, content=None, defaults=None, parent="PARENT"):
    loader = CountingLoader(content or {}) if content is not None else None
    return SplitMongoKVS(loader, dict(settings or {}), defaults or {}, parent), loader


# --------------------------------------------------------------------------------------------- KVS


def test_kvs_get_per_scope():
    """``split_mongo_kvs.py`` ``SplitMongoKVS.get``: stored values (explicit None too); missing parent →
    the constructor's parent; missing children/settings → KeyError; missing content → lazy load, and a
    name the definition lacks reads None on that call only; other scopes → InvalidScopeError."""
    store, loader = kvs(settings={"display_name": None, "children": []}, content={"data": "<p/>"})
    assert store.get(key(Scope.settings, "display_name")) is None
    assert store.get(key(Scope.children, "children")) == []
    assert store.get(key(Scope.parent, "parent")) == "PARENT"
    with pytest.raises(KeyError):
        store.get(key(Scope.settings, "due"))
    assert loader.fetches == 0  # settings never load the definition
    assert store.get(key(Scope.content, "weight")) is None  # loaded now: absent reads None ...
    assert loader.fetches == 1
    with pytest.raises(KeyError):
        store.get(key(Scope.content, "weight"))  # ... and KeyError once nothing is pending
    assert store.get(key(Scope.content, "data")) == "<p/>"
    assert loader.fetches == 1
    with pytest.raises(InvalidScopeError):
        store.get(key(Scope.user_state, "position"))


def test_kvs_without_definition_raises_keyerror_for_content():
    store, _ = kvs(settings={})
    with pytest.raises(KeyError):
        store.get(key(Scope.content, "data"))


def test_kvs_definition_values_win_over_stored_ones():
    """``_load_definition`` updates the stored fields with the definition's."""
    store, _ = kvs(settings={"data": "structure"}, content={"data": "definition"})
    assert store.has(key(Scope.content, "data"))
    assert store.get(key(Scope.content, "data")) == "definition"


def test_kvs_set_delete_has_per_scope():
    """``set``/``delete``: invalid scopes raise, content loads the definition first (so a later load
    cannot overwrite the write); ``has``: parent always, invalid scopes False, explicit None counts."""
    store, loader = kvs(settings={"graded": None}, content={"data": "old"})
    store.set(key(Scope.content, "data"), "new")
    assert loader.fetches == 1
    assert store.get(key(Scope.content, "data")) == "new"
    assert store.has(key(Scope.settings, "graded"))
    assert store.has(key(Scope.parent, "parent"))
    assert not store.has(key(Scope.user_state, "position"))
    for scope in (Scope.user_state, Scope.preferences, Scope.user_info, Scope.user_state_summary):
        with pytest.raises(InvalidScopeError):
            store.set(key(scope, "x"), 1)
        with pytest.raises(InvalidScopeError):
            store.delete(key(scope, "x"))
    store.delete(key(Scope.settings, "graded"))
    assert not store.has(key(Scope.settings, "graded"))
    store.delete(key(Scope.settings, "graded"))  # absent: nothing happens
    store.set(key(Scope.parent, "parent"), "OTHER")  # stored like a field
    assert store.get(key(Scope.parent, "parent")) == "OTHER"
    store.delete(key(Scope.parent, "parent"))
    assert store.get(key(Scope.parent, "parent")) == "PARENT"


def test_kvs_unnamed_scope_is_not_a_valid_scope():
    """``key.scope not in VALID_SCOPES``: XBlock's ``Scope.__eq__`` only equals other ``Scope`` objects, so
    an unnamed ``Scope(NONE, USAGE)`` is not ``Scope.settings`` (a ``ScopeBase``) and Split refuses it."""
    store, _ = kvs()
    with pytest.raises(InvalidScopeError):
        store.set(key(Scope(UserScope.NONE, BlockScope.USAGE), "x"), 1)
    assert not store.has(key(Scope(UserScope.NONE, BlockScope.USAGE), "x"))


def test_kvs_defaults_are_template_defaults_only():
    """``default``: ``copy_from_template`` defaults, else KeyError (the class default applies)."""
    store, _ = kvs(defaults={"max_attempts": 2})
    assert store.default(key(Scope.settings, "max_attempts")) == 2
    assert store.has_default_value("max_attempts") and not store.has_default_value("due")
    with pytest.raises(KeyError):
        store.default(key(Scope.settings, "due"))
    assert not store.has(key(Scope.settings, "max_attempts"))  # a template default is not explicit


def test_kvs_aside_fields():
    """Aside keys live per aside type; ``children`` cannot be written for an aside."""
    store, _ = kvs()
    aside = key(Scope.settings, "tag", family=XBlockAside.entry_point, block_type="tagging_aside")
    assert not store.has(aside)
    store.set(aside, "t1")
    assert store.get(aside) == "t1" and store.has(aside)
    assert not store.has(key(Scope.settings, "tag"))
    with pytest.raises(InvalidScopeError):
        store.set(key(Scope.children, "children", family=XBlockAside.entry_point), [])
    store.delete(aside)
    with pytest.raises(KeyError):
        store.get(aside)


def test_kvs_copies_initial_values_once():
    """``deepcopy so that manipulations of fields does not pollute the source``."""
    source = {"tags": ["a"]}
    store = SplitMongoKVS(None, source, {}, None)
    store.get(key(Scope.settings, "tags")).append("b")
    assert source == {"tags": ["a"]}


# -------------------------------------------------------------------------------------- inheritance

#: openedx-platform ``xmodule/modulestore/inheritance.py`` ``InheritanceMixin``, in declaration order.
UPSTREAM_INHERITABLE = (
    "graded", "start", "due", "relative_weeks_due", "visible_to_staff_only", "course_edit_method", "giturl",
    "xqa_key", "graceperiod", "group_access", "showanswer", "show_correctness", "rerandomize",
    "days_early_for_beta", "static_asset_path", "use_latex_compiler", "max_attempts", "matlab_api_key",
    "user_partitions", "video_speed_optimizations", "video_auto_advance", "video_bumper", "show_reset_button",
    "edxnotes", "edxnotes_visibility", "in_entrance_exam", "self_paced", "hide_from_toc",
)

#: A value (JSON, as stored from OLX) unlike each field's default, and what a block then reads.
SAMPLES = {
    "graded": (True, True),
    "start": ("2031-05-06T00:00:00Z", datetime.datetime(2031, 5, 6, tzinfo=datetime.UTC)),
    "due": ("2032-01-02T03:04:05Z", datetime.datetime(2032, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)),
    "relative_weeks_due": (3, 3),
    "visible_to_staff_only": (True, True),
    "course_edit_method": ("XML", "XML"),
    "giturl": ("https://example.com/repo.git", "https://example.com/repo.git"),
    "xqa_key": ("k", "k"),
    "graceperiod": ("1 days 2 hours", datetime.timedelta(days=1, hours=2)),
    "group_access": ({"50": [1, 2]}, {50: [1, 2]}),
    "showanswer": ("always", "always"),
    "show_correctness": ("never", "never"),
    "rerandomize": ("per_student", "per_student"),
    "days_early_for_beta": (2.5, 2.5),
    "static_asset_path": ("assets", "assets"),
    "use_latex_compiler": (True, True),
    "max_attempts": (4, 4),
    "matlab_api_key": ("m", "m"),
    "user_partitions": ([{"id": 9, "name": "p", "description": "d", "version": 3, "groups": [],
                          "scheme": "random", "parameters": {}, "active": True}],) * 2,
    "video_speed_optimizations": (False, False),
    "video_auto_advance": (True, True),
    "video_bumper": ({"video_id": "v"}, {"video_id": "v"}),
    "show_reset_button": (True, True),
    "edxnotes": (True, True),
    "in_entrance_exam": (True, True),
    "self_paced": (True, True),
    "hide_from_toc": (True, True),
}
LEVELS = ("course", "chapter", "sequential", "vertical")


def test_inheritable_field_set_is_upstreams():
    """``inheriting_field_data`` inherits ``InheritanceMixin.fields.keys()``: the upstream list, field by field."""
    assert len(INHERITABLE_FIELDS) == len(UPSTREAM_INHERITABLE) == 28
    assert set(INHERITABLE_FIELDS) == set(UPSTREAM_INHERITABLE)


@pytest.fixture(scope="module")
def tree_courses():
    """One course per level: every sample set on that level of course→chapter→sequential→vertical→html."""
    documents = MongoDocumentStore(mongomock.MongoClient(tz_aware=True)["edxapp"])
    writer = SplitWriter(documents, auto_publish=False)
    ids = {"course": "root", "chapter": "ch", "sequential": "seq", "vertical": "unit"}
    values = {name: stored for name, (stored, _) in SAMPLES.items()}
    keys = {}
    for level in LEVELS:
        course = CourseLocator("inherit", "tree", level)
        writer.create_course(course, root_id="root", settings=values if level == "course" else {})
        with writer.bulk_operations(course):
            for parent, child in zip(LEVELS, LEVELS[1:]):
                writer.create_child(course, (parent, ids[parent]), child, ids[child],
                                    settings=values if child == level else {})
            writer.create_child(course, ("vertical", "unit"), "html", "leaf", content={"data": "<p/>"})
        keys[level] = course.for_branch(DRAFT)
    return SplitModuleStore(documents), keys


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_inheritable_field_reaches_the_leaf(tree_courses, name, level):
    """``InheritingFieldData.default``: the leaf and every block below ``level`` read the value set on
    ``level``, without it being explicit on them; blocks above keep the class default.
    (openedx-platform ``test_split_modulestore.py`` ``test_inheritance``-style, per field.)"""
    store, keys = tree_courses
    course = keys[level]
    expected = SAMPLES[name][1]
    ids = {"course": "root", "chapter": "ch", "sequential": "seq", "vertical": "unit"}
    below = LEVELS[LEVELS.index(level) + 1:]
    leaf = store.get_item(course.make_usage_key("html", "leaf"))
    assert getattr(leaf, name) == expected
    assert not leaf.fields[name].is_set_on(leaf)
    for other in below:
        block = store.get_item(course.make_usage_key(other, ids[other]))
        assert getattr(block, name) == expected, other
    for other in LEVELS[:LEVELS.index(level)]:
        block = store.get_item(course.make_usage_key(other, ids[other]))
        assert getattr(block, name) == block.fields[name].default, other


def test_nearest_ancestor_wins_and_own_value_beats_it(tree_courses):
    """The walk stops at the first ancestor that sets the field; a block's own value (None too) wins."""
    store, keys = tree_courses
    documents = store.documents
    writer = SplitWriter(documents, auto_publish=False)
    course = CourseLocator("inherit", "nearest", "run")
    writer.create_course(course, root_id="root", settings={"hide_from_toc": False, "due": "2030-01-01T00:00:00Z"})
    writer.create_child(course, ("course", "root"), "chapter", "ch", settings={"hide_from_toc": True})
    writer.create_child(course, ("chapter", "ch"), "sequential", "seq", settings={"due": None})
    writer.create_child(course, ("sequential", "seq"), "vertical", "unit")
    draft = course.for_branch(DRAFT)
    unit = store.get_item(draft.make_usage_key("vertical", "unit"))
    assert unit.hide_from_toc is True  # the chapter's value, not the course's
    assert unit.due is None  # the sequential's explicit None beats the course's due
    chapter = store.get_item(draft.make_usage_key("chapter", "ch"))
    assert chapter.due == datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)


def test_user_info_inheritable_field_is_not_authored():
    """``edxnotes_visibility`` is an InheritanceMixin field of scope ``user_info``: Split never stores it,
    so it is read from the learner's data, not inherited from authored blocks."""
    from modulestore_compat.split.mixins import InheritanceMixin

    assert InheritanceMixin.fields["edxnotes_visibility"].scope == Scope.user_info


# ----------------------------------------------------------------------------------------- matching


@pytest.mark.parametrize("value_matches, block_matches", [
    (value_matches, block_matches),
    (lambda target, criteria: _lc(target, criteria), lambda values, criteria: _lc_block(values, criteria)),
], ids=["reference", "learning_core_side"])
def test_matching(value_matches, block_matches):
    """openedx-platform ``test_split_modulestore.py`` ``SplitModuleItemTests.test_matching``, literally,
    for the reference's matcher and for the Learning Core side's (``conformance.lc_queries``)."""
    assert value_matches("help", "help")
    assert not value_matches("help", "Help")
    assert value_matches(["distract", "help", "notme"], "help")
    assert not value_matches(["distract", "Help", "notme"], "help")
    assert not block_matches({"field": ["distract", "Help", "notme"]}, {"field": "help"})
    assert block_matches({"field": ["distract", "help", "notme"], "irrelevant": 2}, {"field": "help"})
    assert value_matches("I need some help", re.compile("help"))
    assert value_matches(["I need some help", "today"], re.compile("help"))
    assert not value_matches("I need some help", re.compile("Help"))
    assert value_matches(["I need some help", "today"], re.compile("Help", re.IGNORECASE))
    assert value_matches("gotcha", {"$in": ["a", "bunch", "of", "gotcha"]})
    assert not value_matches("gotcha", {"$in": ["a", "bunch", "of", "gotchas"]})
    assert not value_matches("gotcha", {"$nin": ["a", "bunch", "of", "gotcha"]})
    assert value_matches("gotcha", {"$nin": ["a", "bunch", "of", "gotchas"]})
    assert block_matches({"group_access": {"1": [1]}}, {"group_access": {"$exists": True}})
    assert block_matches({"a": 1, "b": 2}, {"group_access": {"$exists": False}})
    assert block_matches({"a": 1, "group_access": {"1": [1]}}, {"a": 1, "group_access": {"$exists": True}})
    assert not block_matches({"a": 1, "group_access": {"1": [1]}}, {"a": 111, "group_access": {"$exists": True}})
    assert block_matches({"a": 1, "b": 2}, {"a": 1, "group_access": {"$exists": False}})
    assert not block_matches({"a": 1, "b": 2}, {"a": 9, "group_access": {"$exists": False}})
    assert block_matches({"a": 1, "b": 2}, {"a": 1})
    assert not block_matches({"a": 1, "b": 2}, {"a": 2})
    assert not block_matches({"a": 1, "b": 2}, {"c": 1})
    assert not block_matches({"a": 1, "b": 2}, {"a": 1, "c": 1})
    assert block_matches({"a": 1, "b": 2}, {"a": (lambda i: (0 < i < 2))})
    # From the code (``_value_matches``): $in/$nin candidates are criteria themselves; empty lists never match.
    assert value_matches("gotcha", {"$in": [re.compile("^got")]})
    assert not value_matches([], [])
    with pytest.raises(TypeError):
        value_matches(None, re.compile("x"))  # ``criteria.search(target)`` on a non-string


def _lc(target, criteria):
    from conformance.lc_queries import _criterion_holds

    return _criterion_holds(target, criteria)


def _lc_block(values, criteria):
    from conformance.lc_queries import _ABSENT, _all_hold

    return _all_hold(lambda name: (lambda: values[name]) if name in values else _ABSENT, criteria)


@pytest.fixture(scope="module")
def greek_hero():
    documents = MongoDocumentStore(mongomock.MongoClient(tz_aware=True)["edxapp"])
    build_test_courses(documents)
    return SplitModuleStore(documents), GREEK_HERO.for_branch(DRAFT)


def ids(blocks):
    return sorted(block.scope_ids.usage_id.block_id for block in blocks)


def test_get_items_qualifiers(greek_hero):
    """openedx-platform ``test_split_modulestore.py`` ``SplitModuleItemTests.test_get_items``, literally."""
    store, locator = greek_hero
    assert len(store.get_items(locator)) == 8
    assert len(store.get_items(locator, qualifiers={"category": "chapter"})) == 4
    assert len(store.get_items(locator, qualifiers={"category": "garbage"})) == 0
    assert len(store.get_items(locator, qualifiers={"name": "chapter1"})) == 1
    assert len(store.get_items(locator, qualifiers={"name": ["chapter1", "chapter2"]})) == 2
    assert len(store.get_items(locator, qualifiers={"category": "chapter"},
                               settings={"display_name": re.compile(r"Hera")})) == 2
    assert len(store.get_items(locator, settings={"group_access": {"$exists": True}})) == 1
    assert len(store.get_items(locator, settings={"group_access": {"$exists": False}})) == 7


def test_get_items_split_specifics(greek_hero):
    """``split.py get_items``: the ``name`` path runs before ``category`` becomes ``block_type`` (so the
    two together match nothing); ``children`` is a settings criterion on ``BlockKey``s; other
    qualifiers name ``BlockData`` attributes; ``content`` matches the definition's fields."""
    store, locator = greek_hero
    assert store.get_items(locator, qualifiers={"name": "chapter1", "category": "chapter"}) == []
    assert ids(store.get_items(locator, qualifiers={"children": BlockKey("problem", "problem32")})) == ["chapter2"]
    assert ids(store.get_items(locator, qualifiers={"block_type": "problem"})) == \
        ["problem1", "problem32", "problem3_2"]
    assert store.get_items(locator, qualifiers={"display_name": "Hercules"}) == []  # not a BlockData attribute
    assert ids(store.get_items(locator, qualifiers={"category": "chapter"},
                               settings={"display_name": {"$in": ["Athena", re.compile("^Herc")]}})) == \
        ["chap", "chapter1"]
    assert len(store.get_items(locator, content={"data": ""})) == 3


def test_learning_core_side_query_rules_on_blocks(greek_hero):
    """The Learning Core side's ``select_blocks`` gives the same answers from stored settings read by the
    block classes' fields."""
    store, locator = greek_hero
    entries = [StoredBlock(block.scope_ids.usage_id,
                           {name: field.to_json(getattr(block, name)) for name, field in block.fields.items()
                            if field.scope == Scope.settings and field.is_set_on(block)},
                           [(c.block_type, c.block_id) for c in block.children] if block.has_children else None,
                           block.fields)
               for block in store.get_items(locator)]

    def select(qualifiers, settings=None):
        return sorted(key.block_id for key in select_blocks(entries, qualifiers, settings, True, lambda key: True))

    assert len(select({})) == 8
    assert len(select({"category": "chapter"})) == 4
    assert select({"name": "chapter1", "category": "chapter"}) == []
    assert select({"name": ["chapter1", "chapter2"]}) == ["chapter1", "chapter2"]
    assert select({"category": "chapter"}, {"display_name": re.compile("Hera")}) == ["chapter2", "chapter3"]
    assert select({}, {"group_access": {"$exists": True}}) == ["problem32"]
    assert select({"children": ("problem", "problem32")}) == ["chapter2"]
    assert select({"display_name": "Hercules"}) == []


# --------------------------------------------------------------------------------------------- dump


@pytest.mark.slow
def test_both_dump_producers_write_identical_json(demo_course):
    """The canonical format has two independent producers; over the same blocks they agree byte for byte."""
    from lc_runtime import dump as lc_dump
    from modulestore_compat.split import dump as split_dump

    tree, _ = demo_course
    documents = MongoDocumentStore(mongomock.MongoClient(tz_aware=True)["edxapp"])
    SplitWriter(documents).import_tree(tree)
    store = SplitModuleStore(documents)
    blocks = split_dump.split_blocks(store, tree.course_key, "draft")
    assert len(blocks) > 200
    reference = split_dump.course_dump(tree.course_key, "split", "draft", blocks)
    learning_core = lc_dump.make_dump(tree.course_key, "split", "draft", blocks)
    assert lc_dump.dumps(reference) == lc_dump.dumps(learning_core)
    scopes = {entry["scope"] for block in reference["blocks"] for entry in block["fields"].values()}
    assert {"settings", "content", "user_state", "preferences", "user_info"} <= scopes
    assert json.loads(lc_dump.dumps(reference))["blocks"][0]["parent"] is None
