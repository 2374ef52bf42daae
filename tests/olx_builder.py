"""Small OLX courses written by tests: each test describes the course it needs."""
from __future__ import annotations

import json
from pathlib import Path


def write_course(root: Path, *, org="TestX", number="T101", run="2026", course_attrs="", children="",
                 files: dict[str, str] | None = None, policy: dict | None = None) -> Path:
    """Write course.xml, course/<run>.xml and any extra files (paths relative to the course dir)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "course.xml").write_text(f'<course url_name="{run}" org="{org}" course="{number}"/>')
    (root / "course").mkdir(exist_ok=True)
    (root / "course" / f"{run}.xml").write_text(f'<course display_name="Test course" {course_attrs}>{children}</course>')
    for path, text in (files or {}).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    if policy is not None:
        (root / "policies" / run).mkdir(parents=True, exist_ok=True)
        (root / "policies" / run / "policy.json").write_text(json.dumps(policy))
    return root


def standard_course(root: Path, **kwargs) -> Path:
    """chapter ch1 > sequential s1 (graded, due) > vertical v1 > html h1, problem p1; chapter ch2 > s2 > v2 > html h2."""
    files = {
        "chapter/ch1.xml": '<chapter display_name="Chapter 1"><sequential url_name="s1"/></chapter>',
        "sequential/s1.xml": '<sequential display_name="Seq 1" graded="true" format="Homework" '
                             'due="2031-01-01T00:00:00Z"><vertical url_name="v1"/></sequential>',
        "vertical/v1.xml": '<vertical display_name="Unit 1"><html url_name="h1"/><problem url_name="p1"/></vertical>',
        "html/h1.xml": '<html filename="h1" display_name="Text 1"/>',
        "html/h1.html": "<p>Hello <b>world</b></p>",
        "problem/p1.xml": '<problem display_name="Problem 1" due="null" max_attempts="2"><p>2+2?</p>'
                          '<numericalresponse answer="4"><formulaequationinput/></numericalresponse></problem>',
        "chapter/ch2.xml": '<chapter display_name="Chapter 2" start="2032-02-02T00:00:00Z">'
                           '<sequential url_name="s2"/></chapter>',
        "sequential/s2.xml": '<sequential display_name="Seq 2"><vertical url_name="v2"/></sequential>',
        "vertical/v2.xml": '<vertical display_name="Unit 2"><html url_name="h2"/></vertical>',
        "html/h2.xml": '<html filename="h2" display_name="Text 2"/>',
        "html/h2.html": "<p>Second</p>",
    }
    files.update(kwargs.pop("files", {}))
    return write_course(root, course_attrs='start="2020-01-01T00:00:00Z"',
                        children='<chapter url_name="ch1"/><chapter url_name="ch2"/>', files=files, **kwargs)
