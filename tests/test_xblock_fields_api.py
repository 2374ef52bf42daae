"""XBlock's own field-API matrix (``xblock/test/test_fields_api.py``) run against LearningCoreRuntime.

XBlock's test classes are reused as they are: for each of its (operations × no-op prefix × case)
combinations, and for each of XBlock's six named scopes (the field in ``Scope.content``,
``settings``, ``user_state``, ``preferences``, ``user_info``, ``user_state_summary``; authored scopes
land in Learning Core, the others in the learner-state tables), a class is built from the same
parts, with one part added, :class:`LearningCoreSetup`,
which replaces XBlock's in-memory ``TestRuntime`` with a block stored in Learning Core (an initial
value is saved there first) and, after each test, saves the block and reloads it through a NEW
runtime: what the field data says is stored must be what the next request reads.
"""
from __future__ import annotations

import copy
from unittest.mock import patch

import pytest
from django.db import transaction
from xblock.core import XBlock
from xblock.fields import Scope
from xblock.test import test_fields_api as upstream

from lc_runtime import api
from lc_runtime.blocks.registry import load_block_class

from .olx_builder import write_course

KEY = "course-v1:FieldsX+F1+2026"
_UNSET = object()


@pytest.fixture(scope="module", autouse=True)
def fields_course(tmp_path_factory):
    """One tiny course, committed once; every test runs in a transaction rolled back afterwards."""
    root = write_course(tmp_path_factory.mktemp("fields") / "course", org="FieldsX", number="F1",
                        children='<html url_name="h1"/>',
                        files={"html/h1.xml": '<html filename="h1"/>', "html/h1.html": ""})
    api.import_olx(root, replace=True)


class LearningCoreSetup:
    """Takes the place of ``UniversalTestCases.setup_method``: the block under test lives in Learning Core."""

    def setup_method(self):
        self._atomic = transaction.atomic()
        self._atomic.__enter__()

        class TestBlock(XBlock):
            """Testing block for all field API tests"""
            field = self.field_class(default=copy.deepcopy(self.field_default), scope=self.field_scope)

        self._patch = patch("lc_runtime.runtime.load_block_class",
                            lambda block_type: TestBlock if block_type == "html" else load_block_class(block_type))
        self._patch.start()
        if isinstance(self, upstream.InitialValueProperties):
            seed = self._load()
            seed.field = copy.deepcopy(self.initial_value)
            seed.save()
        self.block = self._load()
        self.runtime = self.block.runtime
        self.field_data = self.block._lc_field_data
        if isinstance(self, upstream.ComputedDefaultTestCases):
            sequence = self.default_iterator  # as DictFieldDataWithSequentialDefault: next(iter(sequence))
            self.field_data.authored.default = lambda block, name: next(iter(sequence))

    @staticmethod
    def _load():
        runtime = api.LearningCoreRuntime(KEY, user_id=7)  # user scopes persist per learner
        return runtime.get_block(runtime.course_key.make_usage_key("html", "h1"))

    def teardown_method(self):
        try:
            self.block.save()
            stored = self.field_data.get(self.block, "field") if self.field_data.has(self.block, "field") else _UNSET
            fresh = self._load()
            reloaded = fresh._lc_field_data
            assert (reloaded.get(fresh, "field") if reloaded.has(fresh, "field") else _UNSET) == stored
        finally:
            self._patch.stop()
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)


_CASES = (upstream.TestImmutableWithComputedDefault, upstream.TestImmutableWithInitialValue,
          upstream.TestImmutableWithStaticDefault, upstream.TestMutableWithComputedDefault,
          upstream.TestMutableWithInitialValue, upstream.TestMutableWithStaticDefault,
          upstream.TestImmutableWithUniqueIdDefault, upstream.TestImmutableWithInitialValueAndUniqueIdDefault)

for _scope in Scope.named_scopes():
    for _operations in (upstream.BlockFirstOperations, upstream.FieldFirstOperations):
        for _prefix in (None, upstream.GetNoopPrefix, upstream.GetSaveNoopPrefix, upstream.SaveNoopPrefix):
            for _case in _CASES:
                _name = f"LearningCore{_case.__name__}With{_operations.__name__}"
                _bases = (_operations, LearningCoreSetup, _case)
                if _prefix is not None:
                    _name += "And" + _prefix.__name__
                    _bases = (_prefix,) + _bases
                _name += "In" + "".join(part.title() for part in _scope.name.split("_"))
                globals()[_name] = type(_name, _bases, {"__test__": True, "field_scope": _scope})
del _scope, _operations, _prefix, _case, _name, _bases
