"""Next draft versions written as rows (lc_runtime.storage.next_version, ADR 0020) leave exactly what
openedx-core's ``create_next_component_version`` / ``create_next_container_version`` leave: the same
package listing (entities, versions, media, entity lists, dependencies, drafts, change logs with their
records and side effects, published state) after each authoring operation done both ways."""
from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from openedx_content.models_api import Draft, PublishableEntityVersion
from opaque_keys.edx.locator import CourseLocator

from lc_runtime.authoring import api as authoring
from lc_runtime.models import LcBlock
from lc_runtime.storage import edits, next_version
from lc_runtime.storage.listing import package_listing

from .rolled_back import standard_course_rolled_back

pytestmark = pytest.mark.mysql  # (also on MariaDB: the rows are written by our SQL there too)

KEY = CourseLocator("RowsX", "T101", "2026")
AUTHOR = 79


def usage(block_type, block_id):
    return KEY.make_usage_key(block_type, block_id)


def _bulk():
    with authoring.bulk_operation(KEY, user_id=AUTHOR):
        authoring.update_block(usage("html", "h1"), user_id=AUTHOR, fields={"display_name": "One"})
        authoring.update_block(usage("html", "h1"), user_id=AUTHOR, fields={"data": "<p>two</p>"})  # same record
        authoring.update_block(usage("vertical", "v1"), user_id=AUTHOR, fields={"display_name": "Unit"})
        authoring.move_block(usage("problem", "p1"), usage("vertical", "v2"), user_id=AUTHOR, position=0)


OPERATIONS = {
    "update component": lambda: authoring.update_block(usage("html", "h1"), user_id=AUTHOR,
                                                       fields={"display_name": "E", "data": "<p>new</p>"}),
    "update container": lambda: authoring.update_block(usage("sequential", "s1"), user_id=AUTHOR,
                                                       fields={"display_name": "Renamed"}),
    "create": lambda: authoring.create_block(KEY, "html", user_id=AUTHOR, parent=usage("vertical", "v1"),
                                             block_id="new", fields={"display_name": "New"}, position=1),
    "move": lambda: authoring.move_block(usage("html", "h1"), usage("vertical", "v2"), user_id=AUTHOR),
    "move retypes": lambda: authoring.move_block(usage("html", "h2"), usage("sequential", "s1"), user_id=AUTHOR),
    "delete": lambda: authoring.delete_block(usage("vertical", "v1"), user_id=AUTHOR),
    "bulk": _bulk,
    "publish then discard": lambda: (
        authoring.update_block(usage("html", "h1"), user_id=AUTHOR, fields={"display_name": "P"}),
        authoring.publish_block(usage("vertical", "v1"), user_id=AUTHOR),
        authoring.update_block(usage("html", "h1"), user_id=AUTHOR, fields={"display_name": "Q"}),
        authoring.discard_changes(usage("html", "h1"), user_id=AUTHOR),
        authoring.update_block(usage("html", "h1"), user_id=AUTHOR, fields={"display_name": "R"})),
    "recreate deleted": lambda: (authoring.delete_block(usage("html", "h2"), user_id=AUTHOR),
                                 authoring.create_block(KEY, "html", user_id=AUTHOR, parent=usage("vertical", "v2"),
                                                        block_id="h2", fields={"display_name": "Again"})),
    "duplicate": lambda: authoring.duplicate_block(usage("html", "h1"), usage("vertical", "v1"), user_id=AUTHOR,
                                                   block_id="copy"),  # (a subtree's copies get random ids)
}

_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d)?$")


def _without_clock(value):
    """The listing with every timestamp replaced (the two runs happen at different times)."""
    if isinstance(value, dict):
        return {key: _without_clock(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_clock(item) for item in value]
    if isinstance(value, str) and _TIME.match(value):
        return "<time>"
    return value


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course imported once for the module, rolled back after it; each run rolled back on its own."""
    with standard_course_rolled_back(tmp_path_factory.mktemp("rows"), "RowsX", (AUTHOR, "rows-author")):
        yield


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_rows_are_those_openedx_cores_api_writes(course, operation, monkeypatch):
    listings, calls = [], []
    for name in ("next_component_version", "next_container_version"):
        monkeypatch.setattr(edits, name, lambda *args, real=getattr(next_version, name), **kwargs: (
            calls.append(args[1]), real(*args, **kwargs))[1])
    for way in ("rows", "api"):
        with transaction.atomic():
            if way == "api":
                monkeypatch.setattr(edits, "open_change_log", lambda learning_package_id: None)
            OPERATIONS[operation]()
            listings.append(_without_clock(package_listing(str(KEY))))
            transaction.set_rollback(True)
    rows, api = listings
    assert rows == api
    assert calls, "the rows way wrote versions"


def test_a_child_its_container_type_refuses_is_refused_as_openedx_core_refuses_it(course):
    """A Unit holds components only (openedx-core's ``Unit.validate_entity``)."""
    entity = dict(LcBlock.objects.filter(course__course_key=str(KEY)).values_list("block_id", "entity_id"))
    with transaction.atomic():
        log = None
        with next_version.content_api.bulk_draft_changes_for(Draft.objects.get(entity_id=entity["v1"]).entity
                                                              .learning_package_id) as log:
            versions = PublishableEntityVersion.objects.count()
            with pytest.raises(ValidationError, match="cannot be added"):
                next_version.next_container_version(log, entity["v1"], children=[entity["h1"], entity["s2"]],
                                                    title="Unit", created=None, created_by=None)
            assert PublishableEntityVersion.objects.count() == versions
        transaction.set_rollback(True)
