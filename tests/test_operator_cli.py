"""Operators (#10): rollback after a forced migration, the CLI's one-line refusals and errors."""
from __future__ import annotations

from unittest import mock

import pytest

from conformance import migration as migration_module
from conformance.migration import ConformanceFailed, difference_identity, migrate, rollback
from lc_runtime.stages import accepted_differences, stage_history, stored_stage

from .test_migration import KEY, split_course  # noqa: F401 - fixture

ORIGINAL_ADAPTER_FOR = migration_module.adapter_for


class FlippedHasChanges:
    """The stage's adapter, with ``has_changes`` flipped for some blocks: a difference that stays."""

    def __init__(self, inner, flipped):
        self.inner, self.flipped = inner, flipped

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def has_changes(self, usage_key):
        answer = self.inner.has_changes(usage_key)
        return (not answer) if str(usage_key).rsplit("@", 1)[-1] in self.flipped else answer


def flipping(*block_ids):
    def adapter_for(stage, documents, course_key):
        adapter = ORIGINAL_ADAPTER_FOR(stage, documents, course_key)
        return adapter if stage == "split" else FlippedHasChanges(adapter, set(block_ids))
    return mock.patch("conformance.migration.adapter_for", adapter_for)


def test_rollback_after_a_forced_migration_needs_no_force(split_course):  # noqa: F811
    with flipping("2026"):
        with pytest.raises(ConformanceFailed, match="switching to components found 1 differences.*--force"):
            migrate(split_course, KEY, "components")
        migrate(split_course, KEY, "components", force=True, reason="accepted")
        assert stored_stage(KEY) == "components" and stage_history(KEY)[-1].forced
        assert [(d["check"], d["block"].rsplit("@", 1)[-1]) for d in accepted_differences(KEY)] == [
            ("query.has_changes", "2026")]
        steps = rollback(split_course, KEY, "split")
    assert stored_stage(KEY) == "split" and steps[0].differences == 1
    assert not stage_history(KEY)[-1].forced
    assert accepted_differences(KEY) == []  # back at split: nothing accepted any more


def test_a_new_difference_after_the_forced_step_still_blocks_rollback(split_course):  # noqa: F811
    with flipping("2026"):
        migrate(split_course, KEY, "components", force=True)
    with flipping("2026", "s1"):
        with pytest.raises(ConformanceFailed) as refused:
            rollback(split_course, KEY, "split")
        message = str(refused.value)
        assert "1 new differences (1 more were accepted" in message
        assert f"`lc-runtime rollback {KEY} --to split --force`" in message and "\n" not in message
        assert stored_stage(KEY) == "components"
        rollback(split_course, KEY, "split", force=True)
    assert stored_stage(KEY) == "split" and stage_history(KEY)[-1].forced


def test_difference_identity_ignores_values_branches_and_versions():
    one = {"check": "field.value", "branch": "draft", "field": "display_name", "left": "a", "right": "b",
           "block": "block-v1:O+C+R+branch@draft-branch+version@aaaa+type@html+block@h1", "during": None}
    other = dict(one, left="x", right="y", block="block-v1:O+C+R+type@html+block@h1")
    assert difference_identity(one) == difference_identity(other)
    assert difference_identity(one) != difference_identity(dict(one, field="data"))
    assert difference_identity(one) != difference_identity(dict(one, branch="published"))
