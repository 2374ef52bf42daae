"""The three test courses of edx-platform's ``test_split_modulestore.py``, built with our writer.

Shapes from split-semantics §4.6/§7: ``testx.GreekHero`` (draft only; root ``head12345``; a
previous version with no children, a 2-hour grace period and Pass 0.55; the head with four
chapters — chapter1, chap, chapter2, chapter3 — and three problems, one with group_access),
``testx.wonderful`` (draft and published), ``guestx.contender`` (draft only).
"""
from __future__ import annotations

from opaque_keys.edx.locator import CourseLocator

from modulestore_compat.api import SplitWriter

GREEK_HERO = CourseLocator("testx", "GreekHero", "run")
WONDERFUL = CourseLocator("testx", "wonderful", "run")
CONTENDER = CourseLocator("guestx", "contender", "run")
ROOT = ("course", "head12345")


def grading(cutoff):
    return {"GRADER": [{"type": "Homework", "min_count": 1, "drop_count": 0, "weight": 1.0}],
            "GRADE_CUTOFFS": {"Pass": cutoff}}


def build_test_courses(documents) -> SplitWriter:
    """GreekHero and contender are written as the plain Split store does (no auto-publish); wonderful
    as split_draft does. Returns the auto-publishing writer."""
    plain = SplitWriter(documents, user_id=7, auto_publish=False)
    writer = SplitWriter(documents, user_id=7)
    plain.create_course(GREEK_HERO, root_id="head12345",
                         settings={"display_name": "The Ancient Greek Hero", "graceperiod": "2 hours",
                                   "start": "2013-02-14T05:00:00Z"},
                         content={"grading_policy": grading(0.55), "wiki_slug": "GreekHero"})
    with plain.bulk_operations(GREEK_HERO):
        plain.update_item(GREEK_HERO, ROOT, settings={"graceperiod": "4 hours"},
                           content={"grading_policy": grading(0.45)})
        for block_id, name in (("chapter1", "Hercules"), ("chap", "Athena"), ("chapter2", "Hera heckles Horace"),
                               ("chapter3", "Hera cuckolds Zeus")):
            plain.create_child(GREEK_HERO, ROOT, "chapter", block_id, settings={"display_name": name})
        plain.create_child(GREEK_HERO, ("chapter", "chapter3"), "problem", "problem1",
                            settings={"display_name": "Problem 3.1", "graceperiod": "4 hours 0 minutes 0 seconds"},
                            content={"data": ""})
        plain.create_child(GREEK_HERO, ("chapter", "chapter3"), "problem", "problem3_2",
                            settings={"display_name": "Problem 3.2"}, content={"data": ""})
        plain.create_child(GREEK_HERO, ("chapter", "chapter2"), "problem", "problem32",
                            settings={"display_name": "Problem 3.2 bis", "group_access": {"1": [1]}},
                            content={"data": ""})

    writer.create_course(WONDERFUL, root_id="head23456",
                         settings={"display_name": "The most wonderful course"}, content={"grading_policy": grading(0.6)})
    writer.create_child(WONDERFUL, ("course", "head23456"), "chapter", "wonder_chapter",
                        settings={"display_name": "Wonder"})
    writer.create_child(WONDERFUL, ("chapter", "wonder_chapter"), "problem", "wonder_problem",
                        settings={"display_name": "Draft only problem"}, content={"data": "<problem/>"})

    plain.create_course(CONTENDER, root_id="head345679",
                         settings={"display_name": "Contender"}, content={"grading_policy": grading(0.5)})
    return writer
