"""Tests for lc_runtime.blocks.fields: edx-platform's custom XBlock field classes."""
from __future__ import annotations

import datetime
import json
import logging
import time
import unittest
from pathlib import Path

import ddt
import pytest
from xblock import fields as xfields
from xblock.core import XBlock
from xblock.field_data import DictFieldData
from xblock.fields import Scope, ScopeIds
from xblock.runtime import MemoryIdManager

from xblock.scorable import Score

from .runtimes import NoServingRuntime

from lc_runtime.blocks import fields as f

UTC = datetime.timezone.utc
TD = datetime.timedelta

# Field objects are descriptors, so they live at module level rather than on the test classes.
DATE = f.Date()
TIMEDELTA = f.Timedelta()
RELATIVE_TIME = f.RelativeTime()
SCORE = f.ScoreField()


def schema_path() -> Path | None:
    """The package's own schemas.json if shipped, else the shared reference copy."""
    packaged = Path(f.__file__).resolve().parent / "schemas.json"
    if packaged.exists():
        return packaged
    shared = Path(__file__).resolve().parents[2] / "shared/reference/block-schemas.json"
    return shared if shared.exists() else None


def field_class_names(node) -> set[str]:
    """Every ``field_class`` value anywhere in the schema document."""
    if isinstance(node, dict):
        found = {node["field_class"]} if isinstance(node.get("field_class"), str) else set()
        for child in node.values():
            found |= field_class_names(child)
        return found
    if isinstance(node, list):
        return set().union(*(field_class_names(child) for child in node)) if node else set()
    return set()


class TestRegistry:
    def test_every_schema_field_class_is_registered(self):
        path = schema_path()
        if path is None:
            pytest.skip("block schemas not available")
        names = field_class_names(json.loads(path.read_text()))
        assert names, "no field_class entries found"
        assert names <= set(f.FIELD_CLASSES), sorted(names - set(f.FIELD_CLASSES))

    def test_documented_custom_classes_are_registered(self):
        path = schema_path()
        if path is None:
            pytest.skip("block schemas not available")
        documented = json.loads(path.read_text())["_field_classes"]
        for key in documented:
            for name in key.split("/"):
                assert name in f.FIELD_CLASSES

    @pytest.mark.parametrize("name", ["String", "Boolean", "Integer", "Float", "Dict", "List", "Reference",
                                      "ReferenceList", "ReferenceValueDict", "DateTime", "XMLString"])
    def test_standard_names_map_to_xblock_classes(self, name):
        assert f.FIELD_CLASSES[name] is getattr(xfields, name)

    def test_custom_classes_are_xblock_json_fields(self):
        for name, cls in f.FIELD_CLASSES.items():
            assert issubclass(cls, xfields.JSONField), name
            if not hasattr(xfields, name):
                assert cls is getattr(f, name)

    @pytest.mark.parametrize("name", ["Date", "Timedelta", "RelativeTime", "ScoreField", "ListScoreField"])
    def test_xblock_namesakes_are_xblocks_own_classes(self, name):
        """edx-platform uses these unchanged: ``xmodule/modulestore/inheritance.py`` and
        ``xmodule/course_block.py`` import Date and Timedelta from ``xblock.fields``; xblocks-contrib's
        video (RelativeTime) and capa (ScoreField, ListScoreField) blocks do the same."""
        assert f.FIELD_CLASSES[name] is getattr(xfields, name)
        assert getattr(f, name) is getattr(xfields, name)


# The expectations below are XBlock's own behaviour (xblock/fields.py), which is the platform's.


@ddt.ddt
class TestDate(unittest.TestCase):

    @ddt.data("2020-01-01T00:00:00Z", "2013-02-28T23:59:59Z", "2020-06-01T10:00:00+02:00",
              "2020-06-01T10:00:00-05:30", "2020-06-01T10:00:00.500000+02:00", None)
    def test_round_trip(self, value):
        assert DATE.to_json(DATE.from_json(value)) == value

    @ddt.data(
        ("2020-03-04T05:06:07Z", datetime.datetime(2020, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2020-03-04T05:06:07", datetime.datetime(2020, 3, 4, 5, 6, 7, tzinfo=UTC)),  # a naive string → UTC
        ("2020-03-04", datetime.datetime(2020, 3, 4, tzinfo=UTC)),
        ("March 4, 2020", datetime.datetime(2020, 3, 4, tzinfo=UTC)),
        ("2020-03-04T05:06:07+01:00",
         datetime.datetime(2020, 3, 4, 5, 6, 7, tzinfo=datetime.timezone(TD(hours=1)))),
    )
    @ddt.unpack
    def test_parse_strings(self, text, expected):
        parsed = DATE.from_json(text)
        assert parsed == expected
        assert parsed.utcoffset() == expected.utcoffset()

    @ddt.data("", None)
    def test_empty_is_none(self, value):
        assert DATE.from_json(value) is None

    @ddt.data("2020", "2020-05", "May 2020")
    def test_missing_month_or_day_is_none_with_warning(self, text):
        with self.assertLogs(xfields.__name__, logging.WARNING) as logs:
            assert DATE.from_json(text) is None
        assert "missing month or day" in logs.output[0]

    @ddt.data(
        (0, datetime.datetime(1970, 1, 1, tzinfo=UTC)),
        (1_500, datetime.datetime(1970, 1, 1, 0, 0, 1, 500_000, tzinfo=UTC)),
        (1_577_836_800_000, datetime.datetime(2020, 1, 1, tzinfo=UTC)),
        (1_577_836_800_000.0, datetime.datetime(2020, 1, 1, tzinfo=UTC)),
    )
    @ddt.unpack
    def test_numbers_are_epoch_milliseconds(self, value, expected):
        assert DATE.from_json(value) == expected
        assert DATE.from_json(value).tzinfo is not None

    def test_a_naive_datetime_stays_naive(self):
        """XBlock makes naive *strings* UTC, but returns a datetime object as it is."""
        value = datetime.datetime(2021, 1, 2, 3, 4, 5)
        assert DATE.from_json(value) is value and value.tzinfo is None

    def test_aware_datetime_is_kept(self):
        value = datetime.datetime(2021, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(TD(hours=-4)))
        assert DATE.from_json(value) is value

    def test_struct_time_is_written_as_utc(self):
        value = time.struct_time((2020, 1, 2, 3, 4, 5, 3, 2, 0))
        assert DATE.to_json(value) == "2020-01-02T03:04:05Z"

    @ddt.data([2020, 1, 1], {"year": 2020}, datetime.date(2020, 1, 1), object())
    def test_from_json_bad_type(self, value):
        with pytest.raises(TypeError):
            DATE.from_json(value)

    def test_unparseable_string_raises_value_error(self):
        with pytest.raises(ValueError):
            DATE.from_json("not a date at all")

    @ddt.data(
        (datetime.datetime(2020, 1, 1, 12, tzinfo=UTC), "2020-01-01T12:00:00Z"),
        (datetime.datetime(2020, 1, 1, 12), "2020-01-01T12:00:00Z"),  # naive written as UTC
        (datetime.datetime(2020, 1, 1, 12, tzinfo=datetime.timezone(TD(0))), "2020-01-01T12:00:00Z"),
        (datetime.datetime(2020, 1, 1, 12, tzinfo=datetime.timezone(TD(hours=2))), "2020-01-01T12:00:00+02:00"),
        (datetime.datetime(2020, 1, 1, 12, 0, 0, 123, tzinfo=UTC), "2020-01-01T12:00:00Z"),
        (None, None),
    )
    @ddt.unpack
    def test_to_json(self, value, expected):
        assert DATE.to_json(value) == expected

    @ddt.data(12, [2020], datetime.date(2020, 1, 1), "2020-01-01")
    def test_to_json_bad_type(self, value):
        with pytest.raises(TypeError):  # strings too: XBlock does not pass them through
            DATE.to_json(value)

    def test_enforce_type_matches_from_json(self):
        assert DATE.enforce_type("2020-01-01T00:00:00") == datetime.datetime(2020, 1, 1, tzinfo=UTC)
        assert DATE.enforce_type(None) is None


@ddt.ddt
class TestTimedelta(unittest.TestCase):

    @ddt.data(
        ("2 days 3 hours 5 minutes 10 seconds", TD(days=2, hours=3, minutes=5, seconds=10)),
        ("1 day 1 hour 1 minute 1 second", TD(days=1, hours=1, minutes=1, seconds=1)),
        ("4 hours 0 minutes 0 seconds", TD(hours=4)),
        ("2 hours", TD(hours=2)),
        ("90 minutes", TD(minutes=90)),
        ("5 days", TD(days=5)),
        ("1 days 7200 seconds", TD(days=1, hours=2)),
        ("2 days3 hours", TD(days=2, hours=3)),  # the separating space is optional
        ("", TD(0)),
    )
    @ddt.unpack
    def test_parse(self, text, expected):
        assert TIMEDELTA.from_json(text) == expected

    @ddt.data("soon", "2 weeks", "3 hours 2 days", "1.5 hours", "-1 day", "hours",
              "3 Days 2 HOURS", "  1 day   30 seconds ")  # case and extra spaces are not accepted
    def test_unparseable_is_none(self, text):
        assert TIMEDELTA.from_json(text) is None

    def test_none_and_timedelta_pass_through(self):
        value = TD(hours=3)
        assert TIMEDELTA.from_json(None) is None
        assert TIMEDELTA.from_json(value) is value
        assert TIMEDELTA.enforce_type(value) is value

    def test_from_json_bad_type(self):
        with pytest.raises(TypeError):
            TIMEDELTA.from_json(3600)

    @ddt.data(
        (TD(days=2), "2 days"),
        (TD(seconds=30), "30 seconds"),
        (TD(hours=2), "7200 seconds"),  # a timedelta has no hours or minutes attribute
        (TD(days=1, hours=1, minutes=1, seconds=1), "1 days 3661 seconds"),
        (TD(days=1, microseconds=5), "1 days"),
        (TD(0), ""),
        (None, None),
        ("2 hours", ""),  # not a timedelta: no attributes, nothing written
    )
    @ddt.unpack
    def test_to_json(self, value, expected):
        assert TIMEDELTA.to_json(value) == expected

    @ddt.data("2 days", "30 seconds", "1 days 3600 seconds", "", None)
    def test_round_trip(self, text):
        assert TIMEDELTA.to_json(TIMEDELTA.from_json(text)) == text

    @ddt.data(TD(hours=5, minutes=3), TD(days=3, seconds=59), TD(0))
    def test_python_round_trip(self, value):
        assert TIMEDELTA.from_json(TIMEDELTA.to_json(value)) == value


@ddt.ddt
class TestRelativeTime(unittest.TestCase):

    @ddt.data(None, "", 0, 0.0)
    def test_empty_is_zero(self, value):
        assert RELATIVE_TIME.from_json(value) == TD(0)

    @ddt.data(
        ("01:02:03", TD(hours=1, minutes=2, seconds=3)),
        ("1:2:3", TD(hours=1, minutes=2, seconds=3)),
        ("23:59:59", TD(hours=23, minutes=59, seconds=59)),
        ("00:00:60", TD(minutes=1)),  # time.strptime accepts a leap second
        (90.5, TD(seconds=90.5)),
        (TD(minutes=1), TD(minutes=1)),
    )
    @ddt.unpack
    def test_from_json(self, value, expected):
        assert RELATIVE_TIME.from_json(value) == expected

    @ddt.data("24:00:00", "00:60:00", "abc", "1:2", "01:02:03:04", "-1:00:00")
    def test_invalid_strings_raise_value_error(self, text):
        with pytest.raises(ValueError, match="Incorrect RelativeTime value"):
            RELATIVE_TIME.from_json(text)

    @ddt.data([1], {"h": 1}, True, 42)  # an int is not the legacy float form
    def test_bad_type(self, value):
        with pytest.raises(TypeError):
            RELATIVE_TIME.from_json(value)

    @ddt.data(
        (None, "00:00:00"),
        (TD(0), "00:00:00"),
        (TD(seconds=5), "00:00:05"),
        (TD(hours=1, minutes=2, seconds=3), "01:02:03"),
        (TD(hours=23, minutes=59, seconds=59), "23:59:59"),
        (TD(hours=24), "1 day, 0:00:00"),  # the limit check is "> 86400 seconds"
        (TD(seconds=1, microseconds=600_000), "0:00:01.600000"),
        (75.0, "00:01:15"),
        (1e6, "1 day, 0:00:00"),  # floats are clamped to 86400 seconds
    )
    @ddt.unpack
    def test_to_json(self, value, expected):
        assert RELATIVE_TIME.to_json(value) == expected

    def test_to_json_out_of_range(self):
        with pytest.raises(ValueError):
            RELATIVE_TIME.to_json(TD(days=2))

    @ddt.data("1:2:3", 10 ** 6)
    def test_to_json_only_takes_timedeltas_and_floats(self, value):
        with pytest.raises(TypeError):
            RELATIVE_TIME.to_json(value)

    @ddt.data("00:00:00", "00:01:30", "12:34:56", "23:59:59")
    def test_round_trip(self, text):
        assert RELATIVE_TIME.to_json(RELATIVE_TIME.from_json(text)) == text


@ddt.ddt
class TestScoreField(unittest.TestCase):

    def test_from_json_gives_score_and_to_json_keeps_it(self):
        score = SCORE.from_json({"raw_earned": 1, "raw_possible": 2})
        assert isinstance(score, Score)
        assert (score.raw_earned, score.raw_possible) == (1, 2)
        assert SCORE.from_json(score) is score
        assert SCORE.to_json(score) is score  # XBlock's ScoreField has no to_json of its own
        assert SCORE.from_json(None) is None

    @ddt.data({"raw_earned": 3, "raw_possible": 2}, {"raw_earned": -1, "raw_possible": 2},
              {"raw_earned": 0, "raw_possible": -1})
    def test_out_of_range(self, value):
        with pytest.raises(ValueError):
            SCORE.from_json(value)

    @ddt.data({"raw_earned": 1}, {"raw_earned": 1, "raw_possible": 2, "extra": 0},
              {"raw_earned": "1", "raw_possible": 2}, "1/2", 5, [1, 2])
    def test_malformed(self, value):
        with pytest.raises(TypeError):
            SCORE.from_json(value)

    def test_list_score_field(self):
        field = f.ListScoreField()
        data = [{"raw_earned": 1, "raw_possible": 2}, {"raw_earned": 2, "raw_possible": 2}]
        assert field.from_json(data) == [Score(1, 2), Score(2, 2)]
        assert field.from_json(None) is None
        assert field.default == [] and field.MUTABLE
        assert isinstance(field, xfields.List)
        with pytest.raises(ValueError):
            field.from_json([{"raw_earned": 3, "raw_possible": 2}])
        with pytest.raises(TypeError):
            field.from_json({"raw_earned": 1, "raw_possible": 2})


class TestContainers:
    def test_group_access_keys(self):
        field = f.GroupAccessDict()
        stored = {"50": [1, 2], "7": []}
        value = field.from_json(stored)
        assert value == {50: [1, 2], 7: []}
        assert field.to_json(value) == stored
        assert field.to_json({3: [4]}) == {"3": [4]}
        assert field.from_json(None) is None and field.to_json(None) is None
        value[50].append(3)
        assert stored["50"] == [1, 2]

    def test_group_access_errors(self):
        field = f.GroupAccessDict()
        with pytest.raises(ValueError):
            field.from_json({"abc": [1]})
        with pytest.raises(TypeError):
            field.from_json([1, 2])

    def test_user_partitions_round_trip_and_copy(self):
        field = f.UserPartitionList()
        stored = [{
            "id": 50, "name": "Cohorts", "description": "by cohort", "version": 3,
            "groups": [{"id": 1, "name": "A", "version": 1}], "scheme": "cohort",
            "parameters": {}, "active": True,
        }]
        value = field.from_json(stored)
        assert value == stored and value is not stored and value[0]["groups"] is not stored[0]["groups"]
        out = field.to_json(value)
        assert out == stored and out[0] is not value[0]
        assert field.from_json(None) is None and field.to_json(None) is None

    def test_user_partitions_accept_objects_with_to_json(self):
        class Partition:
            def to_json(self):
                return {"id": 1, "name": "x"}

        assert f.UserPartitionList().to_json([Partition()]) == [{"id": 1, "name": "x"}]

    def test_user_partitions_reject_non_dicts(self):
        with pytest.raises(TypeError):
            f.UserPartitionList().from_json([1])
        with pytest.raises(TypeError):
            f.UserPartitionList().from_json({"id": 1})

    @pytest.mark.parametrize("cls, stored", [
        (f.TextbookList, [["Textbook", "https://example.com/book/"]]),
        (f.CourseTabList, [{"type": "courseware", "name": "Course"}, {"type": "progress", "name": "Progress"}]),
        (f.TeamsConfigField, {"team_sets": [{"id": "t1", "name": "T", "type": "open"}], "max_team_size": 4}),
    ])
    def test_passthrough_copies(self, cls, stored):
        field = cls()
        value = field.from_json(stored)
        assert value == stored and value is not stored
        out = field.to_json(value)
        assert out == stored and out is not value
        assert field.from_json(None) is None

    @pytest.mark.parametrize("cls, bad", [(f.TextbookList, {}), (f.CourseTabList, "x"), (f.TeamsConfigField, [])])
    def test_passthrough_type_errors(self, cls, bad):
        with pytest.raises(TypeError):
            cls().from_json(bad)


@ddt.ddt
class TestStrings(unittest.TestCase):
    @ddt.data(("", "always"), ("true", "always"), ("false", "per_student"), ("never", "never"),
              ("onreset", "onreset"), ("per_student", "per_student"), ("always", "always"),
              (True, "always"), (False, "per_student"), (None, None))
    @ddt.unpack
    def test_randomization(self, value, expected):
        field = f.Randomization()
        assert field.from_json(value) == expected
        assert field.to_json(value) == expected

    @ddt.data("always", "never", "onreset", "per_student")
    def test_randomization_round_trip(self, value):
        field = f.Randomization()
        assert field.to_json(field.from_json(value)) == value

    @ddt.data("staff@example.com", "a.b+c@sub.example.org")
    def test_email_valid(self, value):
        field = f.EmailString()
        assert field.from_json(value) == value
        assert field.to_json(value) == value

    @ddt.data("", None)
    def test_email_empty_is_none(self, value):
        assert f.EmailString().from_json(value) is None

    @ddt.data("nobody", "@example.com", "staff@", "a@b@c", " @ ")
    def test_email_invalid(self, value):
        with pytest.raises(ValueError):
            f.EmailString().from_json(value)

    def test_proctoring_provider(self):
        field = f.ProctoringProvider(default="null", scope=Scope.settings)
        assert field.default == "null"
        assert field.to_json(field.from_json("proctortrack")) == "proctortrack"
        assert isinstance(field, xfields.String)


class _Block(XBlock):
    start = f.Date(scope=Scope.settings, default=datetime.datetime(2030, 1, 1, tzinfo=UTC))
    graceperiod = f.Timedelta(scope=Scope.settings)
    group_access = f.GroupAccessDict(scope=Scope.settings)
    start_time = f.RelativeTime(scope=Scope.content, default=TD(0))
    rerandomize = f.Randomization(scope=Scope.settings, default="never")
    score = f.ScoreField(scope=Scope.user_state)


class TestOnABlock:
    def make(self, stored):
        data = DictFieldData(stored)
        ids = MemoryIdManager()
        runtime = NoServingRuntime(ids, ids, services={"field-data": data})
        block = runtime.construct_xblock_from_class(_Block, ScopeIds("u", "test", "d", "u1"))
        return block, data

    def test_read_and_write_json(self):
        block, data = self.make({"start": "2020-01-01T00:00:00", "graceperiod": "2 hours",
                                 "group_access": {"5": [1]}, "start_time": "00:01:00", "rerandomize": "true"})
        assert block.start == datetime.datetime(2020, 1, 1, tzinfo=UTC)
        assert block.graceperiod == TD(hours=2)
        assert block.group_access == {5: [1]}
        assert block.start_time == TD(minutes=1)
        assert block.rerandomize == "always"
        assert block.score is None
        block.group_access[5].append(2)
        block.start = datetime.datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)
        block.score = Score(1, 4)
        block.save()
        assert data._data["group_access"] == {"5": [1, 2]}
        assert data._data["start"] == "2021-05-06T07:08:09Z"
        assert data._data["score"] == Score(1, 4)  # stored as the value itself (XBlock's ScoreField)

    def test_defaults(self):
        block, _ = self.make({})
        assert block.start == datetime.datetime(2030, 1, 1, tzinfo=UTC)
        assert block.graceperiod is None
        assert block.group_access == {}
        assert block.start_time == TD(0)
        assert block.rerandomize == "never"
