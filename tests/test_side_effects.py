"""Side effects recorded in bulk (lc_runtime.storage.side_effects) are the rows openedx-core's own
``_create_side_effects_for_change_log`` writes: same change records, side effects, branch pointers and
dependency hashes, for draft change logs and publish logs, after the authoring operations."""
from __future__ import annotations

import pytest
from django.db import transaction
from openedx_content.applets.publishing import api as publishing_api
from openedx_content.models_api import (
    Draft,
    DraftChangeLog,
    DraftChangeLogRecord,
    DraftSideEffect,
    Published,
    PublishLog,
    PublishLogRecord,
    PublishSideEffect,
)
from opaque_keys.edx.locator import CourseLocator

from lc_runtime.authoring import api as authoring
from lc_runtime.storage import side_effects

from .rolled_back import standard_course_rolled_back

KEY = CourseLocator("SideX", "T101", "2026")
AUTHOR = 78


def usage(block_type, block_id):
    return KEY.make_usage_key(block_type, block_id)


OPERATIONS = {
    "create": lambda: authoring.create_block(KEY, "html", user_id=AUTHOR, parent=usage("vertical", "v1"),
                                             block_id="new", fields={"display_name": "New"}),
    "update": lambda: authoring.update_block(usage("html", "h1"), user_id=AUTHOR, fields={"display_name": "E"}),
    "move": lambda: authoring.move_block(usage("html", "h1"), usage("vertical", "v2"), user_id=AUTHOR),
    "delete": lambda: authoring.delete_block(usage("vertical", "v1"), user_id=AUTHOR),
    "bulk": lambda: _bulk(),
    "publish": lambda: (authoring.update_block(usage("html", "h1"), user_id=AUTHOR, fields={"display_name": "P"}),
                        authoring.publish_block(usage("vertical", "v1"), user_id=AUTHOR)),
    "publish_new": lambda: (authoring.create_block(KEY, "vertical", user_id=AUTHOR, parent=usage("sequential", "s2"),
                                                   block_id="v8"),
                            authoring.create_block(KEY, "html", user_id=AUTHOR, parent=usage("vertical", "v8"),
                                                   block_id="h8"),
                            authoring.publish_block(usage("vertical", "v8"), user_id=AUTHOR)),
    "unpublish": lambda: authoring.unpublish_block(usage("vertical", "v2"), user_id=AUTHOR),
}


def _bulk():
    with authoring.bulk_operation(KEY, user_id=AUTHOR):
        authoring.update_block(usage("problem", "p1"), user_id=AUTHOR, fields={"display_name": "P"})
        authoring.update_block(usage("html", "h2"), user_id=AUTHOR, fields={"display_name": "H"})
        authoring.create_block(KEY, "vertical", user_id=AUTHOR, parent=usage("sequential", "s1"), block_id="v9")


def _log_rows(log_model, record_model, effect_model, log_field, branch, pointer_field, since_log: int):
    logs = log_model.objects.filter(pk__gt=since_log)
    columns = ["pk", f"{log_field}_id", "entity_id", "old_version_id", "new_version_id", "dependencies_hash_digest"]
    if record_model is PublishLogRecord:
        columns.append("direct")
    records = {pk: (log, *rest) for pk, log, *rest in record_model.objects.filter(
        **{f"{log_field}__in": logs}).values_list(*columns)}
    logs_order = sorted({log for log, *_ in records.values()})
    named = {pk: (logs_order.index(log), *rest) for pk, (log, *rest) in records.items()}
    effects = sorted((named[c], named[e]) for c, e in effect_model.objects.filter(
        cause_id__in=list(records)).values_list("cause_id", "effect_id"))
    pointers = sorted((entity, version, named.get(record, record)) for entity, version, record in
                      branch.objects.values_list("entity_id", "version_id", pointer_field))
    return sorted(named.values()), effects, pointers


def _rows(since: tuple[int, int]):
    """What the operation's change logs and publish logs left, by entity (ids of new rows differ between runs)."""
    return (_log_rows(DraftChangeLog, DraftChangeLogRecord, DraftSideEffect, "draft_change_log", Draft,
                      "draft_log_record_id", since[0]),
            _log_rows(PublishLog, PublishLogRecord, PublishSideEffect, "publish_log", Published,
                      "publish_log_record_id", since[1]))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course imported once for the module, rolled back after it; each run rolled back on its own."""
    with standard_course_rolled_back(tmp_path_factory.mktemp("side"), "SideX", (AUTHOR, "side-author")):
        yield


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_bulk_side_effects_are_the_rows_openedx_core_writes(course, operation, monkeypatch):
    assert side_effects._LIBRARY_RECORDER.__module__ == publishing_api.__name__
    since = (DraftChangeLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
             PublishLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
    results = []
    for recorder in ("ours", "openedx-core"):
        with transaction.atomic():
            if recorder == "openedx-core":  # openedx-core's own recorder, where it would be
                monkeypatch.setattr(side_effects, "record_side_effects", side_effects._LIBRARY_RECORDER)
            OPERATIONS[operation]()
            results.append(_rows(since))
            transaction.set_rollback(True)
    ours, theirs = results
    assert ours == theirs
    assert ours[0][1] or ours[1][1], "the operation recorded side effects"
    if operation.startswith(("publish", "unpublish")):
        assert ours[1][0], "the operation published"
