"""A course key that differs only in case names another course, as in Split on MongoDB.

MySQL's utf8mb4 collations (edx-platform's) compare strings case-insensitively, SQLite's default
does not: exact lookups must not find ``testx/t101`` for ``TestX/T101`` on either; ``ignore_case``
lookups find it on both.
"""
from __future__ import annotations

import pytest
from opaque_keys.edx.locator import CourseLocator

from lc_runtime import api as lc_api
from lc_runtime.olx.reader import read_course
from lc_runtime.stages import set_stage
from modulestore_compat.api import DjangoDocumentStore, LearningCoreModuleStore, SplitWriter

from .olx_builder import standard_course

pytestmark = pytest.mark.mysql

KEY = CourseLocator("TestX", "T101", "2026")


def test_the_split_reference_store_looks_course_indexes_up_exactly(tmp_path, rollback):
    documents = DjangoDocumentStore()
    SplitWriter(documents).import_tree(read_course(standard_course(tmp_path / "olx")))
    assert documents.get_course_index("TestX", "T101", "2026")["org"] == "TestX"
    assert documents.get_course_index("testx", "t101", "2026") is None
    assert documents.get_course_index("testx", "t101", "2026", ignore_case=True)["org"] == "TestX"


def test_the_facade_serves_a_course_only_under_its_own_key(tmp_path, rollback):
    lc_api.import_olx(standard_course(tmp_path / "olx"))
    set_stage(KEY, "full")
    store = LearningCoreModuleStore()
    assert store.has_course(KEY) == KEY
    assert store.has_course(CourseLocator("testx", "t101", "2026")) is None
    assert store.has_course(CourseLocator("testx", "t101", "2026"), ignore_case=True) == KEY
