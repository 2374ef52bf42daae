"""The cheaper field reads give every block the values XBlock's own paths give (three OLX courses).

Split's reference and the Learning Core runtime hand an inherited date to XBlock already parsed, once
per text (``split.inheritance._read_as_child``, ``lc_runtime.fielddata.parsed.parsed_default``), and
Learning Core's field data reads its store by scope and name instead of a ``KeyValueStore.Key``. Each
course is dumped on both runtimes and both branches with those paths and again with XBlock's
(dates parsed by ``from_json`` on every read, keys built): the canonical JSON must be the same bytes.
A broken memo (one date for every text) must make the comparison fail.
"""
from __future__ import annotations

import datetime
from contextlib import contextmanager
from unittest import mock

import pytest
from xblock.fields import Date, Timedelta

from lc_runtime import api
from lc_runtime.dump import dumps
from lc_runtime.fielddata import inheriting
from lc_runtime.fielddata.parsed import parsed_default
from lc_runtime.olx.reader import read_course
from modulestore_compat.api import DjangoDocumentStore, SplitModuleStore, SplitWriter, dump_split_course
from modulestore_compat.split import inheritance

from .conftest import DEMO_OLX, SHARED

REAL = SHARED / "fixtures" / "olx" / "real-courses"
COURSES = {  # name -> (course root, course key of this test: none of them clashes with another test's)
    "demo-course": (DEMO_OLX, "course-v1:OpenedX+DemoX+fieldreads"),
    "supported-components": (REAL / "supported-components", "course-v1:edX+SC+fieldreads"),
    "demo-test-course": (REAL / "demo-test-course", "course-v1:edX+DT+fieldreads"),
}


class _NotLearningCoreKVS:
    """Stands for ``LearningCoreKVS`` in ``inheriting`` so that no field data takes the by-name path."""


@contextmanager
def xblock_paths():
    """Every read as XBlock makes it: the text to ``from_json`` each time, keys built."""
    with mock.patch.object(inheritance, "_read_as_child", lambda field, value: value), \
            mock.patch.object(inheriting, "parsed_default", lambda field, value: value), \
            mock.patch.object(inheriting, "LearningCoreKVS", _NotLearningCoreKVS):
        yield


def all_dumps(documents, course_key, branches=("draft", "published")) -> dict:
    """(runtime, branch) -> canonical dump text, each from runtimes built for it (nothing cached)."""
    found = {}
    for branch in branches:
        found["split", branch] = dumps(dump_split_course(SplitModuleStore(documents), course_key, branch))
        found["learning_core", branch] = dumps(api.dump_course(course_key, branch=branch))
    return found


def differing_lines(left: dict, right: dict) -> list:
    out = []
    for side in left:
        a, b = left[side].splitlines(), right[side].splitlines()
        out += [(side, index, x, y) for index, (x, y) in enumerate(zip(a, b)) if x != y]
        if len(a) != len(b):
            out.append((side, "line count", len(a), len(b)))
    return out


@pytest.fixture(scope="module", params=sorted(COURSES))
def imported(request):
    """One course on Split and on Learning Core, inside a transaction rolled back after the module."""
    from django.db import transaction

    from django.core.cache import cache

    root, key = COURSES[request.param]
    with transaction.atomic():
        documents = DjangoDocumentStore()
        tree = read_course(root, key)
        SplitWriter(documents).import_tree(tree)
        api.import_olx(root, course_key=key, replace=True)
        yield documents, tree.course_key
        transaction.set_rollback(True)
    cache.clear()  # nothing cached may outlive the rolled-back rows (other tests count the store's courses)


@pytest.mark.slow
def test_cheaper_reads_give_the_same_dumps(imported):
    documents, course_key = imported
    fast = all_dumps(documents, course_key)
    with xblock_paths():
        plain = all_dumps(documents, course_key)
    assert '"start"' in fast["split", "draft"]
    assert differing_lines(fast, plain) == []


@pytest.mark.slow
def test_a_memo_that_ignores_the_text_is_caught(imported):
    """The comparison can fail: one date for every inherited date text is a difference on both runtimes."""
    documents, course_key = imported
    plain = all_dumps(documents, course_key, ("draft",))
    wrong = datetime.datetime(1999, 1, 1, tzinfo=datetime.timezone.utc)

    def one_date(field, value):
        return wrong if type(field) is Date and isinstance(value, str) and value else value

    with mock.patch.object(inheritance, "_read_as_child", one_date), \
            mock.patch.object(inheriting, "parsed_default", one_date):
        broken = all_dumps(documents, course_key, ("draft",))
    assert {side for side, *_ in differing_lines(broken, plain)} == set(plain)


@pytest.mark.parametrize("read", [parsed_default, inheritance._read_as_child], ids=["learning_core", "split"])
class TestOneParsePerText:
    def test_each_text_has_its_own_value(self, read):
        field = Date()
        for text in ("2013-02-14T05:00:00Z", "2013-02-15T05:00:00Z", "2030-01-01T00:00:00+05:00"):
            assert read(field, text) == field.from_json(text)
            assert read(field, text) is read(field, text)  # parsed once
            assert field.from_json(read(field, text)) is read(field, text)  # what XBlock's __get__ then does

    def test_texts_that_do_not_parse_reach_xblock_unchanged(self, read):
        field = Date()
        assert read(field, "") == ""
        assert read(field, "2013") == "2013"  # no month or day: XBlock's from_json warns and gives None
        assert field.from_json("2013") is None
        assert read(field, "not a date") == "not a date"  # XBlock's from_json raises it for the reader

    def test_other_field_classes_and_values_are_left_to_xblock(self, read):
        class NoonDate(Date):
            def from_json(self, value):
                return super().from_json(value).replace(hour=12)

        assert read(NoonDate(), "2013-02-14T05:00:00Z") == "2013-02-14T05:00:00Z"
        assert read(Date(), 1360818000000) == 1360818000000
        assert read(Timedelta(), "1 day") == (datetime.timedelta(days=1) if read is parsed_default else "1 day")
