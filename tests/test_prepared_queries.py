"""Hot queries compiled once per shape (lc_runtime.storage.prepared) give exactly the ORM's rows:
the same values, converted as ``values_list`` converts them (JSON, dates, booleans), for id lists of
every length, repeated ids, and on later calls that reuse the compiled SQL."""
from __future__ import annotations

import pytest
from openedx_content.models_api import EntityListRow

from lc_runtime.models import BlockVersionFields, LcBlock
from lc_runtime.storage.prepared import rows_for_ids
from lc_runtime.storage.snapshot import VERSION_COLUMNS

from .rolled_back import standard_course_rolled_back

pytestmark = pytest.mark.mysql


@pytest.fixture(scope="module")
def entities(tmp_path_factory):
    with standard_course_rolled_back(tmp_path_factory.mktemp("prepared"), "PrepX"):
        yield list(LcBlock.objects.filter(course__course_key="course-v1:PrepX+T101+2026").order_by(
            "entity_id").values_list("entity_id", flat=True))


def _versions(ids):
    return BlockVersionFields.objects.filter(entity_version__entity_id__in=ids, entity_version__draft__isnull=False
                                             ).order_by("entity_version_id").values_list(*VERSION_COLUMNS)


def _children(ids):
    return EntityListRow.objects.filter(entity_list_id__in=ids).order_by("entity_list_id", "order_num").values_list(
        "entity_list_id", "entity_id", "entity__lc_block__block_id", "entity__lc_block__detached",
        "entity__draft__version_id")


def test_rows_are_the_orms_for_every_list_length(entities):
    assert len(entities) >= 8
    for count in (1, 3, len(entities), 3):  # the second 3 reuses the compiled SQL
        ids = entities[:count]
        rows = rows_for_ids("test.versions", _versions, ids)
        assert rows == [list(row) for row in _versions(ids)]
        assert len(rows) == count
    settings = {row[1]: row[5] for row in rows_for_ids("test.versions", _versions, entities)}
    assert all(isinstance(value, dict) for value in settings.values())  # JSON decoded
    created = rows_for_ids("test.versions", _versions, entities[:1])[0][8]
    assert created.tzinfo is not None  # a date with its time zone, as values_list gives it


def test_joined_columns_and_booleans_match(entities):
    lists = list(BlockVersionFields.objects.filter(
        entity_version__containerversion__entity_list_id__isnull=False).values_list(
        "entity_version__containerversion__entity_list_id", flat=True))
    rows = rows_for_ids("test.children", _children, lists)
    assert rows and rows == [list(row) for row in _children(lists)]
    assert {type(row[3]) for row in rows} == {bool}


def test_repeated_ids_and_no_ids(entities):
    ids = [entities[0], entities[1], entities[0]]
    assert rows_for_ids("test.versions", _versions, ids) == [list(row) for row in _versions(ids)]
    assert rows_for_ids("test.versions", _versions, []) == []


def test_a_query_with_other_parameters_runs_through_the_orm(entities):
    def named(ids):
        return LcBlock.objects.filter(entity_id__in=ids, block_type="html").order_by("entity_id").values_list(
            "block_id", "detached")

    assert rows_for_ids("test.named", named, entities) == [list(row) for row in named(entities)]
    assert sorted(rows_for_ids("test.named", named, entities)) == [["h1", False], ["h2", False]]
